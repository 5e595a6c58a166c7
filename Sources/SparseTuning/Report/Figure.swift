// Figure: one drawing routine and a page size, rendered by cairo to PNG, SVG or PDF bytes in memory and written
// through the atomic file writer (never a half-written file).
import CCairo

/// A figure: a page of `width` × `height` units (pixels in PNG and SVG, points in PDF) and the one routine that
/// draws it, whatever the output format.
public struct Figure {
    /// Page width in units (1…32767).
    public let width: Int
    /// Page height in units (1…32767).
    public let height: Int
    /// Draws the whole page, background included (a PNG page starts black, SVG and PDF pages transparent).
    let draw: (FigureContext) throws -> Void

    /// A `width` × `height` page drawn by `draw`.
    init(width: Int, height: Int, draw: @escaping (FigureContext) throws -> Void) {
        self.width = width
        self.height = height
        self.draw = draw
    }

    /// `figures` one below the other, `gap` units apart, left-aligned on a white page as wide as the widest.
    public static func stacked(_ figures: [Figure], gap: Int = 8) -> Figure {
        let width = figures.map(\.width).max() ?? 1
        let height = max(1, figures.map(\.height).reduce(0, +) + gap * max(0, figures.count - 1))
        return Figure(width: width, height: height) { ctx in
            ctx.fillRect(x: 0, y: 0, width: Double(width), height: Double(height), color: .white)
            var y = 0
            for f in figures {
                try ctx.saved {
                    ctx.translate(x: 0, y: Double(y))
                    try f.draw(ctx)
                }
                y += f.height + gap
            }
        }
    }

    /// Writes the figure to `path` atomically, in `format`, or in the format `path`'s extension names when nil.
    /// - Throws: ``SparseTuningError`` naming `path` when the format is unknown, drawing fails or the file cannot
    ///   be written; an existing file at `path` is then left as it was.
    public func write(to path: String, format: FigureFormat? = nil) throws {
        let bytes = try render(try format ?? FigureFormat(path: path), name: path)
        try AtomicFileWriter.write(bytes, to: path)
    }

    /// The complete file of the figure in `format`; `name` (the destination) prefixes error messages.
    /// - Throws: ``SparseTuningError`` when the page size is out of range or cairo reports an error.
    public func render(_ format: FigureFormat, name: String = "figure") throws -> [UInt8] {
        guard (1...32767).contains(width), (1...32767).contains(height) else {
            throw SparseTuningError("\(name): a figure of \(width)×\(height) is outside 1…32767 on a side")
        }
        let sink = ByteSink()
        let closure = Unmanaged.passUnretained(sink).toOpaque()
        let w = Double(width), h = Double(height)
        return try withExtendedLifetime(sink) {
            let surface: OpaquePointer
            switch format {
            case .png: surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height))
            case .svg: surface = cairo_svg_surface_create_for_stream(appendToSink, closure, w, h)
            case .pdf: surface = cairo_pdf_surface_create_for_stream(appendToSink, closure, w, h)
            }
            defer { cairo_surface_destroy(surface) }
            if format == .svg { cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PX) }
            try Self.check(cairo_surface_status(surface), name, "creating the \(format.rawValue) surface")
            let cr: OpaquePointer = cairo_create(surface)
            do {
                defer { cairo_destroy(cr) }
                do {
                    try draw(FigureContext(cr))
                } catch let error as SparseTuningError {
                    throw SparseTuningError("\(name): \(error.message)")
                }
                try Self.check(cairo_status(cr), name, "drawing")
            }
            if format == .png {
                cairo_surface_flush(surface)
                try Self.check(cairo_surface_write_to_png_stream(surface, appendToSink, closure), name, "encoding the PNG")
            }
            cairo_surface_finish(surface)
            try Self.check(cairo_surface_status(surface), name, "finishing the \(format.rawValue) document")
            return sink.bytes
        }
    }

    /// Throws when `status` is an error, naming the file and the step that failed.
    static func check(_ status: cairo_status_t, _ name: String, _ step: String) throws {
        guard status != CAIRO_STATUS_SUCCESS else { return }
        throw SparseTuningError("\(name): cairo failed \(step) (\(String(cString: cairo_status_to_string(status))))")
    }
}

/// The bytes cairo writes for one figure, in order.
private final class ByteSink {
    var bytes: [UInt8] = []
}

/// cairo's write callback: appends `length` bytes at `data` to the ``ByteSink`` passed as `closure`.
private func appendToSink(_ closure: UnsafeMutableRawPointer?, _ data: UnsafePointer<UInt8>?, _ length: UInt32) -> cairo_status_t {
    guard let closure, let data else { return length == 0 ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR }
    let sink = Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue()
    sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
    return CAIRO_STATUS_SUCCESS
}
