// Canvas: a small RGB raster with clipping for charts and figures — anti-aliased lines, filled rectangles and
// shapes, markers, and image blits. Text drawing lives in BitmapFont.swift.

/// A mutable RGB raster (row-major, 3 bytes a pixel) with a clip rectangle that every drawing call respects.
///
/// Coordinates are in pixels with (0, 0) the top-left corner of the top-left pixel; pixel (x, y) covers
/// [x, x+1) × [y, y+1), so its centre is (x + 0.5, y + 0.5).
public struct Canvas: Sendable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `height × width × 3` bytes, as ``RGBImage/pixels``.
    public private(set) var pixels: [UInt8]
    /// Drawing is limited to pixels x in `clip.x0..<clip.x1`, y in `clip.y0..<clip.y1` (always inside the canvas).
    public private(set) var clip: (x0: Int, y0: Int, x1: Int, y1: Int)

    /// A canvas of `width` × `height` pixels (each at least 1) filled with `background`.
    public init(width: Int, height: Int, background: RGBColor = .white) {
        self.width = max(1, width)
        self.height = max(1, height)
        pixels = [UInt8](repeating: 0, count: self.width * self.height * 3)
        clip = (0, 0, self.width, self.height)
        fill(x: 0, y: 0, width: self.width, height: self.height, color: background)
    }

    /// A canvas holding a copy of `image`.
    public init(image: RGBImage) {
        precondition(image.width > 0 && image.height > 0, "empty image \(image.width)×\(image.height)")
        width = image.width
        height = image.height
        pixels = image.pixels
        clip = (0, 0, width, height)
    }

    /// The canvas as an image.
    public var image: RGBImage { RGBImage(width: width, height: height, pixels: pixels) }

    // MARK: Clipping

    /// Limits drawing to the rectangle at (`x`, `y`) of `width` × `height` (intersected with the canvas).
    public mutating func setClip(x: Int, y: Int, width w: Int, height h: Int) {
        let x0 = max(0, min(width, x)), y0 = max(0, min(height, y))
        clip = (x0, y0, max(x0, min(width, x + max(0, w))), max(y0, min(height, y + max(0, h))))
    }

    /// Lets drawing reach the whole canvas again.
    public mutating func resetClip() { clip = (0, 0, width, height) }

    // MARK: Pixels

    /// The colour at (`x`, `y`), which must be inside the canvas.
    public func color(x: Int, y: Int) -> RGBColor {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)×\(height)")
        let i = (y * width + x) * 3
        return RGBColor(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Sets (`x`, `y`) to `color` blended over the current colour with opacity `alpha` (0…1); no-op outside the clip.
    public mutating func blend(x: Int, y: Int, color: RGBColor, alpha: Float = 1) {
        guard x >= clip.x0, x < clip.x1, y >= clip.y0, y < clip.y1, alpha > 0 else { return }
        let i = (y * width + x) * 3
        if alpha >= 1 {
            pixels[i] = color.r
            pixels[i + 1] = color.g
            pixels[i + 2] = color.b
            return
        }
        func mix(_ old: UInt8, _ new: UInt8) -> UInt8 { UInt8((Float(old) + (Float(new) - Float(old)) * alpha).rounded()) }
        pixels[i] = mix(pixels[i], color.r)
        pixels[i + 1] = mix(pixels[i + 1], color.g)
        pixels[i + 2] = mix(pixels[i + 2], color.b)
    }

    // MARK: Rectangles

    /// Fills the pixel-aligned rectangle at (`x`, `y`) of `width` × `height` with `color` (opacity `alpha`).
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: RGBColor, alpha: Float = 1) {
        let x0 = max(clip.x0, x), x1 = min(clip.x1, x + w), y0 = max(clip.y0, y), y1 = min(clip.y1, y + h)
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 { for xx in x0..<x1 { blend(x: xx, y: yy, color: color, alpha: alpha) } }
    }

    /// Draws the outline of the pixel-aligned rectangle at (`x`, `y`) of `width` × `height`, `thickness` pixels
    /// wide, inside the rectangle.
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, color: RGBColor, thickness: Int = 1) {
        let t = max(1, min(thickness, (min(w, h) + 1) / 2))
        fill(x: x, y: y, width: w, height: t, color: color)
        fill(x: x, y: y + h - t, width: w, height: t, color: color)
        fill(x: x, y: y + t, width: t, height: h - 2 * t, color: color)
        fill(x: x + w - t, y: y + t, width: t, height: h - 2 * t, color: color)
    }

    // MARK: Lines

    /// Draws an anti-aliased straight line from `p0` to `p1`, `lineWidth` pixels wide with round ends.
    /// Non-finite coordinates, or coordinates beyond ±10⁷ pixels, draw nothing.
    public mutating func line(from p0: (x: Double, y: Double), to p1: (x: Double, y: Double), color: RGBColor,
                              lineWidth: Double = 1.5) {
        let limit = 1e7
        guard abs(p0.x) < limit, abs(p0.y) < limit, abs(p1.x) < limit, abs(p1.y) < limit,
              lineWidth > 0, lineWidth < limit else { return }
        let r = lineWidth / 2
        // Cull lines entirely outside the clip (this also bounds the loops below for far-away coordinates).
        let minX = min(p0.x, p1.x) - r - 1, maxX = max(p0.x, p1.x) + r + 1
        let minY = min(p0.y, p1.y) - r - 1, maxY = max(p0.y, p1.y) + r + 1
        guard maxX >= Double(clip.x0), minX < Double(clip.x1), maxY >= Double(clip.y0), minY < Double(clip.y1) else { return }
        let dx = p1.x - p0.x, dy = p1.y - p0.y
        let length2 = dx * dx + dy * dy
        /// Coverage of the pixel whose centre is (px, py): the line's distance field, 1 px soft edge.
        func coverage(_ px: Double, _ py: Double) -> Float {
            var t = length2 > 0 ? ((px - p0.x) * dx + (py - p0.y) * dy) / length2 : 0
            t = max(0, min(1, t))
            let ex = px - (p0.x + t * dx), ey = py - (p0.y + t * dy)
            let d = (ex * ex + ey * ey).squareRoot()
            return Float(max(0, min(1, r + 0.5 - d)))
        }
        // Walk the major axis; on each column (row) only a band around the line can be covered.
        let xMajor = abs(dx) >= abs(dy)
        let band = Int((r + 1) * 1.5) + 2
        if xMajor {
            let a = max(clip.x0, Int(minX.rounded(.down))), b = min(clip.x1 - 1, Int(maxX.rounded(.up)))
            guard a <= b else { return }
            for x in a...b {
                let cx = Double(x) + 0.5
                let tx = dx == 0 ? 0 : max(0, min(1, (cx - p0.x) / dx))
                let cy = Int((p0.y + tx * dy).rounded(.down))
                let lo = max(clip.y0, cy - band), hi = min(clip.y1 - 1, cy + band)
                guard lo <= hi else { continue }
                for y in lo...hi {
                    blend(x: x, y: y, color: color, alpha: coverage(cx, Double(y) + 0.5))
                }
            }
        } else {
            let a = max(clip.y0, Int(minY.rounded(.down))), b = min(clip.y1 - 1, Int(maxY.rounded(.up)))
            guard a <= b else { return }
            for y in a...b {
                let cy = Double(y) + 0.5
                let ty = dy == 0 ? 0 : max(0, min(1, (cy - p0.y) / dy))
                let cx = Int((p0.x + ty * dx).rounded(.down))
                let lo = max(clip.x0, cx - band), hi = min(clip.x1 - 1, cx + band)
                guard lo <= hi else { continue }
                for x in lo...hi {
                    blend(x: x, y: y, color: color, alpha: coverage(Double(x) + 0.5, cy))
                }
            }
        }
    }

    /// Draws a connected anti-aliased line through `points`; a non-finite point breaks the line.
    public mutating func polyline(_ points: [(x: Double, y: Double)], color: RGBColor, lineWidth: Double = 1.5) {
        guard points.count >= 2 else { return }
        for i in 1..<points.count { line(from: points[i - 1], to: points[i], color: color, lineWidth: lineWidth) }
    }

    // MARK: Shapes and markers

    /// Fills the region where `inside(x, y)` holds within the given bounds, anti-aliased by 4 × 4 supersampling.
    public mutating func fillShape(minX: Double, minY: Double, maxX: Double, maxY: Double, color: RGBColor,
                                   inside: (Double, Double) -> Bool) {
        let limit = 1e7
        guard abs(minX) < limit, abs(minY) < limit, abs(maxX) < limit, abs(maxY) < limit else { return }
        let x0 = max(clip.x0, Int(minX.rounded(.down))), x1 = min(clip.x1 - 1, Int(maxX.rounded(.up)))
        let y0 = max(clip.y0, Int(minY.rounded(.down))), y1 = min(clip.y1 - 1, Int(maxY.rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            for x in x0...x1 {
                var hits = 0
                for sy in 0..<4 {
                    for sx in 0..<4 where inside(Double(x) + (Double(sx) + 0.5) / 4, Double(y) + (Double(sy) + 0.5) / 4) {
                        hits += 1
                    }
                }
                if hits > 0 { blend(x: x, y: y, color: color, alpha: Float(hits) / 16) }
            }
        }
    }

    /// Draws a filled marker of `shape` centred on (`x`, `y`) with circumradius about `size` pixels, with a thin
    /// white outline so that overlapping markers stay distinct.
    public mutating func marker(_ shape: MarkerShape, x: Double, y: Double, size: Double, color: RGBColor) {
        guard x.isFinite, y.isFinite, size > 0 else { return }
        let outline = size + 1
        fillShape(minX: x - outline - 1, minY: y - outline - 1, maxX: x + outline + 1, maxY: y + outline + 1,
                  color: .white) { shape.contains(dx: $0 - x, dy: $1 - y, radius: outline) }
        fillShape(minX: x - size - 1, minY: y - size - 1, maxX: x + size + 1, maxY: y + size + 1,
                  color: color) { shape.contains(dx: $0 - x, dy: $1 - y, radius: size) }
    }

    // MARK: Images

    /// Copies `image` with its top-left corner at (`x`, `y`), each pixel enlarged to `scale` × `scale`.
    public mutating func draw(_ image: RGBImage, x: Int, y: Int, scale: Int = 1) {
        let s = max(1, scale)
        for iy in 0..<image.height {
            for ix in 0..<image.width {
                let i = (iy * image.width + ix) * 3
                let c = RGBColor(image.pixels[i], image.pixels[i + 1], image.pixels[i + 2])
                fill(x: x + ix * s, y: y + iy * s, width: s, height: s, color: c)
            }
        }
    }
}

