// Hugging Face `transformers` ViT checkpoints (`ViTModel`, `ViTForImageClassification`: model.safetensors +
// config.json from save_pretrained) mapped to timm's state_dict at the load boundary, as timm's
// `checkpoint_filter_fn` would: one renaming (q, k, v concatenated into qkv), no model of their own.
// docs/METHOD.md §7 "Hugging Face transformers ViT".
import Foundation

/// The architecture of a Hugging Face ViT checkpoint, read from its `config.json` (and checked against its tensors).
public struct HuggingFaceViTConfig: Sendable, Equatable {
    /// The config.json it was read from.
    public let file: String
    /// `architectures[0]` (e.g. `ViTForImageClassification`), when given.
    public let architecture: String?
    /// `hidden_size` (C).
    public let dim: Int
    /// `num_hidden_layers`.
    public let depth: Int
    /// `num_attention_heads`.
    public let heads: Int
    /// `intermediate_size` (MLP width).
    public let mlpDim: Int
    /// `patch_size`.
    public let patchSize: Int
    /// `image_size` (the size the position embeddings were trained for).
    public let imageSize: Int
    /// `layer_norm_eps` (transformers' default 1e-12).
    public let eps: Float
    /// `qkv_bias` (default true). Without biases the loader fills `attn.qkv.bias` with zeros, which is exact.
    public let qkvBias: Bool
    /// Class names from `id2label` in label order, when the config has them.
    public let classNames: [String]?

    /// Reads and validates `config.json` at `path`.
    /// - Throws: ``SparseTuningError`` naming the file for a missing or mistyped key, a `hidden_act` other than
    ///   "gelu", `num_channels` other than 3, a non-square image or patch, or a `model_type` other than "vit".
    public static func read(path: String) throws -> HuggingFaceViTConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SparseTuningError("\(path): no such file (a Hugging Face ViT checkpoint needs its config.json "
                + "beside model.safetensors)")
        }
        return try parse(data, file: path)
    }

    /// Parses the text of a `config.json`; `file` names it in errors. Keys other than the architecture's are ignored.
    public static func parse(_ data: Data, file: String) throws -> HuggingFaceViTConfig {
        func failure(_ message: String) -> SparseTuningError { SparseTuningError("\(file): \(message)") }
        let keys = try JSONCoding.decode(HuggingFaceConfigFile.self, from: data, source: file)
        if let type = keys.modelType, type != "vit" {
            throw failure("model_type is \"\(type)\", expected \"vit\" (a transformers ViT)")
        }
        let dim = keys.hiddenSize, heads = keys.numAttentionHeads
        func square(_ size: HuggingFaceConfigFile.SquareSize, _ key: String) throws -> Int {
            guard size.height == size.width else {
                throw failure("key '\(key)' is \(size.height)×\(size.width); only square sizes are supported")
            }
            return size.height
        }
        let patch = try square(keys.patchSize, "patch_size"), image = try square(keys.imageSize, "image_size")
        guard dim % heads == 0 else {
            throw failure("hidden_size \(dim) is not divisible by num_attention_heads \(heads)")
        }
        guard image % patch == 0 else { throw failure("image_size \(image) is not a multiple of patch_size \(patch)") }
        if let channels = keys.numChannels, channels != 3 {
            throw failure("num_channels is \(channels); only 3-channel (RGB) ViTs are supported")
        }
        if let act = keys.hiddenAct, act != "gelu" {
            throw failure("hidden_act is \"\(act)\"; only \"gelu\" (exact erf GELU, as timm's ViT) is supported")
        }
        var classNames: [String]?
        if let labels = keys.id2label {
            var names = [String?](repeating: nil, count: labels.count)
            for (index, name) in labels {
                guard let i = Int(index), i >= 0, i < labels.count, names[i] == nil else {
                    throw failure("id2label must map \"0\"…\"\(labels.count - 1)\" to names, found \"\(index)\"")
                }
                names[i] = name
            }
            classNames = names.map { $0! }
        }
        if let count = keys.numLabels, let names = classNames, count != names.count {
            throw failure("num_labels \(count) disagrees with id2label's \(names.count) names")
        }
        return HuggingFaceViTConfig(file: file, architecture: keys.architectures?.first, dim: dim,
                                    depth: keys.numHiddenLayers, heads: heads, mlpDim: keys.intermediateSize,
                                    patchSize: patch, imageSize: image, eps: Float(keys.layerNormEps ?? 1e-12),
                                    qkvBias: keys.qkvBias ?? true, classNames: classNames)
    }

    /// The timm configuration: this shape, eps and image size, with `classes` head outputs (0: features).
    public func vitConfig(classes: Int) -> ViTConfig {
        var c = ViTConfig(dim: dim, depth: depth, heads: heads, mlpDim: mlpDim, patch: patchSize, imageSize: imageSize,
                          classes: classes)
        c.eps = eps
        return c
    }
}

