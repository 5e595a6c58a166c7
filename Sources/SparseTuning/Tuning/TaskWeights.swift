// A task's tensors (what a method trained, plus BatchNorm buffers), the configuration stored with them, and
// loading layered checkpoints (a backbone, then a task file) into a TunedViT with every name checked.

/// How a task's images were preprocessed for evaluation during training: what `predict`, `eval` and `visualize`
/// use by default, so a task is served exactly as it was evaluated.
public struct TaskPreprocessing: Codable, Sendable, Equatable {
    /// Input side S (pixels).
    public var size: Int
    /// `squash` (bicubic resize to S×S, the VTAB-1K protocol) or `crop` (shorter side to ⌊S / cropFraction⌋,
    /// centre S×S crop: timm's evaluation transform).
    public var resize: String
    /// The crop fraction of `crop` (nil for `squash`).
    public var cropFraction: Double?
    /// `inception` or `imagenet`.
    public var normalization: String
    /// Per-channel mean and standard deviation (R, G, B) on the 0…1 scale.
    public var mean: [Float]
    public var std: [Float]

    public init(size: Int, mode: ResizeMode, normalization: Normalization) {
        self.size = size
        switch mode {
        case .squash: resize = "squash"; cropFraction = nil
        case .shortSideCrop(let pct): resize = "crop"; cropFraction = Double("\(pct)")!
        }
        self.normalization = normalization == .imagenet ? "imagenet" : normalization == .inception ? "inception" : "custom"
        mean = normalization.mean
        std = normalization.std
    }

    /// The geometry (`file` names the task file in errors).
    public func resizeMode(file: String) throws -> ResizeMode {
        switch resize {
        case "squash": return .squash
        case "crop":
            let pct = cropFraction ?? 0.875
            guard pct > 0, pct <= 1 else { throw SparseTuningError("\(file): preprocessing crop fraction \(pct) is not in (0, 1]") }
            return .shortSideCrop(cropPct: Float(pct))
        default: throw SparseTuningError("\(file): preprocessing resize '\(resize)' is not squash or crop")
        }
    }

    /// The channel normalisation (`file` names the task file in errors).
    public func channelNormalization(file: String) throws -> Normalization {
        guard mean.count == 3, std.count == 3, std.allSatisfy({ $0 > 0 }) else {
            throw SparseTuningError("\(file): preprocessing needs 3 means and 3 positive standard deviations")
        }
        return Normalization(mean: mean, std: std)
    }
}

/// What a training run ended with (after the last epoch written), stored in the task file.
public struct TaskMetrics: Codable, Sendable, Equatable {
    /// Epochs trained and optimiser steps taken.
    public var epochs: Int
    public var steps: Int
    /// Mean training loss and accuracy of the last epoch.
    public var trainLoss: Double
    public var trainAccuracy: Double
    /// Top-1 / top-5 of the last evaluation (nil without an evaluation split).
    public var evalTop1: Double?
    public var evalTop5: Double?
    /// The best evaluation top-1 and its epoch.
    public var bestEvalTop1: Double?
    public var bestEpoch: Int?

    public init(epochs: Int, steps: Int, trainLoss: Double, trainAccuracy: Double, evalTop1: Double? = nil,
                evalTop5: Double? = nil, bestEvalTop1: Double? = nil, bestEpoch: Int? = nil) {
        self.epochs = epochs
        self.steps = steps
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.evalTop1 = evalTop1
        self.evalTop5 = evalTop5
        self.bestEvalTop1 = bestEvalTop1
        self.bestEpoch = bestEpoch
    }
}

/// The configuration a task file carries in `__metadata__["sparse_tuning.config"]` (JSON), as Hugging Face peft's
/// adapter config: the backbone shape and fingerprint, the method and its settings, class names, preprocessing,
/// the training recipe, final metrics and the library version (docs/METHOD.md §7). Every field after `tuning` may
/// be absent (older task files): absent preprocessing falls back to the command's defaults, an absent fingerprint
/// skips the backbone check.
public struct TaskConfig: Codable, Sendable, Equatable {
    public var vit: ViTConfig
    public var tuning: TuningConfig
    public var classNames: [String]?
    /// "inception" or "imagenet".
    public var normalization: String?
    /// ``BackboneFingerprint`` of the frozen backbone the task was trained on (nil: unknown, or full fine-tuning).
    public var backboneFingerprint: String?
    /// The evaluation preprocessing the task was trained and evaluated with.
    public var preprocessing: TaskPreprocessing?
    /// The training recipe (hyper-parameters).
    public var recipe: TrainingOptions?
    /// How training ended.
    public var metrics: TaskMetrics?
    /// ``SparseTuningVersion/string`` of the library that wrote the file.
    public var libraryVersion: String?
    /// A video task's clip sampling and test views.
    public var video: VideoTaskSettings?
    /// A segmentation task's classes, head, feature levels and restoration rule.
    public var segmentation: SegmentationConfig?

