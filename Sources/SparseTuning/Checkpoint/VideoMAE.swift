// VideoMAE checkpoints — Hugging Face `transformers` names (`videomae.encoder.layer.N…`, VideoMAEModel or
// VideoMAEForVideoClassification) and the original repository's names (`blocks.N.attn.q_bias`, pretraining files'
// `encoder.` prefix) — mapped to the timm names of the one model class at the load boundary (docs/VIDEO.md,
// "VideoMAE"): q and v biases with a zero k bias become `attn.qkv.bias`, Hugging Face's separate query/key/value
// weights become `attn.qkv.weight`, `gamma_1/2` become timm's layer scales. The sinusoidal position table is not
// stored; the model computes it. Pretraining-only tensors (decoder, mask token) are dropped; a backbone with no final
// norm gets the unit `fc_norm` VideoMAE fine-tuning starts from.
import Foundation

public enum VideoMAE {
    /// Whether tensors of these shapes (name → shape) are a VideoMAE checkpoint in either naming: VideoMAE's names
    /// (q_bias, the `videomae.` prefix, a pretraining `encoder.`) or a tubelet patch projection (C, 3, t, p, p).
    static func isVideoMAE(_ shapes: [String: [Int]]) -> Bool {
        shapes.contains { name, shape in
            name.hasSuffix("attn.q_bias") || name.hasSuffix("attention.attention.q_bias") || name.hasPrefix("videomae.")
                || name == "encoder.patch_embed.proj.weight"
                || (name.hasSuffix("patch_embeddings.projection.weight") && shape.count == 5)
        }
    }

    /// `tensors` under timm names (unchanged when they are not VideoMAE's).
    /// - Throws: ``SparseTuningError`` naming `file` when q_bias and v_bias do not come in pairs of the block's width.
    static func timmStateDict(_ tensors: [String: Tensor], file: String) throws -> [String: Tensor] {
        guard isVideoMAE(tensors.mapValues(\.shape)) else { return tensors }
        var renamed: [String: Tensor] = [:]
        for (name, t) in tensors {
            guard let n = timmName(name) else { continue }
            renamed[n] = t
        }
        // Hugging Face: query, key, value (C, C) → qkv (3C, C).
        var l = 0
        while let q = renamed.removeValue(forKey: "blocks.\(l).attn.query.weight") {
            guard let k = renamed.removeValue(forKey: "blocks.\(l).attn.key.weight"),
                  let v = renamed.removeValue(forKey: "blocks.\(l).attn.value.weight"), q.shape == k.shape, q.shape == v.shape else {
                throw SparseTuningError("\(file): layer \(l) needs query, key and value weights of one shape")
            }
            renamed["blocks.\(l).attn.qkv.weight"] = concatenated([q, k, v], shape: [3 * q.shape[0]] + Array(q.shape.dropFirst()))
            l += 1
        }
        // q_bias, v_bias (C) → qkv.bias (3C) with a zero k bias.
        for name in renamed.keys.filter({ $0.hasSuffix(".attn.q_bias") }).sorted() {
            let block = String(name.dropLast("q_bias".count))
            guard let q = renamed.removeValue(forKey: name), let v = renamed.removeValue(forKey: block + "v_bias"),
                  q.shape.count == 1, q.shape == v.shape else {
                throw SparseTuningError("\(file): tensor '\(name)' needs a v_bias of the same shape beside it")
            }
            renamed[block + "qkv.bias"] = concatenated([q, Tensor(zeros: q.shape), v], shape: [3 * q.shape[0]])
        }
        // A backbone without any final norm (transformers' VideoMAEModel, a pretraining encoder): the fresh fc_norm of
        // VideoMAE fine-tuning (weight 1, bias 0) after its mean pooling.
        if renamed["norm.weight"] == nil && renamed["fc_norm.weight"] == nil, let pe = renamed["patch_embed.proj.weight"] {
            let c = pe.shape[0]
            renamed["fc_norm.weight"] = Tensor(shape: [c], values: [Float](repeating: 1, count: c))
            renamed["fc_norm.bias"] = Tensor(zeros: [c])
        }
        // A model without q/v biases (qkv_bias false): zero qkv biases, which is exact.
        for name in renamed.keys.filter({ $0.hasSuffix(".attn.qkv.weight") }) {
            let bias = String(name.dropLast("weight".count)) + "bias"
            if renamed[bias] == nil { renamed[bias] = Tensor(zeros: [renamed[name]!.shape[0]]) }
        }
        return renamed
    }

    /// The shapes `timmStateDict` gives for a file's shapes (what `inspect` and architecture inference read).
    static func timmShapes(_ shapes: [String: [Int]]) -> [String: [Int]] {
        guard isVideoMAE(shapes) else { return shapes }
        var out: [String: [Int]] = [:]
        for (name, shape) in shapes { if let n = timmName(name) { out[n] = shape } }
        for name in out.keys.filter({ $0.hasSuffix(".attn.query.weight") }) {
            let block = String(name.dropLast("query.weight".count))
            if let q = out[name] { out[block + "qkv.weight"] = [3 * q[0]] + Array(q.dropFirst()) }
            for p in ["query", "key", "value"] { out[block + p + ".weight"] = nil }
        }
        if out["norm.weight"] == nil && out["fc_norm.weight"] == nil, let pe = out["patch_embed.proj.weight"] {
            out["fc_norm.weight"] = [pe[0]]
            out["fc_norm.bias"] = [pe[0]]
        }
        for name in out.keys.filter({ $0.hasSuffix(".attn.q_bias") }) {
            let block = String(name.dropLast("q_bias".count))
            if let q = out[name], q.count == 1 { out[block + "qkv.bias"] = [3 * q[0]] }
            out[name] = nil
            out[block + "v_bias"] = nil
        }
        return out
    }

