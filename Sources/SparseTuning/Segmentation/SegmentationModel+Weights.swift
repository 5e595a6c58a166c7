// Segmentation task files: the method's tensors (adapters …) and the head's under mmseg's names (`decode_head.*`,
// `neck.*`), with the TaskConfig's `segmentation` settings in the metadata; loading splits a layered checkpoint into
// the trunk's tensors and the head's (a backbone's classification head is not used).

extension SegmentationModel {
    /// The tensors a segmentation task file stores: the trunk's task tensors, then the head's (with its buffers).
    public func taskStateDict() -> [(name: String, tensor: Tensor)] {
        trunk.taskStateDict() + headParameters.map { ($0.name, $0.value) } + headBuffers
    }

    /// Head tensors that are saved but not trained (BatchNorm running statistics).
    var headBuffers: [(name: String, tensor: Tensor)] { uperHead?.buffers() ?? [] }

    /// Copies `tensors` in: `decode_head.*`/`neck.*` into the head (all required when `requireHead`: a task file), a
    /// classification `head.*` dropped, the rest into the trunk (the method's tensors required with `requireModules`).
    /// - Throws: ``SparseTuningError`` naming the tensor (and file) that is missing, unknown or mis-shaped.
    public func load(_ tensors: [String: Tensor], sources: [String: String] = [:], requireHead: Bool,
                     requireModules: Bool) throws {
        var trunkTensors: [String: Tensor] = [:], headTensors: [String: Tensor] = [:]
        for (name, t) in tensors {
            if name.hasPrefix("decode_head.") || name.hasPrefix("neck.") || name.hasPrefix("auxiliary_head.") {
                headTensors[name] = t
            } else if !(name.hasPrefix("head.") || name.hasPrefix("head_dist.")) {
                trunkTensors[name] = t
            }
        }
        try trunk.load(trunkTensors, sources: sources, requireModules: requireModules)
        try loadHead(headTensors, sources: sources, required: requireHead)
    }

    /// Copies the head's tensors (`decode_head.*`, `neck.*`) in; with `required` (a task file) every head tensor
    /// must be present and nothing else may be.
    public func loadHead(_ tensors: [String: Tensor], sources: [String: String] = [:], required: Bool) throws {
        var headTensors = tensors
        let requireHead = required
        func origin(_ n: String) -> String { sources[n].map { " in \($0)" } ?? "" }
        for (name, dst) in headParameters.map({ ($0.name, $0.value) }) + headBuffers {
            guard let t = headTensors.removeValue(forKey: name) else {
                if requireHead { throw SparseTuningError("missing tensor '\(name)' (expected shape \(dst.shape)) for the \(settings.head.rawValue) head") }
                continue
            }
            guard t.shape == dst.shape else {
                throw SparseTuningError("tensor '\(name)'\(origin(name)) has shape \(t.shape), expected \(dst.shape)"
                    + (name.hasSuffix("conv_seg.weight") ? " (another class count)" : ""))
            }
            dst.data.update(from: t.data, count: t.count)
        }
        if requireHead, let extra = headTensors.keys.sorted().first {
            throw SparseTuningError("unknown tensor '\(extra)'\(origin(extra)) for the \(settings.head.rawValue) head")
        }
        headParametersUpdated()
    }

    /// Call after changing head tensors in place (optimiser step, loading).
    public func headParametersUpdated() {
        linearHead?.classifier.weightsChanged()
    }
}

extension SegmentationModel {
    /// fvcore-convention FLOPs of one `size`×`size` image: the trunk at the token counts its sparsification leaves
    /// (docs/METHOD.md §9) plus the head (per-token LayerNorm and classifier for `linear`).
    public func flops(imageSize size: Int) -> (trunk: FLOPReport, head: Int) {
        var cfg = trunk.config
        cfg.imageSize = size
        let report = FLOPCounter.count(cfg, tuning: trunk.tuning)
        let g = (size / cfg.patch) * (size / cfg.patch), c = cfg.dim
        let head = linearHead.map { 5 * g * c + g * c * $0.classes } ?? uperHead!.flops(h: size / cfg.patch, w: size / cfg.patch)
        return (report, head)
    }
}
