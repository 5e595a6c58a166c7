// PNGEncoder: writes 8-bit RGB / RGBA PNG files through libpng, atomically through the one atomic file writer.
import CPNG
import Foundation

/// Writes PNG files (8 bits per sample, non-interlaced, default zlib compression).
///
/// The data goes to a temporary file in the destination directory, flushed to disk and then renamed over
/// `path`, so readers never see a half-written image.
public enum PNGEncoder {
    /// Writes `image` as an RGB PNG at `path`, replacing any existing file.
    ///
    /// - Throws: ``SparseTuningError`` naming `path` when it cannot be written.
    public static func write(_ image: RGBImage, to path: String) throws {
        try write(samples: image.pixels, width: image.width, height: image.height, channels: 3, to: path)
    }

    /// Writes `rgba` (height × width × 4 bytes, non-premultiplied alpha) as an RGBA PNG at
    /// `path`, replacing any existing file.
    ///
    /// - Throws: ``SparseTuningError`` naming `path` when it cannot be written.
    public static func write(rgba: [UInt8], width: Int, height: Int, to path: String) throws {
        precondition(rgba.count == width * height * 4,
                     "\(rgba.count) bytes for a \(width)×\(height) RGBA image (expected \(width * height * 4))")
        try write(samples: rgba, width: width, height: height, channels: 4, to: path)
    }

    /// Writes `indices` (height × width bytes) as an indexed-colour PNG with `palette` (entries × 3 bytes RGB,
    /// 1 ≤ entries ≤ 256) at `path`, replacing any existing file.
    ///
    /// - Throws: ``SparseTuningError`` naming `path` when it cannot be written.
    static func write(indices: [UInt8], width: Int, height: Int, palette: [UInt8], to path: String) throws {
        precondition(indices.count == width * height && palette.count % 3 == 0 && (3...768).contains(palette.count),
                     "\(indices.count) indices for \(width)×\(height), palette of \(palette.count) bytes")
        try write(samples: indices, width: width, height: height, channels: 1, palette: palette, to: path)
    }

    /// RGB or RGBA `samples`, or palette indices when `palette` is given.
    private static func write(samples: [UInt8], width: Int, height: Int, channels: Int32, palette: [UInt8]? = nil,
                              to path: String) throws {
        guard width > 0, height > 0, width < Int(Int32.max), height < Int(Int32.max) else {
            throw SparseTuningError("cannot write PNG '\(path)': invalid size \(width)×\(height)")
        }
        try AtomicFileWriter.writeFile(at: path) { file in
            var message = [CChar](repeating: 0, count: Int(ST_PNG_MESSAGE_SIZE))
            let status = samples.withUnsafeBufferPointer { pixels in
                guard let palette else {
                    return st_png_write(file.fd, pixels.baseAddress!, Int32(width), Int32(height), channels, &message)
                }
                return palette.withUnsafeBufferPointer { colours in
                    st_png_write_palette(file.fd, pixels.baseAddress!, Int32(width), Int32(height), colours.baseAddress!,
                                         Int32(palette.count / 3), &message)
                }
            }
            guard status == 0 else {
                let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw SparseTuningError("cannot write PNG '\(path)': \(reason)")
            }
        }
    }
}