    public init(vit: ViTConfig, tuning: TuningConfig, classNames: [String]? = nil, normalization: String? = nil,
                backboneFingerprint: String? = nil, preprocessing: TaskPreprocessing? = nil, recipe: TrainingOptions? = nil,
                metrics: TaskMetrics? = nil, libraryVersion: String? = nil) {
        self.vit = vit
        self.tuning = tuning
        self.classNames = classNames
        self.normalization = normalization
        self.backboneFingerprint = backboneFingerprint
        self.preprocessing = preprocessing
        self.recipe = recipe
        self.metrics = metrics
        self.libraryVersion = libraryVersion
    }

    private enum CodingKeys: String, CodingKey {
        case vit, tuning, classNames, normalization, backboneFingerprint, preprocessing, recipe, metrics, libraryVersion, video
        case segmentation
    }

    /// Decodes a task configuration; every key after `vit` and `tuning` may be missing (older files). A recipe
    /// written by another version with other fields is dropped rather than refusing the file.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vit = try c.decode(ViTConfig.self, forKey: .vit)
        tuning = try c.decode(TuningConfig.self, forKey: .tuning)
        classNames = try c.decodeIfPresent([String].self, forKey: .classNames)
        normalization = try c.decodeIfPresent(String.self, forKey: .normalization)
        backboneFingerprint = try c.decodeIfPresent(String.self, forKey: .backboneFingerprint)
        preprocessing = try c.decodeIfPresent(TaskPreprocessing.self, forKey: .preprocessing)
        recipe = (try? c.decodeIfPresent(TrainingOptions.self, forKey: .recipe)) ?? nil
        metrics = try c.decodeIfPresent(TaskMetrics.self, forKey: .metrics)
        libraryVersion = try c.decodeIfPresent(String.self, forKey: .libraryVersion)
        video = try c.decodeIfPresent(VideoTaskSettings.self, forKey: .video)
        segmentation = try c.decodeIfPresent(SegmentationConfig.self, forKey: .segmentation)
    }

    /// The metadata key holding the JSON.
    public static let metadataKey = "sparse_tuning.config"

    /// Parses the JSON of a task file's metadata; `file` names it in errors.
    public static func decode(_ json: String, file: String) throws -> TaskConfig {
        try JSONCoding.decode(TaskConfig.self, from: json, source: "\(file): metadata '\(metadataKey)'")
    }

    /// The JSON text (sorted keys).
    public func encoded() -> String {
        try! JSONCoding.string(self)
    }
}

extension TunedViT {
    /// The tensors a task file stores: the trainable ones (timm shapes), the BatchNorm head's buffers, and for full
    /// fine-tuning of a layer-scale model its (unit) layer scales.
    public func taskStateDict() -> [(name: String, tensor: Tensor)] {
        let shapes = Dictionary(uniqueKeysWithValues: backbone.parameters().map { ($0.name, $0.shape) })
        var out: [(name: String, tensor: Tensor)] = trainable.map { p in
            guard let shape = shapes[p.name], shape != p.value.shape else { return (p.name, p.value) }
            let t = p.value.copy()
            t.reshape(shape)
            return (p.name, t)
        }
        if let bnHead { out += bnHead.buffers }
        // Full fine-tuning trains the Linears a layer scale was folded into: unit scales keep the file exact when it
        // is layered over the backbone's own (docs/BACKBONES.md).
        if tuning.trainsBackbone { out += backbone.unitLayerScales() }
        return out
    }

