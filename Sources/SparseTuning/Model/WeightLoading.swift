// Loading timm-named tensors into a VisionTransformer: every name and shape checked, pos_embed resampled from
// other grids, a zero head of another class count dropped (Google in21k files), errors naming the tensor and file.

/// What ``VisionTransformer/load(_:sources:ignoreHead:)`` did besides copying tensors.
public struct LoadReport: Sendable {
    /// Tensors copied into the model.
    public var loaded: [String] = []
    /// Set when the checkpoint's position embedding was trained for a different patch grid.
    public var posEmbedGrid: (h: Int, w: Int)?
    /// Why the checkpoint's head was not used, if it was not.
    public var headDropped: String?
}

extension VisionTransformer {
    /// Copies `tensors` (timm names) into the model.
    ///
    /// - Parameters:
    ///   - sources: file each tensor came from, used in error messages.
    ///   - ignoreHead: skip `head.*` entirely (a backbone file when training a new head).
    /// - Throws: ``SparseTuningError`` naming the tensor (and file) for an unknown name, a missing tensor or a
    ///   wrong shape.
    @discardableResult
    public func load(_ tensors: [String: Tensor], sources: [String: String] = [:], ignoreHead: Bool = false) throws -> LoadReport {
        var report = LoadReport()
        var pending = tensors
        func origin(_ name: String) -> String { sources[name].map { " in \($0)" } ?? "" }

        // Head: drop when asked, or when it is the all-zero head of a different class count (Google in21k files).
        if ignoreHead || (pending["head.weight"].map { $0.shape != [config.classes, config.dim] && isZero($0) } ?? false) {
            if pending["head.weight"] != nil || pending["head.bias"] != nil {
                report.headDropped = ignoreHead ? "ignored on request"
                    : "the checkpoint's all-zero head has \(pending["head.weight"]!.shape[0]) classes, the model \(config.classes)"
            }
            pending["head.weight"] = nil
            pending["head.bias"] = nil
        }
        // timm's average pooling may normalise after pooling (`fc_norm`) instead of before (`norm`): the names decide.
        if config.pool == .avg, pending["fc_norm.weight"] != nil, pending["norm.weight"] == nil {
            setNormAfterPooling(true)
        }

        for p in parameters() {
            guard let t = pending.removeValue(forKey: p.name) else {
                if p.name.hasPrefix("head.") && (ignoreHead || report.headDropped != nil) { continue }
                throw SparseTuningError("missing tensor '\(p.name)' (expected shape \(p.shape)) in the weights"
                    + (sources.isEmpty ? "" : " (\(Set(sources.values).sorted().joined(separator: ", ")))"))
            }
            if p.name == "pos_embed" {
                try loadPositionEmbedding(t, origin: origin(p.name))
                report.posEmbedGrid = posEmbedGrid
            } else {
                guard t.shape == p.shape else {
                    let hint = p.name.hasPrefix("head.") ? "; pass --classes \(t.shape[0]) to use this head" : ""
                    throw SparseTuningError("tensor '\(p.name)'\(origin(p.name)) has shape \(t.shape), expected \(p.shape)\(hint)")
                }
                p.tensor.data.update(from: t.data, count: t.count)
            }
            report.loaded.append(p.name)
        }
        if let unknown = pending.keys.sorted().first {
            throw SparseTuningError("unknown tensor '\(unknown)'\(origin(unknown)) for this model"
                + (pending.count > 1 ? " (and \(pending.count - 1) more)" : ""))
        }
        for l in linears() { l.weightsChanged() }
        return report
    }

    /// The parameters as a timm state_dict: names and shapes exactly as timm's (copies where the internal shape
    /// differs, e.g. `patch_embed.proj.weight` (C, 3, p, p)), ready for ``Safetensors/write(_:metadata:to:)``.
    public func stateDict() -> [(name: String, tensor: Tensor)] {
        parameters().map { p in
            if p.tensor.shape == p.shape { return (p.name, p.tensor) }
            let t = p.tensor.copy()
            t.reshape(p.shape)
            return (p.name, t)
        }
    }

    private func loadPositionEmbedding(_ t: Tensor, origin: String) throws {
        let c = config.dim
        let side = t.shape.count == 3 ? Int(Double(max(t.shape[1] - 1, 0)).squareRoot().rounded()) : 0
        guard t.shape.count == 3, t.shape[0] == 1, t.shape[2] == c, side > 0, 1 + side * side == t.shape[1] else {
            throw SparseTuningError("tensor 'pos_embed'\(origin) has shape \(t.shape), expected (1, 1 + g², \(c)) for a square patch grid")
        }
        setPositionEmbedding(t.copy(), grid: (side, side))
    }

    /// Every Linear in the model (for re-packing after weights change).
    func linears() -> [Linear] {
        var out = [patchEmbed.proj]
        for b in blocks { out += [b.attn.qkv, b.attn.proj, b.mlp.fc1, b.mlp.fc2] }
        if let head { out.append(head) }
        return out
    }
}

private func isZero(_ t: Tensor) -> Bool {
    for i in 0..<t.count where t.data[i] != 0 { return false }
    return true
}
