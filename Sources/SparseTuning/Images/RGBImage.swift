// RGBImage: the decoded-image type shared by the decoders, resizing, preprocessing and the PNG encoder.

/// An 8-bit RGB image stored row-major as (height, width, 3) interleaved bytes.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `height × width × 3` bytes: row by row, each pixel R, G, B.
    public var pixels: [UInt8]

    /// An image over `pixels`, which must hold exactly `width × height × 3` bytes.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)×\(height)")
        precondition(pixels.count == width * height * 3,
                     "\(pixels.count) bytes for a \(width)×\(height) RGB image (expected \(width * height * 3))")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

extension RGBImage {
    /// An RGB image from interleaved 8-bit samples with 1 (grey), 2 (grey + alpha), 3 (RGB) or
    /// 4 (RGBA) channels. Grey is replicated and alpha dropped, as PIL's `convert("RGB")` does.
    init(width: Int, height: Int, samples: [UInt8], channels: Int) {
        precondition((1...4).contains(channels) && samples.count == width * height * channels,
                     "\(samples.count) samples for \(width)×\(height)×\(channels)")
        if channels == 3 {
            self.init(width: width, height: height, pixels: samples)
            return
        }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        rgb.withUnsafeMutableBufferPointer { out in
            samples.withUnsafeBufferPointer { src in
                for i in 0..<(width * height) {
                    let s = i * channels
                    if channels <= 2 {
                        out[3 * i] = src[s]
                        out[3 * i + 1] = src[s]
                        out[3 * i + 2] = src[s]
                    } else {
                        out[3 * i] = src[s]
                        out[3 * i + 1] = src[s + 1]
                        out[3 * i + 2] = src[s + 2]
                    }
                }
            }
        }
        self.init(width: width, height: height, pixels: rgb)
    }
}
