// ClipAugmentation: the per-clip spatial transforms — training: short-side jitter resize, random crop and optional
// horizontal flip, drawn once and applied to every frame; test: short-side resize to the crop size and one of the
// evenly spaced crops along the long side (VideoMAE's 3-crop test).
import Foundation

/// The spatial transform of a training clip, with the same random parameters for every frame.
///
/// Per clip: a short side s uniform in ``shortSide`` (integers, inclusive), a bicubic resize of every frame so its
/// shorter side is s, one S×S crop position uniform over the resized frame, and with ``flip`` a horizontal flip
/// with probability ½. The defaults follow VideoMAE's / DyT's scale jitter 256…320 for 224 (scaled with S).
public struct ClipAugmentation: Sendable, Equatable {
    /// Output side S.
    public let size: Int
    /// Range of the shorter side before cropping (≥ S).
    public let shortSide: ClosedRange<Int>
    /// Whether clips are flipped left–right with probability ½ (off for SSv2, whose labels name left and right).
    public let flip: Bool

    /// - Throws: ``SparseTuningError`` when `size` is not positive or `shortSide` starts below it.
    public init(size: Int, shortSide: ClosedRange<Int>? = nil, flip: Bool) throws {
        guard size > 0 else { throw SparseTuningError("clip size must be positive (got \(size))") }
        let range = shortSide ?? Self.defaultShortSide(size: size)
        guard range.lowerBound >= size else {
            throw SparseTuningError("the short-side jitter range \(range) must not start below the crop size \(size)")
        }
        self.size = size
        self.shortSide = range
        self.flip = flip
    }

    /// The default jitter: S·256/224 … S·320/224 (256…320 for 224), rounded.
    public static func defaultShortSide(size: Int) -> ClosedRange<Int> {
        Int((Double(size) * 256 / 224).rounded())...Int((Double(size) * 320 / 224).rounded())
    }

    /// Kinetics training: default jitter, flip.
    public static func kinetics(size: Int = 224) throws -> ClipAugmentation { try ClipAugmentation(size: size, flip: true) }
    /// Something-Something v2 training: default jitter, no flip.
    public static func somethingSomething(size: Int = 224) throws -> ClipAugmentation { try ClipAugmentation(size: size, flip: false) }

    /// The T frames transformed to S×S: draws the short side, the crop top, the crop left and (with ``flip``) one
    /// uniform for the flip, in that order.
    ///
    /// - Throws: ``SparseTuningError`` when the frames differ in size.
    public func apply(_ frames: [RGBImage], using rng: inout SeededGenerator) throws -> [RGBImage] {
        try ClipFrames.checkSameSize(frames)
        let short = shortSide.lowerBound + RandomSampling.integer(below: shortSide.count, &rng)
        let resized = frames.map { $0.resizedShorterSide(to: short) }
        let box = CropBox(top: RandomSampling.integer(below: resized[0].height - size + 1, &rng),
                          left: RandomSampling.integer(below: resized[0].width - size + 1, &rng), height: size, width: size)
        let flipped = flip && RandomSampling.uniform(&rng) < 0.5
        return resized.map { frame in
            let out = ImageAugmentation.crop(frame, box)
            return flipped ? ImageAugmentation.flippedHorizontally(out) : out
        }
    }
}

/// The fixed transform of test views: every frame resized (bicubic) so its shorter side is S, then crop `crop` of
/// `crops` S×S crops evenly spaced along the longer side (left/centre/right for landscape frames,
/// top/centre/bottom for portrait; one crop: the centre).
public enum TestCrop {
    /// The crop box of view `crop` of `crops` in a `width × height` frame whose shorter side is `size`.
    public static func box(width: Int, height: Int, size: Int, crop: Int, crops: Int) -> CropBox {
        precondition(crops >= 1 && crop >= 0 && crop < crops, "crop \(crop) of \(crops)")
        let room = max(width, height) - size
        let offset = crops == 1 ? room / 2 : crop * room / (crops - 1)
        return width >= height ? CropBox(top: 0, left: offset, height: size, width: size)
                               : CropBox(top: offset, left: 0, height: size, width: size)
    }

    /// The T frames resized to shorter side `size` (done once for all crops), for ``crop(_:size:crop:crops:)``.
    ///
    /// - Throws: ``SparseTuningError`` when the frames differ in size.
    public static func resized(_ frames: [RGBImage], size: Int) throws -> [RGBImage] {
        try ClipFrames.checkSameSize(frames)
        return frames.map { $0.resizedShorterSide(to: size) }
    }

    /// Crop `crop` of `crops` of frames already resized to shorter side `size`.
    public static func crop(_ resized: [RGBImage], size: Int, crop: Int, crops: Int) -> [RGBImage] {
        let b = box(width: resized[0].width, height: resized[0].height, size: size, crop: crop, crops: crops)
        return resized.map { ImageAugmentation.crop($0, b) }
    }
}

/// Checks shared by the clip transforms.
enum ClipFrames {
    static func checkSameSize(_ frames: [RGBImage]) throws {
        guard let first = frames.first else { throw SparseTuningError("a clip needs at least one frame") }
        if let other = frames.first(where: { $0.width != first.width || $0.height != first.height }) {
            throw SparseTuningError("the frames of a clip differ in size (\(first.width)×\(first.height) and \(other.width)×\(other.height))")
        }
        guard first.width > 0 && first.height > 0 else {
            throw SparseTuningError("empty \(first.width)×\(first.height) frame")
        }
    }
}