/// The marker shapes of chart series.
public enum MarkerShape: Int, Sendable, CaseIterable {
    /// A filled disc.
    case circle
    /// A filled axis-aligned square.
    case square
    /// An equilateral triangle, apex up.
    case triangle
    /// A square standing on a corner.
    case diamond
    /// An equilateral triangle, apex down.
    case invertedTriangle

    /// The shape of series `index`.
    public static func series(_ index: Int) -> MarkerShape { allCases[index % allCases.count] }

    /// Whether the offset (`dx`, `dy`) from the centre lies inside the shape of circumradius `radius`.
    public func contains(dx: Double, dy: Double, radius r: Double) -> Bool {
        switch self {
        case .circle: return dx * dx + dy * dy <= r * r
        case .square: return abs(dx) <= r * 0.8 && abs(dy) <= r * 0.8
        case .diamond: return abs(dx) + abs(dy) <= r * 1.1
        case .triangle, .invertedTriangle:
            // Equilateral triangle with circumradius r, apex up (or down).
            let y = self == .triangle ? dy : -dy
            let bottom = r * 0.5, top = -r
            guard y >= top, y <= bottom else { return false }
            let halfWidth = (y - top) / (bottom - top) * r * 0.866
            return abs(dx) <= halfWidth
        }
    }

