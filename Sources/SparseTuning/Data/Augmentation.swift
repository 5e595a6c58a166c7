// Augmentation: per-sample image transforms — torchvision's RandomResizedCrop (same sampling, including the
// 10-attempt fallback to a centre crop), horizontal flip, and the deterministic evaluation transforms (VTAB's
// straight bicubic resize, timm's eval crop). Randomness comes from a SeededGenerator per (seed, epoch, sample).
import Foundation

/// A crop rectangle in pixels: rows `top..<top+height`, columns `left..<left+width`.
public struct CropBox: Sendable, Equatable, CustomStringConvertible {
    public var top: Int
    public var left: Int
    public var height: Int
    public var width: Int

    public init(top: Int, left: Int, height: Int, width: Int) {
        self.top = top
        self.left = left
        self.height = height
        self.width = width
    }

    public var description: String { "CropBox(top: \(top), left: \(left), \(width)×\(height))" }
}

/// torchvision's `RandomResizedCrop` (and timm's `RandomResizedCropAndInterpolation`, which samples the same way)
/// with bicubic interpolation.
///
/// ``box(width:height:using:)`` follows `RandomResizedCrop.get_params`: up to 10 attempts of an area fraction
/// uniform in `scale` and an aspect ratio log-uniform in `ratio`, `w = round(√(area·r))`, `h = round(√(area/r))`
/// (Python rounding, half to even), accepted when `0 < w ≤ W` and `0 < h ≤ H`, then top and left uniform over
/// the valid positions; otherwise the fallback: the whole image clamped to the ratio range, centred.
public struct RandomResizedCrop: Sendable, Equatable {
    /// Output side S (the crop is resized to S×S).
    public let size: Int
    /// Range of the crop area as a fraction of the image area.
    public let scale: ClosedRange<Double>
    /// Range of the crop aspect ratio (width / height).
    public let ratio: ClosedRange<Double>

    /// - Throws: ``SparseTuningError`` when `size` is not positive, `scale` has a negative lower or a non-positive
    ///   upper bound, or `ratio` is not positive and finite.
    public init(size: Int, scale: ClosedRange<Double> = 0.08...1, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)) throws {
        guard size > 0 else { throw SparseTuningError("random-resized-crop size must be positive (got \(size))") }
        guard scale.lowerBound >= 0, scale.upperBound > 0, scale.upperBound.isFinite else {
            throw SparseTuningError("random-resized-crop scale range \(scale) must lie in [0, ∞) with a positive upper bound")
        }
        guard ratio.lowerBound > 0, ratio.upperBound.isFinite else {
            throw SparseTuningError("random-resized-crop ratio range \(ratio) must be positive and finite")
        }
        self.size = size
        self.scale = scale
        self.ratio = ratio
    }

    /// The crop rectangle for a `width × height` image, drawn from `rng` as torchvision's `get_params` does.
    public func box(width: Int, height: Int, using rng: inout SeededGenerator) -> CropBox {
        let area = Double(width * height)
        let logLow = Foundation.log(ratio.lowerBound), logHigh = Foundation.log(ratio.upperBound)
        for _ in 0..<10 {
            let targetArea = area * RandomSampling.uniform(scale.lowerBound, scale.upperBound, &rng)
            let aspect = Foundation.exp(RandomSampling.uniform(logLow, logHigh, &rng))
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0 && w <= width && h > 0 && h <= height {
                let top = RandomSampling.integer(below: height - h + 1, &rng)
                let left = RandomSampling.integer(below: width - w + 1, &rng)
                return CropBox(top: top, left: left, height: h, width: w)
            }
        }
        return Self.fallbackBox(width: width, height: height, ratio: ratio)
    }

    /// torchvision's fallback after 10 rejected attempts: the whole image if its aspect ratio is within `ratio`,
    /// else the largest centred box at the nearest allowed ratio.
    public static func fallbackBox(width: Int, height: Int, ratio: ClosedRange<Double>) -> CropBox {
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return CropBox(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }

    /// `image` cropped to a random box and resized (PIL bicubic) to S×S.
    public func apply(_ image: RGBImage, using rng: inout SeededGenerator) -> RGBImage {
        let b = box(width: image.width, height: image.height, using: &rng)
        return ImageAugmentation.crop(image, b).resized(width: size, height: size)
    }
}

