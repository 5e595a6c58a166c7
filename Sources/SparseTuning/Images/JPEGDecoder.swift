// JPEGDecoder: JPEG to 8-bit RGB through libjpeg-turbo, with errors returned instead of exit().
import CJPEG
import Foundation

/// Decodes JPEG data with libjpeg-turbo the way PIL's `Image.open(f).convert("RGB")` does:
/// default (islow) IDCT and fancy upsampling; greyscale replicated to RGB; CMYK/YCCK read
/// with Adobe (inverted) polarity and converted with PIL's formula
/// `R = (255 − K) − (C·(255 − K)) / 255`. Warnings such as extraneous bytes are tolerated,
/// as in PIL; running out of data is an error.
public enum JPEGDecoder {
    /// Decodes in-memory JPEG `data`; `name` (usually the file path) is used in error messages.
    ///
    /// - Throws: ``SparseTuningError`` naming `name` for truncated or corrupt data, an
    ///   unsupported component layout, or a size above ``ImageDecoder/maxPixels``.
    public static func decode(_ data: Data, name: String) throws -> RGBImage {
        guard !data.isEmpty else {
            throw SparseTuningError("empty image file '\(name)'")
        }
        guard let reader = st_jpeg_reader_create() else {
            throw SparseTuningError("out of memory decoding JPEG '\(name)'")
        }
        defer { st_jpeg_reader_destroy(reader) }
        func failure() -> SparseTuningError {
            SparseTuningError("corrupt or truncated JPEG '\(name)': \(String(cString: st_jpeg_message(reader)))")
        }
        return try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> RGBImage in
            var w: Int32 = 0, h: Int32 = 0, c: Int32 = 0
            let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            guard st_jpeg_read_header(reader, base, UInt(bytes.count), &w, &h, &c) == 0 else {
                throw failure()
            }
            let (width, height, channels) = (Int(w), Int(h), Int(c))
            try ImageDecoder.checkSize(width: width, height: height, format: "JPEG", name: name)
            guard channels == 1 || channels == 3 || channels == 4 else {
                throw SparseTuningError("unsupported JPEG '\(name)': \(channels) colour components (expected 1, 3 or 4)")
            }
            var samples = [UInt8](repeating: 0, count: width * height * channels)
            let status = samples.withUnsafeMutableBufferPointer { st_jpeg_read_pixels(reader, $0.baseAddress!) }
            guard status == 0 else { throw failure() }
            if channels == 4 {
                return RGBImage(width: width, height: height, pixels: rgbFromInvertedCMYK(samples))
            }
            return RGBImage(width: width, height: height, samples: samples, channels: channels)
        }
    }

    /// PIL's "CMYK;I" unpacking (c = 255 − stored) followed by its CMYK → RGB conversion,
    /// `v = nk − round(c·nk / 255)` with `nk = 255 − k` and PIL's exact integer rounding.
    private static func rgbFromInvertedCMYK(_ cmyk: [UInt8]) -> [UInt8] {
        let count = cmyk.count / 4
        var rgb = [UInt8](repeating: 0, count: count * 3)
        rgb.withUnsafeMutableBufferPointer { out in
            cmyk.withUnsafeBufferPointer { src in
                for i in 0..<count {
                    let nk = Int(src[4 * i + 3])  // 255 − k, k being 255 − stored
                    for j in 0..<3 {
                        let c = 255 - Int(src[4 * i + j])
                        let t = c * nk + 128
                        out[3 * i + j] = UInt8(nk - (((t >> 8) + t) >> 8))
                    }
                }
            }
        }
        return rgb
    }
}