    /// The timm name of a VideoMAE tensor, or nil for a pretraining-only tensor that is dropped.
    private static func timmName(_ name: String) -> String? {
        var n = name
        if n.hasPrefix("decoder.") || n.hasPrefix("encoder_to_decoder.") || n == "mask_token" { return nil }
        if n.hasPrefix("encoder.") && !n.hasPrefix("encoder.layer.") { n.removeFirst("encoder.".count) }  // original pretraining
        if n.hasPrefix("videomae.") { n.removeFirst("videomae.".count) }
        let replacements: [(String, String)] = [
            ("embeddings.patch_embeddings.projection.", "patch_embed.proj."),
            ("encoder.layer.", "blocks."),
            (".attention.attention.query.", ".attn.query."), (".attention.attention.key.", ".attn.key."),
            (".attention.attention.value.", ".attn.value."),
            (".attention.attention.q_bias", ".attn.q_bias"), (".attention.attention.v_bias", ".attn.v_bias"),
            // transformers ≥ 5 in memory: the same biases as query.bias / value.bias (no key bias)
            (".attention.attention.query.bias", ".attn.q_bias"), (".attention.attention.value.bias", ".attn.v_bias"),
            (".attention.output.dense.", ".attn.proj."),
            (".layernorm_before.", ".norm1."), (".layernorm_after.", ".norm2."),
            (".intermediate.dense.", ".mlp.fc1."), (".output.dense.", ".mlp.fc2."),
            (".gamma_1", ".ls1.gamma"), (".gamma_2", ".ls2.gamma"),
        ]
        for (from, to) in replacements { n = n.replacingOccurrences(of: from, with: to) }
        if n.hasPrefix("layernorm.") { n = "norm." + n.dropFirst("layernorm.".count) }
        if n.hasPrefix("classifier.") { n = "head." + n.dropFirst("classifier.".count) }
        return n
    }

    /// The architecture a transformers VideoMAE `config.json` beside the weights at `path` states (model_type
    /// "videomae"), or nil when there is none (or it describes another model).
    /// - Throws: ``SparseTuningError`` naming the file for a malformed VideoMAE config or an unsupported setting.
    public static func statedConfig(besideWeights path: String) throws -> (config: ViTConfig, source: String)? {
        let file = HuggingFaceViT.configPath(forWeights: path)
        guard let data = FileManager.default.contents(atPath: file),
              let type = try? JSONCoding.decode(ModelType.self, from: data, source: file), type.modelType == "videomae" else {
            return nil
        }
        let k = try JSONCoding.decode(HuggingFaceConfigFile.self, from: data, source: file)
        func fail(_ m: String) -> SparseTuningError { SparseTuningError("\(file): \(m)") }
        guard k.patchSize.height == k.patchSize.width, k.imageSize.height == k.imageSize.width else {
            throw fail("only square image and patch sizes are supported")
        }
        if let act = k.hiddenAct, act != "gelu" { throw fail("hidden_act is \"\(act)\"; only \"gelu\" is supported") }
        if let ch = k.numChannels, ch != 3 { throw fail("num_channels is \(ch); only RGB is supported") }
        var c = ViTConfig(dim: k.hiddenSize, depth: k.numHiddenLayers, heads: k.numAttentionHeads, mlpDim: k.intermediateSize,
                          patch: k.patchSize.height, imageSize: k.imageSize.height, classes: 0, pool: .avg)
        c.classToken = false
        c.sinusoidalPositions = true
        c.tubelet = k.tubeletSize ?? 2
        c.frames = k.numFrames ?? 16
        c.eps = Float(k.layerNormEps ?? 1e-12)
        // use_mean_pooling false (pretraining checkpoints): a final LayerNorm over the tokens (`layernorm`), whose mean
        // is the feature here; transformers' own classifier would read the first token instead, which is not supported.
        if k.useMeanPooling == false, let names = try? SafetensorsFile.open(path).names,
           names.contains(where: { $0.hasSuffix("classifier.weight") }) {
            throw fail("use_mean_pooling false with a classifier (it reads the first token) is not supported; VideoMAE "
                + "classifiers pool the mean of the tokens")
        }
        do { try c.validate() } catch let e as SparseTuningError { throw fail(e.message) }
        return (c, file)
    }

    private struct ModelType: Decodable {
        var modelType: String?
        private enum CodingKeys: String, CodingKey { case modelType = "model_type" }
    }

    private static func concatenated(_ parts: [Tensor], shape: [Int]) -> Tensor {
        let out = Tensor(zeros: shape)
        var offset = 0
        for p in parts {
            (out.data + offset).update(from: p.data, count: p.count)
            offset += p.count
        }
        return out
    }
}