    /// Copies tensors into the model: method tensors and BatchNorm buffers by their docs/METHOD.md §4 names, everything
    /// else into the backbone (strict: unknown, missing or mis-shaped tensors are errors naming them).
    ///
    /// - Parameters:
    ///   - sources: the file each tensor came from, for error messages.
    ///   - freshHead: ignore any head in `tensors` (training a new task from a backbone).
    ///   - requireModules: the method's own tensors must be present (loading a task file); otherwise missing ones
    ///     keep their fresh initialisation (a backbone alone).
    ///   - headSeed: seeds the fresh head's initialisation.
    @discardableResult
    public func load(_ tensors: [String: Tensor], sources: [String: String] = [:], freshHead: Bool = false,
                     requireModules: Bool = false, headSeed: UInt64 = 0) throws -> LoadReport {
        var rest = tensors
        func origin(_ n: String) -> String { sources[n].map { " in \($0)" } ?? "" }
        if freshHead {
            for k in ["head.weight", "head.bias", "head.1.weight", "head.1.bias"] { rest[k] = nil }
        }
        try loadModuleTensors(&rest, sources: sources, requireModules: requireModules)
        if bnHead != nil {
            // The Linear after the BatchNorm is the model's head; a plain `head.*` from a backbone file is ignored.
            rest["head.weight"] = rest.removeValue(forKey: "head.1.weight")
            rest["head.bias"] = rest.removeValue(forKey: "head.1.bias")
        }
        let report = try backbone.load(rest, sources: sources, ignoreHead: freshHead)
        if freshHead, let head = backbone.head {
            // A new head: trunc-normal std 0.01 weights and zero bias, as the released code initialises it.
            var rng = SeededGenerator(seed: headSeed)
            head.weight.fillTruncatedNormal(std: 0.01, using: &rng)
            head.bias!.data.update(repeating: 0, count: head.bias!.count)
        }
        parametersUpdated()
        return report
    }

    /// Loads a task file's own tensors onto a backbone that is already loaded — a trunk shared by several tasks
    /// (``VisionTransformer/sharingTrunk(classes:)``): the method's modules, BatchNorm buffers and the head, all
    /// required. Anything else is an error naming the tensor and `source`: only methods that keep the backbone
    /// frozen can share it.
    public func loadTask(_ tensors: [String: Tensor], source: String) throws {
        guard !tuning.trainsBackbone else {
            throw SparseTuningError("\(source): a \(tuning.method.rawValue) fine-tune trains the backbone itself, so it cannot share "
                + "a frozen one (serve it as a backbone of its own)")
        }
        var rest = tensors
        try loadModuleTensors(&rest, sources: [:], requireModules: true, source: source)
        let prefix = bnHead != nil ? "head.1" : "head"
        if let head = backbone.head {
            for (suffix, dst) in [("weight", head.weight), ("bias", head.bias!)] {
                let name = "\(prefix).\(suffix)"
                guard let t = rest.removeValue(forKey: name) else {
                    throw SparseTuningError("\(source): missing tensor '\(name)' (expected shape \(dst.shape))")
                }
                guard t.shape == dst.shape else {
                    throw SparseTuningError("\(source): tensor '\(name)' has shape \(t.shape), expected \(dst.shape)")
                }
                dst.data.update(from: t.data, count: t.count)
            }
        }
        if let extra = rest.keys.sorted().first {
            throw SparseTuningError("\(source): tensor '\(extra)' is neither the \(tuning.method.rawValue) method's nor the head's "
                + "(a task served on a shared backbone holds only those)")
        }
        parametersUpdated()
    }

    /// Copies the method's own tensors and BatchNorm buffers out of `rest` (removing them); missing ones are an error
    /// when `requireModules` (the BatchNorm statistics excepted).
    private func loadModuleTensors(_ rest: inout [String: Tensor], sources: [String: String], requireModules: Bool,
                                   source: String? = nil) throws {
        func origin(_ n: String) -> String { (sources[n] ?? source).map { " in \($0)" } ?? "" }
        let backboneNames = Set(backbone.parameters().map(\.name))
        var own: [(name: String, tensor: Tensor)] = trainable
            .filter { !backboneNames.contains($0.name) && !$0.name.hasPrefix("head") }
            .map { ($0.name, $0.value) }
        if let bnHead { own += bnHead.buffers }
        for (name, dst) in own {
            guard let t = rest.removeValue(forKey: name) else {
                if requireModules && !name.hasPrefix("head.0.") {
                    throw SparseTuningError("missing tensor '\(name)' (expected shape \(dst.shape)) for method \(tuning.method.rawValue)"
                        + (source.map { " in \($0)" } ?? ""))
                }
                continue
            }
            guard t.count == dst.count, t.shape == dst.shape || (t.shape.isEmpty && dst.count == 1) else {
                throw SparseTuningError("tensor '\(name)'\(origin(name)) has shape \(t.shape), expected \(dst.shape)")
            }
            dst.data.update(from: t.data, count: t.count)
        }
    }

}

import Foundation
