// Loading timm-named tensors into a VisionTransformer: every name and shape checked, pos_embed resampled from
// other grids, a zero head of another class count dropped (Google in21k files), errors naming the tensor and file.
// Two timm layouts are mapped here, at the load boundary (docs/BACKBONES.md): layer scales (`ls1.gamma`,
// `ls2.gamma`) are folded into `attn.proj` and `mlp.fc2`, and DeiT's `head` + `head_dist` become one (K, 2C) head.

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
        if config.distilled { try combineDistilledHeads(&pending, origin: origin) }
        let layerScales = config.layerScale ? try takeLayerScales(&pending, origin: origin) : [:]

        // Head: drop when asked, or when it is the all-zero head of a different class count (Google in21k files).
        if ignoreHead || (pending["head.weight"].map { $0.shape != [config.classes, config.headWidth] && isZero($0) } ?? false) {
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
        for (name, gamma) in layerScales { foldLayerScale(gamma, into: name) }
        for l in linears() { l.weightsChanged() }
        return report
    }

    /// Replaces timm's `head.*` and `head_dist.*` (K, C) by the combined head (K, 2C) the model runs; a file with
    /// the combined head (written by this library) passes unchanged.
    private func combineDistilledHeads(_ t: inout [String: Tensor], origin: (String) -> String) throws {
        guard let w1 = t["head_dist.weight"] else { return }
        guard let w0 = t["head.weight"], let b0 = t["head.bias"], let b1 = t["head_dist.bias"] else {
            throw SparseTuningError("tensor 'head_dist.weight'\(origin("head_dist.weight")) needs head.weight, head.bias and "
                + "head_dist.bias beside it (DeiT's two heads)")
        }
        let c = config.dim, k = w0.shape.first ?? 0
        guard w0.shape == [k, c], w1.shape == [k, c], b0.shape == [k], b1.shape == [k] else {
            throw SparseTuningError("DeiT heads\(origin("head_dist.weight")): head.weight \(w0.shape), head_dist.weight \(w1.shape), "
                + "head.bias \(b0.shape), head_dist.bias \(b1.shape); expected (K, \(c)) weights and (K) biases")
        }
        let w = Tensor(zeros: [k, 2 * c]), b = Tensor(zeros: [k])  // (K, 2C), (K)
        for r in 0..<k {
            for j in 0..<c {
                w.data[r * 2 * c + j] = 0.5 * w0.data[r * c + j]
                w.data[r * 2 * c + c + j] = 0.5 * w1.data[r * c + j]
            }
            b.data[r] = 0.5 * (b0.data[r] + b1.data[r])
        }
        for name in ["head.weight", "head.bias", "head_dist.weight", "head_dist.bias"] { t[name] = nil }
        t["head.weight"] = w
        t["head.bias"] = b
    }

    /// Removes `blocks.N.ls1.gamma` / `ls2.gamma` (C) from `t`, keyed by the Linear they scale.
    private func takeLayerScales(_ t: inout [String: Tensor], origin: (String) -> String) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for l in 0..<config.depth {
            for (ls, target) in [("ls1", "attn.proj"), ("ls2", "mlp.fc2")] {
                let name = "blocks.\(l).\(ls).gamma"
                guard let g = t.removeValue(forKey: name) else {
                    throw SparseTuningError("missing tensor '\(name)' (expected shape [\(config.dim)]): the model has layer scale")
                }
                guard g.shape == [config.dim] else {
                    throw SparseTuningError("tensor '\(name)'\(origin(name)) has shape \(g.shape), expected [\(config.dim)]")
                }
                out["blocks.\(l).\(target)"] = g
            }
        }
        return out
    }

    /// `W ← diag(γ)·W`, `b ← γ ⊙ b` for the Linear named `name` (γ (C) scales its outputs).
    private func foldLayerScale(_ gamma: Tensor, into name: String) {
        let parts = name.split(separator: ".")
        let blk = blocks[Int(parts[1])!]
        let lin = parts[2] == "attn" ? blk.attn.proj : blk.mlp.fc2
        let cols = lin.inFeatures
        for r in 0..<lin.outFeatures {
            let g = gamma.data[r]
            for j in 0..<cols { lin.weight.data[r * cols + j] *= g }
            lin.bias?.data[r] *= g
        }
    }

    /// The parameters as a timm state_dict: names and shapes exactly as timm's (copies where the internal shape
    /// differs, e.g. `patch_embed.proj.weight` (C, 3, p, p)), ready for ``Safetensors/write(_:metadata:to:)``.
    /// Folded layer scales are written as ones; a distilled model's head as timm's `head` and `head_dist`.
    public func stateDict() -> [(name: String, tensor: Tensor)] {
        var out: [(name: String, tensor: Tensor)] = []
        for p in parameters() {
            if p.name.hasPrefix("head."), config.distilled {
                out += Self.splitDistilledHead(p.name, p.tensor, dim: config.dim)
                continue
            }
            if p.tensor.shape == p.shape { out.append((p.name, p.tensor)); continue }
            let t = p.tensor.copy()
            t.reshape(p.shape)
            out.append((p.name, t))
        }
        return out + unitLayerScales()
    }

    /// `blocks.N.ls1.gamma` and `ls2.gamma` as ones (their values live folded in the Linears), for a layer-scale
    /// model; empty otherwise.
    func unitLayerScales() -> [(name: String, tensor: Tensor)] {
        guard config.layerScale else { return [] }
        return (0..<config.depth).flatMap { l in
            ["ls1", "ls2"].map { ls -> (name: String, tensor: Tensor) in
                let t = Tensor(zeros: [config.dim])  // (C) γ = 1
                t.data.update(repeating: 1, count: config.dim)
                return ("blocks.\(l).\(ls).gamma", t)
            }
        }
    }

    /// The combined head's `head.weight` (K, 2C) or `head.bias` (K) as timm's two heads.
    private static func splitDistilledHead(_ name: String, _ t: Tensor, dim c: Int) -> [(name: String, tensor: Tensor)] {
        let suffix = name.dropFirst("head.".count)
        if suffix == "bias" { return [("head.bias", t.copy()), ("head_dist.bias", t.copy())] }
        let k = t.shape[0]
        let w0 = Tensor(zeros: [k, c]), w1 = Tensor(zeros: [k, c])  // (K, C) each
        for r in 0..<k {
            for j in 0..<c {
                w0.data[r * c + j] = 2 * t.data[r * 2 * c + j]
                w1.data[r * c + j] = 2 * t.data[r * 2 * c + c + j]
            }
        }
        return [("head.weight", w0), ("head_dist.weight", w1)]
    }

    private func loadPositionEmbedding(_ t: Tensor, origin: String) throws {
        let c = config.dim, prefix = config.posEmbedPrefix
        let side = t.shape.count == 3 ? Int(Double(max(t.shape[1] - prefix, 0)).squareRoot().rounded()) : 0
        guard t.shape.count == 3, t.shape[0] == 1, t.shape[2] == c, side > 0, prefix + side * side == t.shape[1] else {
            throw SparseTuningError("tensor 'pos_embed'\(origin) has shape \(t.shape), expected (1, \(prefix) + g², \(c)) for a "
                + "square patch grid after \(prefix) prefix rows")
        }
        setPositionEmbedding(t.copy(), grid: (side, side))
    }

    /// Every Linear in the model (for re-packing after weights change).
    func linears() -> [Linear] {
        var out = [patchEmbed.proj]
        for b in blocks { out += [b.attn.qkv, b.attn.proj, b.mlp.fc1, b.mlp.fc2] }  // norm_pre has no matrix
        if let head { out.append(head) }
        return out
    }
}

private func isZero(_ t: Tensor) -> Bool {
    for i in 0..<t.count where t.data[i] != 0 { return false }
    return true
}
