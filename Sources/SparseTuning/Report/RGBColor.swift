// RGBColor: an 8-bit sRGB colour for the figures, with the chart series palette.

/// An opaque 8-bit sRGB colour.
public struct RGBColor: Sendable, Equatable, Hashable {
    /// Red, 0…255.
    public var r: UInt8
    /// Green, 0…255.
    public var g: UInt8
    /// Blue, 0…255.
    public var b: UInt8

    /// The colour with components `r`, `g`, `b`.
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// A grey of level `v`.
    public init(grey v: UInt8) { self.init(v, v, v) }

    /// White.
    public static let white = RGBColor(grey: 255)
    /// Black.
    public static let black = RGBColor(grey: 0)
    /// The colour of text and axes.
    public static let ink = RGBColor(grey: 34)
    /// The colour of grid lines.
    public static let grid = RGBColor(grey: 226)

    /// Relative luminance-like brightness in 0…255 (Rec. 601 weights).
    public var brightness: Float { 0.299 * Float(r) + 0.587 * Float(g) + 0.114 * Float(b) }

    /// `self` moved towards `other` by `t` (0 = self, 1 = other).
    public func mixed(with other: RGBColor, _ t: Float) -> RGBColor {
        let t = max(0, min(1, t))
        func m(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Float(a) + (Float(b) - Float(a)) * t).rounded()) }
        return RGBColor(m(r, other.r), m(g, other.g), m(b, other.b))
    }

    /// Colours for chart series, distinguishable also with common colour-vision deficiencies (the Okabe–Ito
    /// set without its yellow, which is too light on white), then darker variants for series beyond seven.
    public static let seriesPalette: [RGBColor] = [
        RGBColor(0, 114, 178), RGBColor(213, 94, 0), RGBColor(0, 158, 115), RGBColor(204, 121, 167),
        RGBColor(230, 159, 0), RGBColor(86, 180, 233), RGBColor(80, 80, 80),
    ]

    /// The palette colour of series `index` (cycling through darker shades past the palette's end).
    public static func series(_ index: Int) -> RGBColor {
        let p = seriesPalette
        let base = p[index % p.count]
        let round = index / p.count
        return round == 0 ? base : base.mixed(with: .black, min(0.6, 0.3 * Float(round)))
    }
}
