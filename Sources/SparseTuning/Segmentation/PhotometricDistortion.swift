// PhotometricDistortion: mmseg's PhotoMetricDistortion on 8-bit RGB — brightness, contrast (first or last),
// saturation and hue in OpenCV's 8-bit HSV (H in 0..<180), each applied with probability 0.5.
import Foundation

/// mmseg's `PhotoMetricDistortion(brightness_delta=32, contrast_range=(0.5, 1.5), saturation_range=(0.5, 1.5),
/// hue_delta=18)`.
///
/// Draw order (each coin is `integer(below: 2)`, mmseg's `random.randint(2)`): brightness coin [+ delta
/// U(−32, 32)]; mode coin (1: contrast now); if mode 1: contrast coin [+ alpha U(0.5, 1.5)]; saturation coin
/// [+ alpha]; hue coin [+ shift, an integer in −18..<18 like numpy's `randint(−18, 18)`]; if mode 0: contrast.
/// Every step computes in Float, clips to 0…255 and truncates to UInt8 (numpy's `astype(np.uint8)`).
public enum PhotometricDistortion {
    public static let brightnessDelta = 32.0
    public static let contrastRange = 0.5...1.5
    public static let saturationRange = 0.5...1.5
    public static let hueDelta = 18

    /// The random choices of one application; nil = that step skipped (its coin came up 0).
    public struct Parameters: Sendable, Equatable {
        public var brightness: Float?
        /// mmseg's `mode == 1`: contrast before the HSV steps (else after).
        public var contrastFirst: Bool
        public var contrast: Float?
        public var saturation: Float?
        public var hue: Int?

        public init(brightness: Float? = nil, contrastFirst: Bool = false, contrast: Float? = nil, saturation: Float? = nil,
                    hue: Int? = nil) {
            self.brightness = brightness
            self.contrastFirst = contrastFirst
            self.contrast = contrast
            self.saturation = saturation
            self.hue = hue
        }
    }

    /// Draws the parameters in mmseg's order (see the type's documentation).
    public static func draw(using rng: inout SeededGenerator) -> Parameters {
        var p = Parameters()
        if coin(&rng) { p.brightness = Float(RandomSampling.uniform(-brightnessDelta, brightnessDelta, &rng)) }
        p.contrastFirst = coin(&rng)
        func contrast() -> Float? {
            coin(&rng) ? Float(RandomSampling.uniform(contrastRange.lowerBound, contrastRange.upperBound, &rng)) : nil
        }
        if p.contrastFirst { p.contrast = contrast() }
        if coin(&rng) { p.saturation = Float(RandomSampling.uniform(saturationRange.lowerBound, saturationRange.upperBound, &rng)) }
        if coin(&rng) { p.hue = RandomSampling.integer(below: 2 * hueDelta, &rng) - hueDelta }
        if !p.contrastFirst { p.contrast = contrast() }
        return p
    }

    /// Draws the parameters from `rng` and applies them.
    public static func apply(_ image: RGBImage, using rng: inout SeededGenerator) -> RGBImage {
        apply(image, draw(using: &rng))
    }

    /// mmseg's transform with the given choices: brightness, [contrast if first], saturation, hue, [contrast if last].
    public static func apply(_ image: RGBImage, _ p: Parameters) -> RGBImage {
        var px = image.pixels  // (H, W, 3)
        if let beta = p.brightness { convert(&px, alpha: 1, beta: beta) }
        if p.contrastFirst, let alpha = p.contrast { convert(&px, alpha: alpha, beta: 0) }
        if let alpha = p.saturation {
            var hsv = HSV8.fromRGB(px)
            for i in stride(from: 1, to: hsv.count, by: 3) { hsv[i] = UInt8(min(max(Float(hsv[i]) * alpha, 0), 255)) }
            px = HSV8.toRGB(hsv)
        }
        if let shift = p.hue {
            var hsv = HSV8.fromRGB(px)
            for i in stride(from: 0, to: hsv.count, by: 3) { hsv[i] = UInt8(((Int(hsv[i]) + shift) % 180 + 180) % 180) }
            px = HSV8.toRGB(hsv)
        }
        if !p.contrastFirst, let alpha = p.contrast { convert(&px, alpha: alpha, beta: 0) }
        return RGBImage(width: image.width, height: image.height, pixels: px)
    }