/// Mapping of Hugging Face `transformers` ViT tensors to timm parameter names.
public enum HuggingFaceViT {
    /// The tensor whose name marks a transformers ViT (with or without the `vit.` prefix).
    static let marker = "embeddings.patch_embeddings.projection.weight"

    /// Whether tensor `names` are those of a transformers ViT (`vit.embeddings.…` or `embeddings.…`).
    public static func isHuggingFaceViT<Names: Sequence<String>>(_ names: Names) -> Bool {
        names.contains { $0 == marker || $0 == "vit." + marker }
    }

    /// The config.json that belongs to the weights file `path`: the one in the same directory.
    public static func configPath(forWeights path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "config.json" }
        return String(path[...slash]) + "config.json"
    }

    /// Tensors the loader ignores: the `ViTModel` pooler (Linear + tanh on the class token; timm's ViT has none,
    /// and features here are the final-normed class token, `last_hidden_state[:, 0]`) and a masked-image-modelling
    /// `mask_token`.
    public static func isIgnored(_ name: String) -> Bool {
        let bare = name.hasPrefix("vit.") ? String(name.dropFirst(4)) : name
        return bare.hasPrefix("pooler.") || bare == "embeddings.mask_token"
    }

    /// The timm state_dict of a transformers ViT: every tensor checked against `config` (names and shapes);
    /// `classifier.*` becomes `head.*`; the pooler is ignored (see ``isIgnored(_:)``).
    /// - Throws: ``SparseTuningError`` naming `file` and the missing, unknown or wrongly shaped tensors, with the
    ///   config.json keys that fix the expected shape.
    public static func timmStateDict(_ tensors: [String: Tensor], config: HuggingFaceViTConfig,
                                     file: String) throws -> [String: Tensor] {
        func failure(_ message: String) -> SparseTuningError { SparseTuningError("\(file): \(message)") }
        let prefix = tensors["vit." + marker] != nil ? "vit." : ""
        let (c, m, p) = (config.dim, config.mlpDim, config.patchSize)
        let tokens = 1 + (config.imageSize / p) * (config.imageSize / p)
        let configName = "config.json (\(config.file))"

        // Depth first: a layer count that disagrees is clearer than a list of missing tensors.
        let layerPrefix = prefix + "encoder.layer."
        let layers = Set(tensors.keys.compactMap { name -> Int? in
            guard name.hasPrefix(layerPrefix) else { return nil }
            return Int(name.dropFirst(layerPrefix.count).prefix { $0 != "." })
        })
        if layers != Set(0..<config.depth) {
            throw failure("has encoder layers \(layers.sorted().map(String.init).joined(separator: ", ")), but "
                + "\(configName) says num_hidden_layers \(config.depth)")
        }
        let classes = tensors["classifier.weight"].flatMap { $0.shape.count == 2 ? $0.shape[0] : nil }

        // (HF name, expected shape, what in config.json fixes it)
        var expected: [(String, [Int], String)] = [
            ("embeddings.cls_token", [1, 1, c], "hidden_size \(c)"),
            ("embeddings.position_embeddings", [1, tokens, c],
             "image_size \(config.imageSize), patch_size \(p), hidden_size \(c)"),
            ("embeddings.patch_embeddings.projection.weight", [c, 3, p, p], "hidden_size \(c), patch_size \(p)"),
            ("embeddings.patch_embeddings.projection.bias", [c], "hidden_size \(c)"),
            ("layernorm.weight", [c], "hidden_size \(c)"), ("layernorm.bias", [c], "hidden_size \(c)"),
        ]
        for l in 0..<config.depth {
            let h = "encoder.layer.\(l)."
            let cc = "hidden_size \(c)", cm = "hidden_size \(c), intermediate_size \(m)"
            for qkv in ["query", "key", "value"] {
                expected.append((h + "attention.attention.\(qkv).weight", [c, c], cc))
                if config.qkvBias { expected.append((h + "attention.attention.\(qkv).bias", [c], cc + ", qkv_bias true")) }
            }
            expected += [
                (h + "attention.output.dense.weight", [c, c], cc), (h + "attention.output.dense.bias", [c], cc),
                (h + "layernorm_before.weight", [c], cc), (h + "layernorm_before.bias", [c], cc),
                (h + "layernorm_after.weight", [c], cc), (h + "layernorm_after.bias", [c], cc),
                (h + "intermediate.dense.weight", [m, c], cm), (h + "intermediate.dense.bias", [m], cm),
                (h + "output.dense.weight", [c, m], cm), (h + "output.dense.bias", [c], cm),
            ]
        }
        expected = expected.map { (prefix + $0.0, $0.1, $0.2) }
        if let classes {
            expected += [("classifier.weight", [classes, c], "hidden_size \(c)"),
                         ("classifier.bias", [classes], "the classifier's \(classes) rows")]
        }
        let wanted = Set(expected.map(\.0))
        let missing = expected.map(\.0).filter { tensors[$0] == nil }
        let unknown = tensors.keys.filter { !wanted.contains($0) && !isIgnored($0) }.sorted()
        var problems: [String] = []
        if !missing.isEmpty { problems.append("missing tensors \(listed(missing))") }
        if !unknown.isEmpty { problems.append("unknown tensors \(listed(unknown))") }
        guard problems.isEmpty else {
            throw failure(problems.joined(separator: "; ") + " for a transformers ViT as \(configName) describes it"
                + (config.qkvBias ? "" : " (qkv_bias false)"))
        }
        for (name, shape, why) in expected where tensors[name]!.shape != shape {
            throw failure("tensor '\(name)' has shape \(tensors[name]!.shape), but \(configName) (\(why)) implies \(shape)")
        }
        if let names = config.classNames, let classes, names.count != classes {
            throw failure("the classifier has \(classes) outputs, but id2label in \(configName) names \(names.count) classes")
        }

        func t(_ name: String) -> Tensor { tensors[prefix + name]! }
        func concatenated(_ parts: [Tensor], shape: [Int]) -> Tensor {
            let out = Tensor(zeros: shape)
            var offset = 0
            for part in parts {
                (out.data + offset).update(from: part.data, count: part.count)
                offset += part.count
            }
            return out
        }
        var out: [String: Tensor] = [
            "cls_token": t("embeddings.cls_token"),
            "pos_embed": t("embeddings.position_embeddings"),
            "patch_embed.proj.weight": t("embeddings.patch_embeddings.projection.weight"),
            "patch_embed.proj.bias": t("embeddings.patch_embeddings.projection.bias"),
            "norm.weight": t("layernorm.weight"), "norm.bias": t("layernorm.bias"),
        ]
        for l in 0..<config.depth {
            let (h, b) = ("encoder.layer.\(l).", "blocks.\(l).")
            let attention = h + "attention.attention."
            out[b + "attn.qkv.weight"] = concatenated(["query", "key", "value"].map { t(attention + $0 + ".weight") },
                                                      shape: [3 * c, c])
            out[b + "attn.qkv.bias"] = config.qkvBias
                ? concatenated(["query", "key", "value"].map { t(attention + $0 + ".bias") }, shape: [3 * c])
                : Tensor(zeros: [3 * c])
            let pairs = [("attention.output.dense", "attn.proj"), ("layernorm_before", "norm1"),
                         ("layernorm_after", "norm2"), ("intermediate.dense", "mlp.fc1"), ("output.dense", "mlp.fc2")]
            for (hf, timm) in pairs {
                out[b + timm + ".weight"] = t(h + hf + ".weight")
                out[b + timm + ".bias"] = t(h + hf + ".bias")
            }
        }
        if classes != nil {
            out["head.weight"] = tensors["classifier.weight"]!
            out["head.bias"] = tensors["classifier.bias"]!
        }
        return out
    }

    private static func listed(_ names: [String]) -> String {
        let shown = names.prefix(6).map { "'\($0)'" }.joined(separator: ", ")
        return names.count > 6 ? "\(shown) and \(names.count - 6) more" : shown
    }
}
