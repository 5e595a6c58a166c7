// Builds the model a command asked for: the backbone shape from the flags, a task file's metadata, a Google .npz's
// arrays or a Hugging Face ViT's config.json; the method from a task file or the flags; weights layered from --weights.
import Foundation
import SparseTuning

/// A model ready to run, with the task configuration its weights carried (if any).
struct BuiltModel {
    let model: TunedViT
    let task: TaskConfig?
    /// The task file among the weights, if any.
    var taskFile: String? = nil
    /// Class names: the task file's, else a Hugging Face checkpoint's id2label (when its head is used).
    var classNames: [String]? = nil
    /// With `segmentationHead`: the segmentation head's tensors (`decode_head.*`, `neck.*`) set aside, not loaded.
    var headTensors: [String: Tensor] = [:]
}

/// The model described by `options`, with `weights` loaded in order (random initialisation when none are given).
/// `forTraining`: a task file of another method or class count serves as a backbone (its head and modules are
/// not used); one of the same method and classes is continued.
/// `segmentationHead`: a segmentation trunk — the head's tensors are set aside in ``BuiltModel/headTensors``.
func buildModel(_ options: ModelOptions, weights: [String], forTraining: Bool = false, segmentationHead: Bool = false) throws -> BuiltModel {
    try options.applyThreads()
    let precision = try options.parsedPrecision()
    guard !weights.isEmpty else {
        let config = try options.config()
        let model = try TunedViT(backbone: VisionTransformer(config: config), tuning: options.tuning(base: nil))
        model.precision = precision
        return BuiltModel(model: model, task: nil)
    }
    var layered = try Checkpoint.loadLayered(weights)
    var headTensors: [String: Tensor] = [:]
    if segmentationHead {
        for name in layered.tensors.keys where name.hasPrefix("decode_head.") || name.hasPrefix("neck.") {
            headTensors[name] = layered.tensors.removeValue(forKey: name)
        }
    }
    var task: TaskConfig?
    if let file = layered.taskFile, let json = layered.metadata[TaskConfig.metadataKey] {
        task = try TaskConfig.decode(json, file: file)
    }
    if let t = task, let file = layered.taskFile, !forTraining { try checkFlags(options, against: t, file: file) }
    let head = layered.tensors["head.weight"] ?? layered.tensors["head.1.weight"]
    let headClasses = forTraining ? nil : head?.shape.first
    // The image size the checkpoint's pos_embed was trained for, when --image-size is not given.
    let posTokens = layered.tensors["pos_embed"].map { $0.shape.count == 3 ? $0.shape[1] - 1 : 0 } ?? 0
    let side = Int(Double(posTokens).squareRoot())
    func defaultSize(patch: Int) -> Int? { side > 0 && side * side == posTokens ? side * patch : nil }
    let huggingFace = try huggingFaceConfig(weights)
    if let hf = huggingFace { try checkFlags(options, against: StatedArchitecture(huggingFace: hf.config)) }
    let google = try googleLayout(weights)
    if let g = google, task == nil { try checkFlags(options, against: StatedArchitecture(google: g.layout, file: g.path)) }
    if task == nil, huggingFace == nil, google == nil, options.arch != nil,
       let shapes = try? ViTConfig.inferred(fromShapes: layered.tensors.mapValues(\.shape), heads: 1, source: "") {
        try checkFlags(options, against: StatedArchitecture(timmShapes: shapes.config, file: weights.joined(separator: ", ")))
    }
    var config: ViTConfig
    if options.arch == nil && options.dim == nil, let t = task {
        config = t.vit
        try options.apply(to: &config, defaultClasses: headClasses ?? t.vit.classes, defaultImageSize: t.vit.imageSize)
    } else if options.arch == nil && options.dim == nil, let layout = google?.layout {
        // A Google .npz names its own architecture; flags may still set image size, classes and pooling.
        config = ViTConfig(dim: layout.dim, depth: layout.depth, heads: layout.heads, mlpDim: layout.mlpDim,
                           patch: layout.patchSize)
        try options.apply(to: &config, defaultClasses: headClasses ?? 0, defaultImageSize: defaultSize(patch: layout.patchSize))
    } else if task == nil, let hf = huggingFace?.config {
        // A Hugging Face ViT's config.json names its architecture (flags that disagree were refused above);
        // flags may still set image size, classes and pooling.
        config = hf.vitConfig(classes: 0)
        try options.apply(to: &config, defaultClasses: headClasses ?? 0, defaultImageSize: hf.imageSize)
    } else if options.arch == nil && options.dim == nil, task == nil, layered.tensors["patch_embed.proj.weight"] != nil {
        // A timm checkpoint: the architecture from its tensors, heads/epsilon/activation from a timm config.json
        // beside it (or timm's conventions); flags fill in what neither says and must agree with what they say.
        config = try inferredArchitecture(options, layered.tensors, weights: weights)
        try options.apply(to: &config, defaultClasses: headClasses ?? 0, defaultImageSize: config.imageSize)
    } else {
        config = try options.config(defaultClasses: headClasses ?? 0)
        if options.imageSize == nil, let size = defaultSize(patch: config.patch) {
            config.imageSize = size
            try config.validate()
        }
    }
    if let hf = huggingFace?.config { config.eps = hf.eps }
    let tuning = try options.tuning(base: task?.tuning)
    let sameTask = task.map { $0.tuning.method == tuning.method && $0.vit.classes == config.classes } ?? false
    let freshHead = forTraining && !sameTask
    let modules = forTraining && !sameTask
        ? layered.tensors.filter { !isMethodTensor($0.key) } : layered.tensors
    let model = try TunedViT(backbone: VisionTransformer(config: config, seed: nil), tuning: tuning)
    let report = try model.load(modules, sources: layered.sources, freshHead: freshHead, requireModules: task?.tuning.method == tuning.method)
    if let dropped = report.headDropped, !freshHead { note("note: checkpoint head not used: \(dropped)") }
    if let hf = huggingFace, hf.hasPooler {
        note("note: \(hf.path): the ViTModel pooler (pooler.dense.*) is ignored; features are the final-normed class token")
    }
    if let t = task, let file = layered.taskFile, !forTraining, t.tuning.method == tuning.method,
       config.imageSize == t.vit.imageSize, let expected = t.backboneFingerprint, let actual = model.backboneFingerprint, expected != actual {
        let backbones = weights.filter { (try? Checkpoint.resolve($0)) != file }.joined(separator: ", ")
        let message = "task file \(file) was trained on backbone \(expected), but the backbone given (\(backbones.isEmpty ? "none" : backbones)) "
            + "is \(actual)"
        guard options.ignoreBackboneMismatch else {
            throw SparseTuningError(message + "; give the backbone it was trained on, or --ignore-backbone-mismatch to use it anyway")
        }
        note("note: " + message + " (--ignore-backbone-mismatch)")
    }
    model.precision = precision
    var names = segmentationHead ? nil : task?.classNames  // a segmentation task's classes are its head's
    if let n = names, n.count != config.classes {
        guard forTraining else {
            throw SparseTuningError("task file \(layered.taskFile ?? "?") names \(n.count) classes, but the model's head has "
                + "\(config.classes) outputs")
        }
        names = nil
    }
    if names == nil, let hfNames = huggingFace?.config.classNames, hfNames.count == config.classes,
       layered.sources["head.weight"] == huggingFace?.path {
        names = hfNames
    }
    return BuiltModel(model: model, task: task, taskFile: layered.taskFile, classNames: names, headTensors: headTensors)
}

