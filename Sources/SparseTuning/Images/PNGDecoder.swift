// PNGDecoder: PNG to 8-bit RGB through libpng, with errors returned instead of abort().
import CPNG
import Foundation

/// Decodes PNG data with libpng the way PIL's `Image.open(f).convert("RGB")` does for every
/// colour type: grey (1–16 bits) replicated, palette expanded, alpha (and tRNS) dropped rather
/// than composited, 16-bit samples reduced to their high byte. Gamma and colour-profile chunks
/// are ignored, as PIL does.
///
/// One deliberate difference: PIL converts 16-bit greyscale (mode "I;16") by clipping values
/// above 255 to white; here 16-bit grey takes the high byte like every other 16-bit type.
public enum PNGDecoder {
    /// Decodes in-memory PNG `data`; `name` (usually the file path) is used in error messages.
    ///
    /// - Throws: ``SparseTuningError`` naming `name` for truncated or corrupt data (bad CRC,
    ///   broken zlib stream, missing chunks) or a size above ``ImageDecoder/maxPixels``.
    public static func decode(_ data: Data, name: String) throws -> RGBImage {
        guard !data.isEmpty else {
            throw SparseTuningError("empty image file '\(name)'")
        }
        return try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> RGBImage in
            let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            guard let reader = st_png_reader_create(base, bytes.count) else {
                throw SparseTuningError("out of memory decoding PNG '\(name)'")
            }
            defer { st_png_reader_destroy(reader) }
            func failure() -> SparseTuningError {
                SparseTuningError("corrupt or truncated PNG '\(name)': \(String(cString: st_png_message(reader)))")
            }
            var w: Int32 = 0, h: Int32 = 0, c: Int32 = 0
            guard st_png_read_header(reader, &w, &h, &c) == 0 else { throw failure() }
            let (width, height, channels) = (Int(w), Int(h), Int(c))
            try ImageDecoder.checkSize(width: width, height: height, format: "PNG", name: name)
            var samples = [UInt8](repeating: 0, count: width * height * channels)
            let status = samples.withUnsafeMutableBufferPointer { st_png_read_pixels(reader, $0.baseAddress!) }
            guard status == 0 else { throw failure() }
            return RGBImage(width: width, height: height, samples: samples, channels: channels)
        }
    }
}
