// SegmentationSamples: segmentation training samples for the BatchLoader. A sample is (4, S, S) floats — the
// normalised image in planes 0–2 and the labels (exact small integers as Float) in plane 3 — so the loader, its
// threads, sharding and determinism are reused unchanged; SegmentationBatch splits a batch into images and labels.
import Foundation

/// Training samples of a ``SegmentationDataset`` through a ``SegmentationAugmentation``: sample shape (4, S, S).
///
/// Planes 0–2: the augmented image normalised per channel, padded at the bottom and right to S×S with 0 (after
/// normalisation, as mmseg's SegDataPreProcessor pads); plane 3: the labels as Float (0…K−1 or the ignore value,
/// exact), padded with the ignore value. ``label(_:)`` is 0 (a segmentation sample has no single class).
public struct SegmentationSamples: SampleLoading {
    public let dataset: SegmentationDataset
    public let augmentation: SegmentationAugmentation
    let planes: NormalizedPlanes

    public init(dataset: SegmentationDataset, augmentation: SegmentationAugmentation,
                normalization: Normalization = .imagenet) {
        self.dataset = dataset
        var augmentation = augmentation
        augmentation.ignoreIndex = dataset.ignoreIndex
        self.augmentation = augmentation
        planes = NormalizedPlanes(normalization)
    }

    public var count: Int { dataset.count }
    public var sampleShape: [Int] { [4, augmentation.cropSize, augmentation.cropSize] }
    public func label(_ index: Int) -> Int { 0 }
    public func describe(_ index: Int) -> String { dataset.describe(index) }

    public func load(_ index: Int, seed: UInt64, epoch: Int) throws -> [Float] {
        let (image, labels) = try dataset.load(index)
        let (img, lab) = augmentation.apply(image, labels: labels, seed: seed, epoch: epoch, index: index)
        let s = augmentation.cropSize
        let normalised = planes.floats([img])  // (3, h, w)
        var out = [Float](repeating: 0, count: 4 * s * s)  // (4, S, S)
        for y in 0..<s * s { out[3 * s * s + y] = Float(dataset.ignoreIndex) }
        for c in 0..<3 {
            for y in 0..<img.height {
                for x in 0..<img.width { out[(c * s + y) * s + x] = normalised[(c * img.height + y) * img.width + x] }
            }
        }
        for y in 0..<lab.height {
            for x in 0..<lab.width { out[(3 * s + y) * s + x] = Float(lab.labels[y * lab.width + x]) }
        }
        return out
    }
}

/// The two parts of a segmentation batch.
public enum SegmentationBatch {
    /// Splits `batch` (B, 4, S, S) of ``SegmentationSamples`` into images (B, 3, S, S) and labels (B, S, S) as
    /// `Int32` (ignore value kept, e.g. 255).
    public static func split(_ batch: Batch) -> (images: Tensor, labels: [Int32]) {
        split(batch.images)
    }

    /// Splits a (B, 4, S, S) tensor (see ``split(_:)-batch``).
    public static func split(_ samples: Tensor) -> (images: Tensor, labels: [Int32]) {
        precondition(samples.shape.count == 4 && samples.shape[1] == 4, "expected (B, 4, S, S), got \(samples.shape)")
        let (b, h, w) = (samples.shape[0], samples.shape[2], samples.shape[3])
        let plane = h * w
        let images = Tensor(uninitialized: [b, 3, h, w])  // (B, 3, S, S)
        var labels = [Int32](repeating: 0, count: b * plane)  // (B, S, S)
        for n in 0..<b {
            (images.data + n * 3 * plane).update(from: samples.data + n * 4 * plane, count: 3 * plane)
            let src = samples.data + (n * 4 + 3) * plane
            for i in 0..<plane { labels[n * plane + i] = Int32(src[i]) }
        }
        return (images, labels)
    }

    /// An evaluation input: `image` resized by ``SegmentationAugmentation/evaluationImage(_:long:short:)`` and
    /// normalised, as (1, 3, h, w).
    public static func evaluationInput(_ image: RGBImage, long: Int = 2048, short: Int = 512,
                                       normalization: Normalization = .imagenet) -> Tensor {
        let resized = SegmentationAugmentation.evaluationImage(image, long: long, short: short)
        return Tensor(shape: [1, 3, resized.height, resized.width], values: NormalizedPlanes(normalization).floats([resized]))
    }
}
