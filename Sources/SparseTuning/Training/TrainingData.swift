// TrainingData: what a trainer learns from and scores on — labelled images (with their augmentation chosen by the
// training options), or video clips with their sampling, clip augmentation and multi-view evaluation
// (docs/VIDEO.md).

/// The data of a training run.
public enum TrainingData: Sendable {
    /// Images: the training source and an optional evaluation source.
    case images(train: any ImageSource, eval: (any ImageSource)?)
    /// Video clips.
    case clips(VideoTrainingData)

    /// Training samples.
    var trainCount: Int {
        switch self {
        case .images(let train, _): return train.count
        case .clips(let v): return v.train.count
        }
    }

    /// The first training or evaluation label outside `0..<classes`, with which set it is in.
    func badLabel(classes: Int) -> (label: Int, set: String)? {
        func bad(_ labels: [Int]) -> Int? { labels.first { $0 < 0 || $0 >= classes } }
        switch self {
        case .images(let train, let eval):
            if let l = bad(train.labels) { return (l, "training") }
            if let eval, let l = bad(eval.labels) { return (l, "evaluation") }
        case .clips(let v):
            if let l = bad(v.train.labels) { return (l, "training") }
            if let eval = v.eval, let l = bad(eval.labels) { return (l, "evaluation") }
        }
        return nil
    }
}

/// Video clips for training: the datasets, how clips are sampled and augmented, and the views evaluation averages.
public struct VideoTrainingData: Sendable {
    public var train: VideoDataset
    public var eval: VideoDataset?
    public var settings: VideoTaskSettings
    /// The frame file template of frame folders (nil: detected per folder).
    public var frameTemplate: String?

    public init(train: VideoDataset, eval: VideoDataset?, settings: VideoTaskSettings, frameTemplate: String? = nil) {
        self.train = train
        self.eval = eval
        self.settings = settings
        self.frameTemplate = frameTemplate
    }
}

/// A video task's clip settings — recorded in its task file, so evaluation and prediction sample as training did.
public struct VideoTaskSettings: Codable, Sendable, Equatable {
    /// How a clip's frames are chosen (dense strided window, or one frame per segment).
    public var sampling: ClipSampling
    /// Whether training flips clips horizontally (off for SSv2, whose labels name left and right).
    public var flip: Bool
    /// Test views: temporal clips × spatial crops, softmax-averaged.
    public var clips: Int
    public var crops: Int

    public init(sampling: ClipSampling, flip: Bool, clips: Int, crops: Int) {
        self.sampling = sampling
        self.flip = flip
        self.clips = clips
        self.crops = crops
    }

    /// Kinetics-400: 16 frames at stride 4, flips, 5 × 3 test views (VideoMAE, DyT).
    public static let kinetics = VideoTaskSettings(sampling: .kinetics, flip: true, clips: 5, crops: 3)
    /// Something-Something v2: 16 segments, no flip, 2 × 3 test views.
    public static let somethingSomething = VideoTaskSettings(sampling: .somethingSomething, flip: false, clips: 2, crops: 3)

    /// The test views.
    public func views() throws -> VideoViews { try VideoViews(clips: clips, crops: crops) }
}
