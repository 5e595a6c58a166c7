// ServedTask: one task as a server holds it — its model on the shared frozen trunk, its configuration, class
// names and the preprocessing its images get — built completely from a task file before anyone can see it.
import Foundation

/// A task ready to serve. Immutable: reloading a task builds a new one and swaps it in (``TaskRegistry``).
public final class ServedTask: Sendable {
    /// The name requests address it by.
    public let name: String
    /// The task file it was loaded from.
    public let path: String
    /// The model: the registry's backbone (shared by reference) with this task's modules and head.
    public let model: TunedViT
    /// The configuration stored in the task file.
    public let config: TaskConfig
    /// Class names (the task file's), nil when it has none.
    public let classNames: [String]?
    /// How encoded images are turned into inputs: the task's preprocessing (size, squash or crop, normalisation).
    public let preprocessor: ImagePreprocessor

    /// Head outputs.
    public var classes: Int { model.config.classes }
    /// Input side S of the (B, 3, S, S) tensors it takes.
    public var imageSize: Int { preprocessor.size }
    /// Requests of tasks with equal keys may share one forward pass (``TunedViT/batchKey`` and the image size).
    public var batchKey: String { "\(model.batchKey) size \(imageSize)" }

    /// Loads the task file at `path` onto `backbone` (a loaded frozen trunk, shared by reference), running at
    /// `precision`.
    ///
    /// - Throws: ``SparseTuningError`` naming the file when it is not a task file, trains the backbone itself
    ///   (`full`), was trained on another backbone (both fingerprints named), has another architecture, or its
    ///   tensors do not fit.
    public init(name: String, path: String, backbone: VisionTransformer, precision: Precision = .fp32) throws {
        let file = try TrainingCheckpoint.loadTask(path)
        let config = try TaskConfig.decode(file.configJSON, file: path)
        let have = backbone.config, want = config.vit
        let pairs = [("dim", have.dim, want.dim), ("depth", have.depth, want.depth), ("heads", have.heads, want.heads),
                     ("mlp", have.mlpDim, want.mlpDim), ("patch", have.patch, want.patch)]
        if let bad = pairs.first(where: { $0.1 != $0.2 }) {
            throw SparseTuningError("\(path): the task was trained on a backbone with \(bad.0) \(bad.2), but the served "
                + "backbone has \(bad.0) \(bad.1)")
        }
        guard config.vit.classes > 0 else { throw SparseTuningError("\(path): the task has no head (0 classes); nothing to serve") }
        let model = try TunedViT(backbone: backbone.sharingTrunk(classes: config.vit.classes), tuning: config.tuning)
        try model.loadTask(file.tensors, source: path)
        if let expected = config.backboneFingerprint, let actual = model.backboneFingerprint, expected != actual {
            throw SparseTuningError("\(path): the task was trained on backbone \(expected), but the served backbone is \(actual)")
        }
        model.precision = precision
        if let names = config.classNames, names.count != config.vit.classes {
            throw SparseTuningError("\(path): names \(names.count) classes, but the task's head has \(config.vit.classes) outputs")
        }
        self.name = name
        self.path = path
        self.model = model
        self.config = config
        self.classNames = config.classNames
        self.preprocessor = try ServedTask.preprocessor(config, file: path)
    }

    /// The task's evaluation preprocessing, as `predict` uses it: the stored one, else a centre crop of 0.9 at the
    /// task's input size with the stored (or inception) normalisation.
    static func preprocessor(_ config: TaskConfig, file: String) throws -> ImagePreprocessor {
        if let p = config.preprocessing {
            return ImagePreprocessor(size: p.size, mode: try p.resizeMode(file: file),
                                     normalization: try p.channelNormalization(file: file))
        }
        let name = config.normalization ?? "inception"
        guard let normalization = Normalization(name: name) else {
            throw SparseTuningError("\(file): normalization '\(name)' is not valid; expected inception or imagenet")
        }
        return ImagePreprocessor(size: config.vit.imageSize, mode: .shortSideCrop(cropPct: 0.9), normalization: normalization)
    }

    /// The label of class `index`: its name, else the index.
    public func label(_ index: Int) -> String {
        classNames.flatMap { index < $0.count ? $0[index] : nil } ?? "\(index)"
    }

    /// The (B, 3, S, S) input of encoded JPEG or PNG images, each decoded and preprocessed as the task was evaluated.
    ///
    /// - Throws: ``SparseTuningError`` naming the image (`names[i]`) that is not a decodable JPEG or PNG.
    public func inputs(encoded images: [Data], names: [String]) throws -> Tensor {
        let s = imageSize, stride = 3 * s * s
        let batch = Tensor(zeros: [images.count, 3, s, s])
        for (i, data) in images.enumerated() {
            let one = preprocessor.tensor(try ImageDecoder.decode(data, name: names[i]))
            (batch.data + i * stride).update(from: one.data, count: stride)
        }
        return batch
    }
}