    static func coin(_ rng: inout SeededGenerator) -> Bool { RandomSampling.integer(below: 2, &rng) == 1 }

    /// `clip(v·alpha + beta, 0, 255)` truncated, per byte.
    static func convert(_ px: inout [UInt8], alpha: Float, beta: Float) {
        for i in 0..<px.count { px[i] = UInt8(min(max(Float(px[i]) * alpha + beta, 0), 255)) }
    }
}

/// OpenCV's 8-bit RGB ↔ HSV (COLOR_RGB2HSV / COLOR_HSV2RGB, H in 0..<180): the forward conversion with its 12-bit
/// fixed-point tables exactly; the inverse in Float through OpenCV's sector table, rounded to nearest.
enum HSV8 {
    static let shift = 12
    static let sdiv: [Int] = (0..<256).map { $0 == 0 ? 0 : Int((Double(255 << shift) / Double($0)).rounded(.toNearestOrEven)) }
    static let hdiv: [Int] = (0..<256).map { $0 == 0 ? 0 : Int((Double(180 << shift) / (6 * Double($0))).rounded(.toNearestOrEven)) }

    /// Interleaved RGB bytes to interleaved H, S, V bytes.
    static func fromRGB(_ rgb: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rgb.count)  // (H, W, 3)
        let half = 1 << (shift - 1)
        for i in stride(from: 0, to: rgb.count, by: 3) {
            let r = Int(rgb[i]), g = Int(rgb[i + 1]), b = Int(rgb[i + 2])
            let v = max(r, g, b), diff = v - min(r, g, b)
            let s = (diff * sdiv[v] + half) >> shift
            var h: Int
            if v == r { h = g - b } else if v == g { h = b - r + 2 * diff } else { h = r - g + 4 * diff }
            h = (h * hdiv[diff] + half) >> shift
            if h < 0 { h += 180 }
            out[i] = UInt8(min(h, 255))
            out[i + 1] = UInt8(s)
            out[i + 2] = UInt8(v)
        }
        return out
    }

    /// Interleaved H, S, V bytes to interleaved RGB bytes.
    static func toRGB(_ hsv: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: hsv.count)  // (H, W, 3)
        // OpenCV's sector_data rows (b, g, r indices into tab) for BGR output.
        let sectors: [(Int, Int, Int)] = [(1, 3, 0), (1, 0, 2), (3, 0, 1), (0, 2, 1), (0, 1, 3), (2, 1, 0)]
        for i in stride(from: 0, to: hsv.count, by: 3) {
            var h = Float(hsv[i]) * (6 / 180)
            let s = Float(hsv[i + 1]) * (1 / 255), v = Float(hsv[i + 2]) * (1 / 255)
            var (r, g, b) = (v, v, v)
            if s != 0 {
                while h < 0 { h += 6 }
                while h >= 6 { h -= 6 }
                var sector = Int(h.rounded(.down))
                h -= Float(sector)
                if sector < 0 || sector >= 6 { sector = 0; h = 0 }
                let tab = [v, v * (1 - s), v * (1 - s * h), v * (1 - s * (1 - h))]
                let row = sectors[sector]
                b = tab[row.0]; g = tab[row.1]; r = tab[row.2]
            }
            out[i] = UInt8(min(max((r * 255).rounded(.toNearestOrEven), 0), 255))
            out[i + 1] = UInt8(min(max((g * 255).rounded(.toNearestOrEven), 0), 255))
            out[i + 2] = UInt8(min(max((b * 255).rounded(.toNearestOrEven), 0), 255))
        }
        return out
    }
}
