// SegmentationPalette: class colours (ADE20K's built in, PASCAL VOC's bit-interleaved colour map for other datasets)
// and prediction images — an 8-bit indexed-colour PNG (PLTE = the palette) and a 50% overlay on the image.
import Foundation

/// Palettes and prediction images of semantic segmentation.
public enum SegmentationPalette {
    /// The deterministic palette of datasets without one: the PASCAL VOC colour map (class 0 black, then the bits
    /// of the class index interleaved into the high bits of R, G and B), `count` ≤ 256 colours.  // (count, 3)
    public static func generic(count: Int) -> [[UInt8]] {
        (0..<min(max(count, 0), 256)).map { k in
            var (r, g, b) = (0, 0, 0)
            var c = k
            for j in 0..<8 {
                r |= (c & 1) << (7 - j)
                g |= ((c >> 1) & 1) << (7 - j)
                b |= ((c >> 2) & 1) << (7 - j)
                c >>= 3
            }
            return [UInt8(r), UInt8(g), UInt8(b)]
        }
    }

    /// Writes `prediction` as an 8-bit indexed-colour PNG whose palette (PLTE) is `palette` padded to 256 entries
    /// with black (index 255 = ignore stays black), so the file's pixel values are the class indices and viewers show
    /// the class colours. Written atomically (temporary file, fsync, rename).
    ///
    /// - Throws: ``SparseTuningError`` naming `path` when it cannot be written or the palette has more than 256 colours.
    public static func writeIndexedPNG(_ prediction: LabelMap, palette: [[UInt8]], to path: String) throws {
        guard palette.count <= 256, palette.allSatisfy({ $0.count == 3 }) else {
            throw SparseTuningError("cannot write PNG '\(path)': a palette has at most 256 RGB colours (got \(palette.count))")
        }
        var plte = [UInt8](repeating: 0, count: 256 * 3)  // (256, 3)
        for (k, colour) in palette.enumerated() { plte.replaceSubrange(3 * k..<3 * k + 3, with: colour) }
        try PNGEncoder.write(indices: prediction.labels, width: prediction.width, height: prediction.height, palette: plte, to: path)
    }

    /// `image` blended 50% with the class colours of `prediction` (same size): out = (pixel + colour) / 2, rounded
    /// half up; pixels labelled outside the palette (e.g. 255) keep the image's colour.
    public static func overlay(_ image: RGBImage, prediction: LabelMap, palette: [[UInt8]]) -> RGBImage {
        precondition(image.width == prediction.width && image.height == prediction.height,
                     "overlay of a \(prediction.width)×\(prediction.height) prediction on a \(image.width)×\(image.height) image")
        var pixels = image.pixels  // (H, W, 3)
        for i in 0..<prediction.labels.count {
            let k = Int(prediction.labels[i])
            guard k < palette.count else { continue }
            for c in 0..<3 { pixels[3 * i + c] = UInt8((Int(pixels[3 * i + c]) + Int(palette[k][c]) + 1) / 2) }
        }
        return RGBImage(width: image.width, height: image.height, pixels: pixels)
    }

    /// Writes ``overlay(_:prediction:palette:)`` as an RGB PNG at `path` (atomically).
    public static func writeOverlayPNG(_ image: RGBImage, prediction: LabelMap, palette: [[UInt8]], to path: String) throws {
        try PNGEncoder.write(overlay(image, prediction: prediction, palette: palette), to: path)
    }
}
