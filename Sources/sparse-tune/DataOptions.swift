// Dataset flags shared by train and eval: the folder, its layout, the splits, normalisation and geometry.
import ArgumentParser
import Foundation
import SparseTuning

struct DataOptions: ParsableArguments {
    @Option(help: "Dataset folder: a VTAB-1K task folder, Food-101, CIFAR binaries, or class subfolders.")
    var data: String
    @Option(help: "Layout: vtab, folder, cifar or food101 (default: recognised from the files).")
    var format: String?
    @Option(name: .customLong("train-split"), help: "Training split (default: train800val200 for VTAB, train otherwise).")
    var trainSplit: String?
    @Option(name: .customLong("eval-split"), help: "Evaluation split (default: test for VTAB, CIFAR and Food-101; val for folders).")
    var evalSplit: String?
    @Option(help: "Normalisation: inception (mean/std 0.5; Google and most timm ViTs) or imagenet (default: the task file's, else inception).")
    var norm: String?
    @Option(name: .customLong("eval-resize"), help: "Evaluation geometry: squash (straight resize, VTAB) or crop (timm centre crop 0.9) (default: the task file's, else squash for VTAB, crop otherwise).")
    var evalResize: String?
    @Flag(name: .customLong("skip-bad-images"), help: "Skip (and count) images that cannot be decoded instead of stopping.")
    var skipBadImages = false
    @Option(help: "Background threads decoding images.")
    var workers: Int = 2

    func parsedFormat() throws -> DatasetFormat {
        if let format {
            guard let f = DatasetFormat(rawValue: format) else {
                throw SparseTuningError("--format '\(format)' is not valid; expected \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return f
        }
        return try DatasetLocator.detect(data)
    }

    /// `--norm`, else the task file's normalisation (its preprocessing's mean and std), else inception.
    func normalization(task: TaskConfig?, file: String? = nil) throws -> Normalization {
        try resolveNormalization(flag: norm, task: task, file: file, fallback: .inception)
    }

    /// `--eval-resize`, else the task file's preprocessing (what it was evaluated with in training), else squash for
    /// VTAB and crop 0.9 otherwise.
    func resizeMode(_ format: DatasetFormat, task: TaskConfig? = nil, file: String? = nil) throws -> ResizeMode {
        if evalResize == nil, let p = task?.preprocessing { return try p.resizeMode(file: file ?? "task file") }
        switch evalResize ?? (format == .vtab ? "squash" : "crop") {
        case "squash": return .squash
        case "crop": return .shortSideCrop(cropPct: 0.9)
        default: throw SparseTuningError("--eval-resize '\(evalResize!)' is not valid; expected squash or crop")
        }
    }

    /// The evaluation split, or nil for a class-folder dataset without that subfolder.
    func evalSource(_ format: DatasetFormat) throws -> (any ImageSource)? {
        let split = evalSplit ?? DatasetLocator.defaultSplits(format).eval
        if format == .folder {
            var isDir: ObjCBool = false
            let sub = (data as NSString).appendingPathComponent(split)
            guard FileManager.default.fileExists(atPath: sub, isDirectory: &isDir), isDir.boolValue else {
                if evalSplit != nil { throw SparseTuningError("evaluation split folder '\(sub)' not found") }
                return nil
            }
        }
        return try DatasetLocator.open(data, split: split, format: format)
    }

    func trainSource(_ format: DatasetFormat) throws -> any ImageSource {
        try DatasetLocator.open(data, split: trainSplit ?? DatasetLocator.defaultSplits(format).train, format: format)
    }
}

/// `--norm` (`flag`), else the task file's normalisation (its preprocessing's mean and std, else its name), else
/// `fallback` (inception for images, ImageNet's for video and segmentation, as VideoMAE and mmseg).
func resolveNormalization(flag: String?, task: TaskConfig?, file: String?, fallback: Normalization) throws -> Normalization {
    if let flag {
        guard let n = Normalization(name: flag) else { throw SparseTuningError("--norm '\(flag)' is not valid; expected inception or imagenet") }
        return n
    }
    if let p = task?.preprocessing { return try p.channelNormalization(file: file ?? "task file") }
    guard let name = task?.normalization else { return fallback }
    guard let n = Normalization(name: name) else {
        throw SparseTuningError("\(file ?? "task file"): normalization '\(name)' is not valid; expected inception or imagenet")
    }
    return n
}