/// The per-sample transform applied before normalisation: an evaluation geometry or training augmentation.
public enum ImageAugmentation: Sendable, Equatable {
    /// No randomness: ``ImagePreprocessor`` geometry — `.squash` (VTAB-1K: straight bicubic resize to S×S) or
    /// `.shortSideCrop(cropPct:)` (timm's eval transform).
    case eval(size: Int, mode: ResizeMode)
    /// Training (complete datasets): ``RandomResizedCrop`` then a horizontal flip with probability
    /// `flipProbability` (timm's default 0.5).
    case train(RandomResizedCrop, flipProbability: Double)

    /// VTAB-1K's transform: bicubic resize straight to `size`×`size`.
    public static func vtab(size: Int = 224) -> ImageAugmentation { .eval(size: size, mode: .squash) }

    /// timm's default training transform for complete datasets: RandomResizedCrop(size, scale (0.08, 1),
    /// ratio (3/4, 4/3)), bicubic, and flip p = 0.5 (no colour jitter or RandAugment).
    public static func timmTrain(size: Int = 224) throws -> ImageAugmentation {
        .train(try RandomResizedCrop(size: size), flipProbability: 0.5)
    }

    /// Output side S.
    public var size: Int {
        switch self {
        case .eval(let size, _): return size
        case .train(let crop, _): return crop.size
        }
    }

    /// Whether the transform draws random numbers.
    public var isRandom: Bool {
        if case .train = self { return true }
        return false
    }

    /// The S×S image for sample `index` in `epoch`: randomness (if any) comes from
    /// `RandomSampling.generator(seed, epoch, index)`, so the result depends only on these three numbers and the
    /// image, never on which thread runs it or when.
    public func apply(_ image: RGBImage, seed: UInt64, epoch: Int, index: Int) -> RGBImage {
        var rng = RandomSampling.generator(seed, epoch, index)
        return apply(image, using: &rng)
    }

    /// The S×S image, drawing from `rng` for the training transform: first the crop, then one uniform for the flip.
    public func apply(_ image: RGBImage, using rng: inout SeededGenerator) -> RGBImage {
        switch self {
        case .eval(let size, let mode):
            return ImagePreprocessor(size: size, mode: mode).geometry(image)
        case .train(let crop, let flipProbability):
            let out = crop.apply(image, using: &rng)
            return RandomSampling.uniform(&rng) < flipProbability ? Self.flippedHorizontally(out) : out
        }
    }

    /// The rows `box.top..<box.top+box.height`, columns `box.left..<box.left+box.width` of `image`; the box must lie
    /// inside the image.
    public static func crop(_ image: RGBImage, _ box: CropBox) -> RGBImage {
        precondition(box.top >= 0 && box.left >= 0 && box.width > 0 && box.height > 0
                     && box.top + box.height <= image.height && box.left + box.width <= image.width,
                     "\(box) outside a \(image.width)×\(image.height) image")
        if box.top == 0 && box.left == 0 && box.width == image.width && box.height == image.height { return image }
        var out = [UInt8](repeating: 0, count: box.width * box.height * 3)
        let rowBytes = box.width * 3
        out.withUnsafeMutableBufferPointer { dst in
            image.pixels.withUnsafeBufferPointer { src in
                for y in 0..<box.height {
                    let from = ((box.top + y) * image.width + box.left) * 3
                    (dst.baseAddress! + y * rowBytes).update(from: src.baseAddress! + from, count: rowBytes)
                }
            }
        }
        return RGBImage(width: box.width, height: box.height, pixels: out)
    }

    /// `image` mirrored left–right.
    public static func flippedHorizontally(_ image: RGBImage) -> RGBImage {
        var out = image.pixels
        let w = image.width
        out.withUnsafeMutableBufferPointer { dst in
            image.pixels.withUnsafeBufferPointer { src in
                for y in 0..<image.height {
                    let row = y * w * 3
                    for x in 0..<w {
                        let s = row + (w - 1 - x) * 3, d = row + x * 3
                        dst[d] = src[s]
                        dst[d + 1] = src[s + 1]
                        dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: image.width, height: image.height, pixels: out)
    }
}
