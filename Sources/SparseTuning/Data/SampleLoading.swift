// SampleLoading: what the batch loader loads per sample — an image (ImageSource + ImageAugmentation → (3, S, S))
// or a training clip (VideoDataset + ClipSampling + ClipAugmentation → (T, 3, S, S)); the test views of a video are
// VideoViewSamples — decoded, transformed with the generator of (seed, epoch, index) and normalised.
import Foundation

/// A labelled collection whose samples load to fixed-shape float arrays. Implementations are immutable and
/// thread-safe: the batch loader calls ``load(_:seed:epoch:)`` concurrently for different indices.
public protocol SampleLoading: Sendable {
    /// Number of samples; valid indices are `0..<count`.
    var count: Int { get }
    /// The shape of one loaded sample, e.g. (3, S, S) or (T, 3, S, S); a batch is (B, sampleShape…).
    var sampleShape: [Int] { get }
    /// The class of sample `index` (never loads it).
    func label(_ index: Int) -> Int
    /// Where sample `index` comes from (its path), for messages.
    func describe(_ index: Int) -> String
    /// Sample `index` of `epoch`, normalised, `sampleShape` floats row-major; randomness only from
    /// `RandomSampling.generator(seed, epoch, index)`.
    ///
    /// - Throws: ``SparseTuningError`` when it cannot be read or decoded.
    func load(_ index: Int, seed: UInt64, epoch: Int) throws -> [Float]
}

extension SampleLoading {
    /// Floats per sample (the product of ``sampleShape``).
    public var floatsPerSample: Int { sampleShape.reduce(1, *) }
}

/// Images of an ``ImageSource``, transformed by an ``ImageAugmentation``: samples (3, S, S).
public struct ImageSamples: SampleLoading {
    public let source: any ImageSource
    public let augmentation: ImageAugmentation
    let planes: NormalizedPlanes

    public init(source: any ImageSource, augmentation: ImageAugmentation, normalization: Normalization) {
        self.source = source
        self.augmentation = augmentation
        planes = NormalizedPlanes(normalization)
    }

    public var count: Int { source.count }
    public var sampleShape: [Int] { [3, augmentation.size, augmentation.size] }
    public func label(_ index: Int) -> Int { source.label(index) }
    public func describe(_ index: Int) -> String { source.describe(index) }

    public func load(_ index: Int, seed: UInt64, epoch: Int) throws -> [Float] {
        let image = try source.image(index)
        guard image.width > 0 && image.height > 0 else {
            throw SparseTuningError("empty \(image.width)×\(image.height) image")
        }
        return planes.floats([augmentation.apply(image, seed: seed, epoch: epoch, index: index)])  // (3, S, S)
    }
}

/// Training clips of a ``VideoDataset``: per video, T frames chosen by ``ClipSampling/trainIndices(frameCount:using:)``
/// and transformed by a ``ClipAugmentation``, both drawing from the generator of (seed, epoch, index) in that
/// order; samples (T, 3, S, S).
public struct ClipSamples: SampleLoading {
    public let dataset: VideoDataset
    public let sampling: ClipSampling
    public let augmentation: ClipAugmentation
    /// The frame file template of frame folders (nil: detected per folder).
    public let frameTemplate: String?
    let planes: NormalizedPlanes

    /// - Throws: ``SparseTuningError`` for an invalid sampling.
    public init(dataset: VideoDataset, sampling: ClipSampling, augmentation: ClipAugmentation, normalization: Normalization,
                frameTemplate: String? = nil) throws {
        self.dataset = dataset
        self.frameTemplate = frameTemplate
        self.sampling = try sampling.validated()
        self.augmentation = augmentation
        planes = NormalizedPlanes(normalization)
    }

    public var count: Int { dataset.count }
    public var sampleShape: [Int] { [sampling.frames, 3, augmentation.size, augmentation.size] }
    public func label(_ index: Int) -> Int { dataset.label(index) }
    public func describe(_ index: Int) -> String { dataset.describe(index) }

    public func load(_ index: Int, seed: UInt64, epoch: Int) throws -> [Float] {
        let video = try VideoOpener.open(dataset.paths[index], frameTemplate: frameTemplate)
        var rng = RandomSampling.generator(seed, epoch, index)
        let frames = try video.frames(at: sampling.trainIndices(frameCount: video.frameCount, using: &rng))
        return planes.floats(try augmentation.apply(frames, using: &rng))  // (T, 3, S, S)
    }
}

/// Writes 8-bit RGB images as normalised planar floats: 256-entry lookup tables per channel,
/// `(v / 255 − mean) / std` computed in Float like torchvision.
struct NormalizedPlanes: Sendable {
    let tables: [[Float]]

    init(_ n: Normalization) {
        tables = (0..<3).map { c in (0..<256).map { (Float($0) / 255 - n.mean[c]) / n.std[c] } }
    }

    /// The images (all of one size h×w) as (count, 3, h, w) floats.
    func floats(_ images: [RGBImage]) -> [Float] {
        let plane = images[0].width * images[0].height
        var out = [Float](repeating: 0, count: images.count * 3 * plane)  // (count, 3, h, w)
        out.withUnsafeMutableBufferPointer { dst in
            for (k, image) in images.enumerated() {
                image.pixels.withUnsafeBufferPointer { px in
                    for c in 0..<3 {
                        tables[c].withUnsafeBufferPointer { table in
                            let base = (3 * k + c) * plane
                            for i in 0..<plane { dst[base + i] = table[Int(px[3 * i + c])] }
                        }
                    }
                }
            }
        }
        return out
    }
}
