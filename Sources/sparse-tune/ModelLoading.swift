// Builds the model a command asked for: the backbone shape from the flags, a task file's metadata or a Google
// .npz's arrays; the method from a task file or the flags; weights layered from --weights files.
import Foundation
import SparseTuning

/// A model ready to run, with the task configuration its weights carried (if any).
struct BuiltModel {
    let model: TunedViT
    let task: TaskConfig?
}

/// The model described by `options`, with `weights` loaded in order (random initialisation when none are given).
/// `forTraining`: a task file of another method or class count serves as a backbone (its head and modules are
/// not used); one of the same method and classes is continued.
func buildModel(_ options: ModelOptions, weights: [String], forTraining: Bool = false) throws -> BuiltModel {
    try options.applyThreads()
    let precision = try options.parsedPrecision()
    guard !weights.isEmpty else {
        let config = try options.config()
        let model = try TunedViT(backbone: VisionTransformer(config: config), tuning: options.tuning(base: nil))
        model.precision = precision
        return BuiltModel(model: model, task: nil)
    }
    let layered = try Checkpoint.loadLayered(weights)
    var task: TaskConfig?
    if let json = layered.metadata[TaskConfig.metadataKey] {
        let file = weights.last { (try? SafetensorsFile.open($0).metadata[TaskConfig.metadataKey]) != nil } ?? weights.last!
        task = try TaskConfig.decode(json, file: file)
    }
    let head = layered.tensors["head.weight"] ?? layered.tensors["head.1.weight"]
    let headClasses = forTraining ? nil : head?.shape.first
    // The image size the checkpoint's pos_embed was trained for, when --image-size is not given.
    let posTokens = layered.tensors["pos_embed"].map { $0.shape.count == 3 ? $0.shape[1] - 1 : 0 } ?? 0
    let side = Int(Double(posTokens).squareRoot())
    func defaultSize(patch: Int) -> Int? { side > 0 && side * side == posTokens ? side * patch : nil }
    var config: ViTConfig
    if options.arch == nil && options.dim == nil, let t = task {
        config = t.vit
        try options.apply(to: &config, defaultClasses: headClasses ?? t.vit.classes, defaultImageSize: t.vit.imageSize)
    } else if options.arch == nil && options.dim == nil, let layout = try googleLayout(weights) {
        // A Google .npz names its own architecture; flags may still set image size, classes and pooling.
        config = ViTConfig(dim: layout.dim, depth: layout.depth, heads: layout.heads, mlpDim: layout.mlpDim,
                           patch: layout.patchSize)
        try options.apply(to: &config, defaultClasses: headClasses ?? 0, defaultImageSize: defaultSize(patch: layout.patchSize))
    } else {
        config = try options.config(defaultClasses: headClasses ?? 0)
        if options.imageSize == nil, let size = defaultSize(patch: config.patch) {
            config.imageSize = size
            try config.validate()
        }
    }
    let tuning = try options.tuning(base: task?.tuning)
    let sameTask = task.map { $0.tuning.method == tuning.method && $0.vit.classes == config.classes } ?? false
    let freshHead = forTraining && !sameTask
    let modules = forTraining && !sameTask
        ? layered.tensors.filter { !isMethodTensor($0.key) } : layered.tensors
    let model = try TunedViT(backbone: VisionTransformer(config: config, seed: nil), tuning: tuning)
    let report = try model.load(modules, sources: layered.sources, freshHead: freshHead, requireModules: task?.tuning.method == tuning.method)
    if let dropped = report.headDropped, !freshHead { note("note: checkpoint head not used: \(dropped)") }
    model.precision = precision
    return BuiltModel(model: model, task: task)
}

/// Tensors a method adds to a backbone (adapters, LoRA, prompts, the BatchNorm head's buffers).
private func isMethodTensor(_ name: String) -> Bool {
    name.contains(".adapter.") || name.contains(".adaptmlp.") || name.contains(".houlsby.") || name.contains(".lora_")
        || name.hasPrefix("vpt.") || name.hasPrefix("head.0.") || name.hasPrefix("head.1.")
}

/// The layout of the first Google .npz among `paths`, if any.
private func googleLayout(_ paths: [String]) throws -> GoogleViTLayout? {
    for p in paths {
        let info = try Checkpoint.inspect(p)
        if info.format == .googleNPZ { return info.googleLayout }
    }
    return nil
}