/// The architecture of timm-named `tensors`: shapes, a timm config.json beside one of `weights` (whose statements
/// flags may not contradict), and `--heads` / `--act` where nothing states them.
private func inferredArchitecture(_ options: ModelOptions, _ tensors: [String: Tensor], weights: [String]) throws -> ViTConfig {
    var timmConfig: TimmConfigFile?
    for w in weights where timmConfig == nil { timmConfig = try TimmConfigFile.beside(Checkpoint.resolve(w)) }
    var stated = try timmConfig.map { (config: try $0.statedConfig(), source: $0.path) }
    for w in weights where stated == nil { stated = try VideoMAE.statedConfig(besideWeights: Checkpoint.resolve(w)) }
    let source = weights.count == 1 ? weights[0] : "the weights (\(weights.joined(separator: ", ")))"
    if let h = options.heads, let s = stated, s.config.heads != h {
        throw SparseTuningError("--heads \(h) disagrees with \(s.source), which states \(s.config.heads) (drop the flag)")
    }
    var inferred = try ViTConfig.inferred(fromShapes: tensors.mapValues(\.shape), stated: stated,
                                          heads: stated == nil ? options.heads : nil, source: source)
    let c = inferred.config
    let given: [(flag: String, value: Int?, actual: Int)] = [("--depth", options.depth, c.depth), ("--mlp", options.mlp, c.mlpDim),
                                                             ("--patch", options.patch, c.patch)]
    if let bad = given.first(where: { $0.value != nil && $0.value != $0.actual }) {
        throw SparseTuningError("\(bad.flag) \(bad.value!) disagrees with \(source): its tensors have \(bad.actual) (drop the flag)")
    }
    if let a = options.act, let s = stated, try options.parsedActivation(a) != s.config.activation {
        throw SparseTuningError("--act \(a) disagrees with \(s.source), which states \(s.config.activation.rawValue) (drop the flag)")
    }
    if options.act != nil { inferred.notes.removeAll { $0.contains("GELU assumed") } }
    for n in inferred.notes { note("note: \(source): \(n)") }
    return c
}

