// LabelMap: a per-pixel class map of semantic segmentation (8-bit labels, 255 = ignore), read from PNG masks keeping
// palette INDICES and grey VALUES (never colours), as mmseg's `LoadAnnotations` (PIL/cv2 "unchanged") does.
import CPNG
import Foundation

/// An 8-bit label map stored row-major as (height, width) bytes.
///
/// Labels are `UInt8`: ADE20K has 150 classes and mmseg's ignore value is 255, so one byte suffices and a mask
/// costs a quarter of an `Int32` map. Batches hand labels to the loss as `Int32` (see ``SegmentationSamples``).
public struct LabelMap: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `height × width` labels, row by row.  // (H, W)
    public var labels: [UInt8]

    /// A map over `labels`, which must hold exactly `width × height` values.
    public init(width: Int, height: Int, labels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && labels.count == width * height,
                     "\(labels.count) labels for a \(width)×\(height) map")
        self.width = width
        self.height = height
        self.labels = labels
    }

    /// A map of `width × height` pixels all labelled `value`.
    public init(width: Int, height: Int, filledWith value: UInt8) {
        self.init(width: width, height: height, labels: [UInt8](repeating: value, count: width * height))
    }

    /// The label at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> UInt8 {
        get { labels[y * width + x] }
        set { labels[y * width + x] = newValue }
    }

    /// Reads the PNG mask at `path` (see ``decode(_:name:)``).
    ///
    /// - Throws: ``SparseTuningError`` naming the file when it is missing, unreadable or not a usable mask.
    public static func read(path: String) throws -> LabelMap {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SparseTuningError("mask file not found: '\(path)'")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SparseTuningError("cannot read mask '\(path)': \(error.localizedDescription)")
        }
        return try decode(data, name: path)
    }

    /// Decodes an in-memory PNG mask: palette images give each pixel's palette index, grey images (1–8 bits) the
    /// grey value unscaled, grey with alpha the grey value; 16-bit grey is accepted when every value is at most
    /// 255. RGB(A) masks are rejected (a colour mask needs a colour-to-class table, which is not supported).
    ///
    /// - Throws: ``SparseTuningError`` naming `name` for non-PNG, corrupt, truncated, over-large (checked before
    ///   any pixel memory is allocated) or RGB data, and for a 16-bit value above 255.
    public static func decode(_ data: Data, name: String) throws -> LabelMap {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard !data.isEmpty else { throw SparseTuningError("empty mask file '\(name)'") }
        guard [UInt8](data.prefix(8)) == signature else {
            throw SparseTuningError("mask '\(name)' is not a PNG file")
        }
        return try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> LabelMap in
            let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            guard let reader = st_png_reader_create(base, bytes.count) else {
                throw SparseTuningError("out of memory decoding mask '\(name)'")
            }
            defer { st_png_reader_destroy(reader) }
            func failure() -> SparseTuningError {
                SparseTuningError("corrupt or truncated PNG mask '\(name)': \(String(cString: st_png_message(reader)))")
            }
            var w: Int32 = 0, h: Int32 = 0, c: Int32 = 0, type: Int32 = 0, depth: Int32 = 0
            guard st_png_read_header_indices(reader, &w, &h, &c, &type, &depth) == 0 else { throw failure() }
            let (width, height, bytesPerPixel) = (Int(w), Int(h), Int(c))
            try ImageDecoder.checkSize(width: width, height: height, format: "PNG mask", name: name)
            // PNG colour types: 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA (bit 2 = colour).
            guard type & 2 == 0 || type == 3 else {
                throw SparseTuningError("mask '\(name)' is an RGB PNG; expected a palette or greyscale PNG of class indices")
            }
            guard bytesPerPixel == 1 || bytesPerPixel == 2 else { throw failure() }
            var samples = [UInt8](repeating: 0, count: width * height * bytesPerPixel)  // (H, W, bytesPerPixel)
            let status = samples.withUnsafeMutableBufferPointer { st_png_read_pixels(reader, $0.baseAddress!) }
            guard status == 0 else { throw failure() }
            if bytesPerPixel == 1 { return LabelMap(width: width, height: height, labels: samples) }
            var labels = [UInt8](repeating: 0, count: width * height)  // (H, W)
            for i in 0..<(width * height) {
                let value = Int(samples[2 * i]) << 8 | Int(samples[2 * i + 1])
                guard value <= 255 else {
                    throw SparseTuningError("label \(value) in '\(name)' (16-bit mask) is above 255; labels must fit in 8 bits")
                }
                labels[i] = UInt8(value)
            }
            return LabelMap(width: width, height: height, labels: labels)
        }
    }
}
