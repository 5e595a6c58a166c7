// FigureContext: the drawing operations of the figures over one cairo context — rectangles, lines and paths,
// DejaVu Sans text (measured, anchored, optionally turned a quarter turn) and RGB images scaled without smoothing.
import CCairo
import Foundation

/// Where a text's anchor point lies along its baseline.
enum TextAnchor {
    /// The anchor is the text's start.
    case start
    /// The anchor is the text's middle.
    case middle
    /// The anchor is the text's end.
    case end
}

/// Drawing on one cairo context (owned by the caller). Coordinates are page units, y growing downwards.
struct FigureContext {
    /// The cairo context (`cairo_t *`).
    let cr: OpaquePointer

    /// The font family of all text; `fonts-dejavu-core` provides it, fontconfig finds it.
    static let fontFamily = "DejaVu Sans"
    /// Height of DejaVu Sans capitals as a fraction of the font size.
    static let capHeight = 0.73

    /// Drawing on `cr`, with unhinted font metrics (the same text widths on every surface) and greyscale
    /// antialiasing.
    init(_ cr: OpaquePointer) {
        self.cr = cr
        let options = cairo_font_options_create()
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
        cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
        cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY)
        cairo_set_font_options(cr, options)
        cairo_font_options_destroy(options)
    }

    /// Runs `body` on a context over a 1 × 1 scratch image, for measuring text before a page size is known.
    static func measuring<T>(_ body: (FigureContext) throws -> T) rethrows -> T {
        let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1)
        let cr: OpaquePointer = cairo_create(surface)
        defer {
            cairo_destroy(cr)
            cairo_surface_destroy(surface)
        }
        return try body(FigureContext(cr))
    }

    // MARK: State

    /// Runs `body` with the drawing state saved, and restores it afterwards.
    func saved(_ body: () throws -> Void) rethrows {
        cairo_save(cr)
        defer { cairo_restore(cr) }
        try body()
    }

    /// Moves the origin to (`x`, `y`) until the state is restored.
    func translate(x: Double, y: Double) { cairo_translate(cr, x, y) }

    /// Restricts drawing to the rectangle until the state is restored.
    func clip(x: Double, y: Double, width: Double, height: Double) {
        cairo_rectangle(cr, x, y, width, height)
        cairo_clip(cr)
    }

    // MARK: Shapes

    /// Makes `color` (with opacity `alpha`) the colour of what is filled, stroked or written next.
    func setColor(_ color: RGBColor, alpha: Double = 1) {
        cairo_set_source_rgba(cr, Double(color.r) / 255, Double(color.g) / 255, Double(color.b) / 255, alpha)
    }

    /// Fills the rectangle.
    func fillRect(x: Double, y: Double, width: Double, height: Double, color: RGBColor, alpha: Double = 1) {
        setColor(color, alpha: alpha)
        cairo_rectangle(cr, x, y, width, height)
        cairo_fill(cr)
    }

    /// Outlines the rectangle with a line `lineWidth` wide centred on its edges.
    func strokeRect(x: Double, y: Double, width: Double, height: Double, color: RGBColor, lineWidth: Double = 1) {
        cairo_rectangle(cr, x, y, width, height)
        stroke(color, lineWidth: lineWidth)
    }

    /// Draws a line through `points` (at least two; finite), with round joins and caps.
    func polyline(_ points: [(x: Double, y: Double)], color: RGBColor, lineWidth: Double) {
        guard let first = points.first, points.count >= 2 else { return }
        cairo_move_to(cr, first.x, first.y)
        for p in points.dropFirst() { cairo_line_to(cr, p.x, p.y) }
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND)
        stroke(color, lineWidth: lineWidth)
    }

    /// Starts a new closed outline through `points` (the current path is discarded).
    func polygon(_ points: [(x: Double, y: Double)]) {
        cairo_new_path(cr)
        for p in points { cairo_line_to(cr, p.x, p.y) }
        cairo_close_path(cr)
    }

    /// Starts a new path: the circle of `radius` about (`x`, `y`).
    func circle(x: Double, y: Double, radius: Double) {
        cairo_new_path(cr)
        cairo_arc(cr, x, y, radius, 0, 2 * .pi)
    }

    /// Fills the current path, then discards it.
    func fill(_ color: RGBColor) {
        setColor(color)
        cairo_fill(cr)
    }

    /// Strokes the current path, then discards it.
    func stroke(_ color: RGBColor, lineWidth: Double) {
        setColor(color)
        cairo_set_line_width(cr, lineWidth)
        cairo_stroke(cr)
    }

    // MARK: Text

    private func selectFont(size: Double, bold: Bool) {
        cairo_select_font_face(cr, Self.fontFamily, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(cr, size)
    }

    /// The advance width of `text` at font size `size`.
    func textWidth(_ text: String, size: Double, bold: Bool = false) -> Double {
        selectFont(size: size, bold: bold)
        var extents = cairo_text_extents_t()
        cairo_text_extents(cr, text, &extents)
        return extents.x_advance
    }

    /// Draws `text` on the baseline through (`x`, `y`), anchored there by `anchor`; `vertical` turns it a quarter
    /// turn anticlockwise about the anchor (reading bottom to top).
    func text(_ text: String, x: Double, y: Double, size: Double, color: RGBColor = .ink, bold: Bool = false,
              anchor: TextAnchor = .start, vertical: Bool = false) {
        guard !text.isEmpty else { return }
        let width = textWidth(text, size: size, bold: bold)
        let shift: Double
        switch anchor {
        case .start: shift = 0
        case .middle: shift = -width / 2
        case .end: shift = -width
        }
        saved {
            cairo_translate(cr, x, y)
            if vertical { cairo_rotate(cr, -.pi / 2) }
            setColor(color)
            cairo_move_to(cr, shift, 0)
            cairo_show_text(cr, text)
            cairo_new_path(cr)
        }
    }

    // MARK: Images

    /// Draws `image` with its top-left corner at (`x`, `y`), each pixel a `scale` × `scale` square (no smoothing).
    /// - Throws: ``SparseTuningError`` when cairo cannot hold the image.
    func image(_ image: RGBImage, x: Double, y: Double, scale: Double) throws {
        let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(image.width), Int32(image.height))
        defer { cairo_surface_destroy(surface) }
        try Figure.check(cairo_surface_status(surface), "\(image.width)×\(image.height) image", "creating the image surface")
        guard let data = cairo_image_surface_get_data(surface) else {
            throw SparseTuningError("\(image.width)×\(image.height) image: cairo gave no pixel buffer")
        }
        cairo_surface_flush(surface)
        // data: height rows of `stride` bytes, each pixel one native-endian UInt32 0x00RRGGBB.
        let stride = Int(cairo_image_surface_get_stride(surface))
        let source = image.pixels  // height × width × 3 (RGB)
        for row in 0..<image.height {
            let line = UnsafeMutableRawPointer(data + row * stride).assumingMemoryBound(to: UInt32.self)
            for col in 0..<image.width {
                let i = (row * image.width + col) * 3
                line[col] = UInt32(source[i]) << 16 | UInt32(source[i + 1]) << 8 | UInt32(source[i + 2])
            }
        }
        cairo_surface_mark_dirty(surface)
        saved {
            cairo_translate(cr, x, y)
            cairo_scale(cr, scale, scale)
            cairo_set_source_surface(cr, surface, 0, 0)
            cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST)
            cairo_rectangle(cr, 0, 0, Double(image.width), Double(image.height))
            cairo_fill(cr)
        }
    }
}
