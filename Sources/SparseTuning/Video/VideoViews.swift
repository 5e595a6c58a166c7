// VideoViews: the test views of a video — `clips` temporal windows × `crops` spatial crops — and the sample loader
// that loads all of them as one (V, T, 3, S, S) sample for multi-view evaluation.
import Foundation

/// The number of test views of a video: `clips` temporal × `crops` spatial.
public struct VideoViews: Sendable, Equatable, CustomStringConvertible {
    public let clips: Int
    public let crops: Int

    /// - Throws: ``SparseTuningError`` unless both are at least 1.
    public init(clips: Int, crops: Int) throws {
        guard clips >= 1, crops >= 1 else { throw SparseTuningError("test views need at least 1 clip and 1 crop (got \(clips)×\(crops))") }
        self.clips = clips
        self.crops = crops
    }

    /// V = clips × crops.
    public var count: Int { clips * crops }
    public var description: String { "\(clips)×\(crops)" }

    /// Kinetics-400 (VideoMAE): 5 clips × 3 crops.
    public static let kinetics = try! VideoViews(clips: 5, crops: 3)
    /// Something-Something v2 (VideoMAE): 2 clips × 3 crops.
    public static let somethingSomething = try! VideoViews(clips: 2, crops: 3)
}

/// Every test view of a video as one sample (V, T, 3, S, S), view v = clip `v / crops`, crop `v % crops`: the T
/// frames of ``ClipSampling/testIndices(frameCount:clip:clips:)`` resized to shorter side S and cropped by
/// ``TestCrop``. Deterministic (ignores seed and epoch).
public struct VideoViewSamples: SampleLoading {
    public let dataset: VideoDataset
    public let sampling: ClipSampling
    public let views: VideoViews
    /// Crop side S.
    public let size: Int
    /// The frame file template of frame folders (nil: detected per folder).
    public let frameTemplate: String?
    let planes: NormalizedPlanes

    /// - Throws: ``SparseTuningError`` for an invalid sampling or a non-positive size.
    public init(dataset: VideoDataset, sampling: ClipSampling, views: VideoViews, size: Int, normalization: Normalization,
                frameTemplate: String? = nil) throws {
        guard size > 0 else { throw SparseTuningError("clip size must be positive (got \(size))") }
        self.dataset = dataset
        self.sampling = try sampling.validated()
        self.views = views
        self.size = size
        self.frameTemplate = frameTemplate
        planes = NormalizedPlanes(normalization)
    }

    public var count: Int { dataset.count }
    public var sampleShape: [Int] { [views.count, sampling.frames, 3, size, size] }
    public func label(_ index: Int) -> Int { dataset.label(index) }
    public func describe(_ index: Int) -> String { dataset.describe(index) }

    public func load(_ index: Int, seed: UInt64, epoch: Int) throws -> [Float] {
        planes.floats(try frames(index))  // (V, T, 3, S, S)
    }

    /// The V·T frames of video `index`'s views as the model sees them (resized and cropped, before normalisation),
    /// view-major: view v = clip `v / crops`, crop `v % crops`.
    public func frames(_ index: Int) throws -> [RGBImage] {
        let video = try VideoOpener.open(dataset.paths[index], frameTemplate: frameTemplate)
        var frames: [RGBImage] = []  // V·T frames, view-major
        for clip in 0..<views.clips {
            let resized = try TestCrop.resized(video.frames(at: sampling.testIndices(frameCount: video.frameCount, clip: clip,
                                                                                     clips: views.clips)), size: size)
            for crop in 0..<views.crops { frames += TestCrop.crop(resized, size: size, crop: crop, crops: views.crops) }
        }
        return frames
    }
}