/// Refuses flags that contradict a task file being served (predict, eval, …): another architecture, class count or
/// method would not be the task that was trained.
private func checkFlags(_ options: ModelOptions, against task: TaskConfig, file: String) throws {
    let v = task.vit
    var given: [(flag: String, value: Int, task: Int)] = []
    if let arch = options.arch, let p = ViTConfig.preset(arch) {
        given += [("--arch \(arch): dim", p.dim, v.dim), ("--arch \(arch): depth", p.depth, v.depth),
                  ("--arch \(arch): heads", p.heads, v.heads), ("--arch \(arch): mlp", p.mlpDim, v.mlpDim),
                  ("--arch \(arch): patch", p.patch, v.patch)]
    }
    if let x = options.dim { given.append(("--dim", x, v.dim)) }
    if let x = options.depth { given.append(("--depth", x, v.depth)) }
    if let x = options.heads { given.append(("--heads", x, v.heads)) }
    if let x = options.mlp { given.append(("--mlp", x, v.mlpDim)) }
    if let x = options.patch { given.append(("--patch", x, v.patch)) }
    if let x = options.classes { given.append(("--classes", x, v.classes)) }
    if let bad = given.first(where: { $0.value != $0.task }) {
        throw SparseTuningError("\(bad.flag) \(bad.value) disagrees with task file \(file), trained with \(bad.task) "
            + "(a task's architecture and classes are fixed; drop the flag)")
    }
    if let m = options.method, m != task.tuning.method.rawValue, TuningMethod(rawValue: m) != nil {
        throw SparseTuningError("--method \(m) disagrees with task file \(file), trained with method "
            + "\(task.tuning.method.rawValue) (drop --method to use the task's)")
    }
}

/// Tensors a method adds to a backbone (adapters, LoRA, prompts, the BatchNorm head's buffers).
private func isMethodTensor(_ name: String) -> Bool {
    name.contains(".adapter.") || name.contains(".adaptmlp.") || name.contains(".houlsby.") || name.contains(".lora_")
        || name.hasPrefix("vpt.") || name.hasPrefix("head.0.") || name.hasPrefix("head.1.")
}

/// The config.json of the first Hugging Face ViT among `paths` (resolved weights file), if any, and whether its
/// file has a ViTModel pooler.
private func huggingFaceConfig(_ paths: [String]) throws -> (path: String, config: HuggingFaceViTConfig, hasPooler: Bool)? {
    for p in paths {
        let info = try Checkpoint.inspect(p)
        guard info.format == .huggingFaceViT else { continue }
        guard let config = info.huggingFace else { throw SparseTuningError(info.mappingProblem ?? "\(p): no config.json") }
        return (info.path, config, info.rows.contains { $0.name.hasPrefix("pooler.") || $0.name.hasPrefix("vit.pooler.") })
    }
    return nil
}

/// The architecture a checkpoint states by itself (a Hugging Face config.json, a Google .npz's arrays): its values
/// for dim, depth, heads, mlp and patch, and what the file calls each of them.
private struct StatedArchitecture {
    let file: String
    let values: [Int]   // dim, depth, heads, mlp, patch
    let names: [String]
    let source: String  // "its config.json", …

