// ExperimentBackbone: a pretrained backbone read once and turned into a fresh model for every (task, method) run
// of an experiment — the frozen weights copied in, the method's modules and a new head initialised.

/// The backbone an experiment fine-tunes: its architecture and its weights, kept in memory so every run starts
/// from the same tensors without re-reading the checkpoint.
public final class ExperimentBackbone: @unchecked Sendable {
    /// The architecture (image size and pooling included); `classes` is replaced per task.
    public let config: ViTConfig
    /// The backbone's weights (timm names); a head and any method tensors (adapters, LoRA, prompts) of the files
    /// read are left out, so a task file can serve as a backbone.
    public let tensors: [String: Tensor]
    /// The file each tensor came from, for error messages.
    public let sources: [String: String]
    /// Linear-layer precision of the models made.
    public var precision: Precision = .fp32

    /// A backbone from tensors already in memory (e.g. `VisionTransformer.stateDict()` of a test model).
    /// - Throws: ``SparseTuningError`` when `config` is invalid.
    public init(config: ViTConfig, tensors: [String: Tensor], sources: [String: String] = [:]) throws {
        try config.validate()
        self.config = config
        self.tensors = tensors.filter { !Self.isTaskTensor($0.key) }
        self.sources = sources
    }

    /// Reads `weights` (safetensors or Google `.npz`, later files replacing earlier tensors of the same name).
    /// - Throws: ``SparseTuningError`` naming the file when one is missing or malformed.
    public convenience init(config: ViTConfig, weights: [String]) throws {
        guard !weights.isEmpty else { throw SparseTuningError("an experiment needs backbone weights (--weights FILE)") }
        let layered = try Checkpoint.loadLayered(weights)
        try self.init(config: config, tensors: layered.tensors, sources: layered.sources)
    }

    /// Whether `name` belongs to a head or to what a method adds to a backbone (docs/METHOD.md §4 names).
    public static func isTaskTensor(_ name: String) -> Bool {
        name.hasPrefix("head.") || name.hasPrefix("vpt.") || name.contains(".adapter.") || name.contains(".adaptmlp.")
            || name.contains(".houlsby.") || name.contains(".lora_")
    }

    /// A new model for a task of `classes` classes adapted by `tuning`: the backbone's weights loaded, then either
    /// `trained` (a task file's tensors: the method's modules and head, which must all be present) or, without
    /// them, the method's modules and a new head (trunc-normal std 0.01) initialised from `seed`
    /// (docs/METHOD.md §3/§4).
    /// - Throws: ``SparseTuningError`` when `tuning` does not fit the architecture or a tensor is missing or
    ///   mis-shaped (naming it and its file).
    public func makeModel(tuning: TuningConfig, classes: Int, seed: UInt64 = 0,
                          trained: [String: Tensor]? = nil) throws -> TunedViT {
        guard classes > 0 else { throw SparseTuningError("a task needs at least one class (got \(classes))") }
        var c = config
        c.classes = classes
        let model = try TunedViT(backbone: VisionTransformer(config: c, seed: nil), tuning: tuning, seed: seed)
        if let trained {
            try model.load(tensors.merging(trained) { _, own in own }, sources: sources, requireModules: true)
        } else {
            try model.load(tensors, sources: sources, freshHead: true, headSeed: seed)
        }
        model.precision = precision
        return model
    }
}
