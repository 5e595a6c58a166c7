// Video flags shared by train, eval and predict: the dataset layout, how clips are sampled and augmented, the test
// views, frame folders' file names, and skipping unreadable videos (docs/VIDEO.md).
import ArgumentParser
import Foundation
import SparseTuning

struct VideoOptions: ParsableArguments {
    @Option(name: .customLong("sampling"), help: "Video: how a clip's frames are chosen: dense (T frames --frame-stride apart in one window; Kinetics) or segments (one frame from each of T segments; SSv2) (default: the task file's, else the recipe's or the dataset's).")
    var sampling: String?
    @Option(name: .customLong("frame-stride"), help: "Video, dense sampling: frames between sampled frames (default 4).")
    var frameStride: Int?
    @Option(help: "Video: temporal clips per test video (views = clips × crops, softmax averaged; K400 5, SSv2 2).")
    var clips: Int?
    @Option(help: "Video: spatial crops per test clip (3 = left/centre/right; 1 = centre).")
    var crops: Int?
    @Flag(inversion: .prefixedNo, help: "Video training: horizontal flips (default: on for Kinetics, off for SSv2, whose labels name left and right).")
    var flip: Bool?
    @Option(name: .customLong("frame-template"), help: "Video frame folders: frame file names, e.g. img_{:05d}.jpg (default: detected per folder).")
    var frameTemplate: String?
    @Flag(name: .customLong("skip-bad-videos"), help: "Skip (and count) videos that cannot be read or decoded instead of stopping.")
    var skipBadVideos = false

    /// `base` with the flags given applied, for clips of `frames` frames.
    func settings(base: VideoTaskSettings, frames: Int) throws -> VideoTaskSettings {
        var s = base
        let kind = sampling ?? {
            if case .dense = base.sampling { return "dense" } else { return "segments" }
        }()
        switch kind {
        case "dense":
            var stride = 4
            if case .dense(_, let st) = base.sampling { stride = st }
            s.sampling = .dense(frames: frames, stride: frameStride ?? stride)
        case "segments":
            if frameStride != nil { throw SparseTuningError("--frame-stride applies to --sampling dense") }
            s.sampling = .segments(frames: frames)
        default:
            throw SparseTuningError("--sampling '\(kind)' is not valid; expected dense or segments")
        }
        _ = try s.sampling.validated()
        if let flip { s.flip = flip }
        if let clips { s.clips = clips }
        if let crops { s.crops = crops }
        _ = try s.views()
        return s
    }

    /// The default settings of a dataset layout: SSv2's for Something-Something, else Kinetics'.
    static func defaults(for format: VideoDatasetFormat) -> VideoTaskSettings {
        format == .somethingSomething ? .somethingSomething : .kinetics
    }
}

extension DataOptions {
    /// The video layout of `--data`, or nil for an image dataset: `--format kinetics|ssv2|video-list`, else (with
    /// `expectVideo`, or when no image layout matches) the layout the video locator recognises.
    func videoFormat(expectVideo: Bool) throws -> VideoDatasetFormat? {
        let names: [String: VideoDatasetFormat] = ["kinetics": .kinetics, "k400": .kinetics, "ssv2": .somethingSomething,
                                                   "video-list": .list]
        if let format {
            if let v = names[format] { return v }
            if DatasetFormat(rawValue: format) != nil { return nil }
            throw SparseTuningError("--format '\(format)' is not valid; expected \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", ")) "
                + "(images) or kinetics, ssv2, video-list (videos)")
        }
        if expectVideo { return try VideoDatasetLocator.detect(data) }
        do {
            _ = try DatasetLocator.detect(data)
            return nil
        } catch let imageError as SparseTuningError {
            guard let v = try? VideoDatasetLocator.detect(data) else { throw imageError }
            return v
        }
    }

    /// Opens the training split of a video dataset.
    func videoTrain(_ format: VideoDatasetFormat) throws -> VideoDataset {
        try VideoDatasetLocator.open(data, split: trainSplit ?? "train", format: format)
    }

    /// Opens the evaluation split of a video dataset: `--eval-split`, else the first of the layout's usual names
    /// (SSv2 `validation`; Kinetics `validate`, `val`; lists `val`, `test`) that exists; nil when none does.
    func videoEval(_ format: VideoDatasetFormat) throws -> VideoDataset? {
        if let evalSplit { return try VideoDatasetLocator.open(data, split: evalSplit, format: format) }
        let candidates = format == .somethingSomething ? ["validation"] : format == .kinetics ? ["validate", "val"] : ["val", "test"]
        for split in candidates {
            if let d = try? VideoDatasetLocator.open(data, split: split, format: format) { return d }
        }
        return nil
    }

    /// `--norm`, else the task file's normalisation, else ImageNet's (VideoMAE's and DyT's video pipelines).
    func videoNormalization(task: TaskConfig?, file: String?) throws -> Normalization {
        try resolveNormalization(flag: norm, task: task, file: file, fallback: .imagenet)
    }
}