    init(huggingFace c: HuggingFaceViTConfig) {
        file = c.file
        values = [c.dim, c.depth, c.heads, c.mlpDim, c.patchSize]
        names = ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "patch_size"]
        source = "the architecture of a Hugging Face ViT comes from its config.json"
    }

    /// What a timm checkpoint's tensor shapes say (heads are not among them: -1, never compared).
    init(timmShapes c: ViTConfig, file: String) {
        self.file = file
        values = [c.dim, c.depth, -1, c.mlpDim, c.patch]
        names = ["the width (patch_embed.proj.weight)", "the number of blocks", "the heads", "the MLP width (fc1)",
                 "the patch size (patch_embed.proj.weight)"]
        source = "a timm checkpoint's tensor shapes give its sizes"
    }

    init(google l: GoogleViTLayout, file: String) {
        self.file = file
        values = [l.dim, l.depth, l.heads, l.mlpDim, l.patchSize]
        names = ["the embedding width", "the number of encoder blocks", "the attention heads", "the MLP width",
                 "the patch size"]
        source = "a Google .npz's arrays give its architecture"
    }
}

/// Refuses architecture flags (`--arch` or `--dim/--depth/--heads/--mlp/--patch`) that disagree with what the
/// checkpoint states; agreeing flags are accepted.
private func checkFlags(_ options: ModelOptions, against stated: StatedArchitecture) throws {
    if options.arch != nil { _ = try options.config() }  // an unknown preset or --arch with --dim is refused as usual
    let flags = ["--dim", "--depth", "--heads", "--mlp", "--patch"]
    var given: [(flag: String, value: Int, index: Int)] = []
    if let arch = options.arch, let p = ViTConfig.preset(arch) {
        let preset = [p.dim, p.depth, p.heads, p.mlpDim, p.patch]
        given += zip(["dim", "depth", "heads", "mlp", "patch"], preset).enumerated().map { ("--arch \(arch): \($1.0)", $1.1, $0) }
    }
    for (i, v) in [options.dim, options.depth, options.heads, options.mlp, options.patch].enumerated() {
        if let v { given.append((flags[i], v, i)) }
    }
    if let bad = given.first(where: { stated.values[$0.index] >= 0 && $0.value != stated.values[$0.index] }) {
        throw SparseTuningError("\(bad.flag) \(bad.value) disagrees with \(stated.file): \(stated.names[bad.index]) is "
            + "\(stated.values[bad.index]) (\(stated.source); drop the flag)")
    }
}

/// The layout of the first Google .npz among `paths`, if any, with its path.
private func googleLayout(_ paths: [String]) throws -> (path: String, layout: GoogleViTLayout)? {
    for p in paths {
        let info = try Checkpoint.inspect(p)
        if info.format == .googleNPZ, let layout = info.googleLayout { return (p, layout) }
    }
    return nil
}

extension BuiltModel {
    /// The preprocessing to serve this model with: each of `resize` (squash or crop), `cropPct` and `norm` given
    /// on the command line wins; otherwise the task file's preprocessing (what it was evaluated with during
    /// training), else `defaultMode` and inception. `--crop-pct` alone means crop. The size is the model's input.
    func preprocessor(resize: String?, cropPct: Float?, norm: String?, defaultMode: ResizeMode) throws -> ImagePreprocessor {
        let file = taskFile ?? "task file"
        let stored = try task?.preprocessing.map { try $0.resizeMode(file: file) }
        var mode = stored ?? defaultMode
        if let cropPct {
            guard cropPct > 0, cropPct <= 1 else { throw SparseTuningError("--crop-pct must be in (0, 1] (got \(cropPct))") }
        }
        switch resize {
        case nil:
            if let cropPct { mode = .shortSideCrop(cropPct: cropPct) }
        case "squash"?: mode = .squash
        case "crop"?:
            if let cropPct { mode = .shortSideCrop(cropPct: cropPct) }
            else if case .shortSideCrop = mode {} else { mode = .shortSideCrop(cropPct: 0.9) }
        default: throw SparseTuningError("--resize '\(resize!)' is not valid; expected crop or squash")
        }
        let normalization = try resolveNormalization(flag: norm, task: task, file: file, fallback: .inception)
        return ImagePreprocessor(size: model.config.imageSize, mode: mode, normalization: normalization)
    }
}
