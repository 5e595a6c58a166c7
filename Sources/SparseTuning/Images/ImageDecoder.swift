// ImageDecoder: reads an image file and picks the JPEG or PNG decoder from its magic bytes.
import Foundation

/// Decodes image files to ``RGBImage``, whatever their extension.
public enum ImageDecoder {
    /// Largest image accepted, in pixels (width × height); larger headers are rejected before
    /// any pixel memory is allocated.
    public static let maxPixels = 100_000_000

    /// Decodes the JPEG or PNG file at `path` (format detected from its first bytes, not its
    /// name) to 8-bit RGB.
    ///
    /// - Throws: ``SparseTuningError`` naming the file when it is missing, unreadable, empty,
    ///   neither JPEG nor PNG, too large (``maxPixels``), truncated or corrupt.
    public static func decode(path: String) throws -> RGBImage {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SparseTuningError("image file not found: '\(path)'")
        }
        guard !isDirectory.boolValue else {
            throw SparseTuningError("cannot read image '\(path)': it is a directory")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SparseTuningError("cannot read image '\(path)': \(error.localizedDescription)")
        }
        return try decode(data, name: path)
    }

    /// Decodes an in-memory JPEG or PNG (format detected from its first bytes); `name` is used
    /// in error messages.
    public static func decode(_ data: Data, name: String) throws -> RGBImage {
        guard !data.isEmpty else {
            throw SparseTuningError("empty image file '\(name)'")
        }
        let head = [UInt8](data.prefix(8))
        if head.starts(with: [0xFF, 0xD8, 0xFF]) {
            return try JPEGDecoder.decode(data, name: name)
        }
        if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] {
            return try PNGDecoder.decode(data, name: name)
        }
        let hex = head.map { String(format: "%02x", $0) }.joined(separator: " ")
        throw SparseTuningError("unrecognised image format in '\(name)': expected JPEG or PNG, file starts with \(hex)")
    }

    /// Rejects empty or over-large image dimensions read from a header.
    static func checkSize(width: Int, height: Int, format: String, name: String) throws {
        guard width > 0, height > 0 else {
            throw SparseTuningError("\(format) '\(name)' has an empty size \(width)×\(height)")
        }
        guard width * height <= maxPixels else {
            throw SparseTuningError(
                "\(format) '\(name)' is \(width)×\(height) pixels, above the limit of \(maxPixels / 1_000_000) megapixels")
        }
    }
}