    /// The shape as an SVG element centred on (`x`, `y`).
    func svg(x: Double, y: Double, radius r: Double, fill: String) -> String {
        func f(_ v: Double) -> String { SVGText.number(v) }
        switch self {
        case .circle:
            return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" fill=\"\(fill)\" stroke=\"#ffffff\"/>"
        case .square:
            let h = r * 0.8
            return "<rect x=\"\(f(x - h))\" y=\"\(f(y - h))\" width=\"\(f(2 * h))\" height=\"\(f(2 * h))\" fill=\"\(fill)\" stroke=\"#ffffff\"/>"
        case .diamond:
            let h = r * 1.1
            return "<path d=\"M\(f(x)) \(f(y - h))L\(f(x + h)) \(f(y))L\(f(x)) \(f(y + h))L\(f(x - h)) \(f(y))Z\" fill=\"\(fill)\" stroke=\"#ffffff\"/>"
        case .triangle, .invertedTriangle:
            let s: Double = self == .triangle ? 1 : -1
            return "<path d=\"M\(f(x)) \(f(y - s * r))L\(f(x + 0.866 * r)) \(f(y + s * 0.5 * r))L\(f(x - 0.866 * r)) \(f(y + s * 0.5 * r))Z\" fill=\"\(fill)\" stroke=\"#ffffff\"/>"
        }
    }
}
