// The config.json timm writes beside a checkpoint it pushes to the Hugging Face hub (`architecture`, `num_classes`,
// `global_pool`, optional `model_args`, `pretrained_cfg` with the evaluation preprocessing): what it states about the
// architecture, as a ViTConfig (docs/BACKBONES.md). Read through JSONCoding; unknown keys are ignored: the file carries many.
import Foundation

/// A timm hub config.json.
public struct TimmConfigFile: Sendable {
    /// The file read.
    public let path: String
    /// timm model name, e.g. `vit_base_patch16_clip_quickgelu_224`.
    public let architecture: String
    public let numClasses: Int?
    public let globalPool: String?
    /// `pretrained_cfg.input_size` (3, H, W): the image size the model is evaluated at.
    public let inputSize: [Int]?
    fileprivate let modelArgs: ModelArgs?

    /// `model_args`: timm constructor arguments that override the name's.
    fileprivate struct ModelArgs: Decodable, Sendable {
        let embed_dim, depth, num_heads, patch_size, reg_tokens: Int?
        let img_size: FlexibleInt?
        let mlp_ratio: Double?
        let no_embed_class, pre_norm, class_token, fc_norm: Bool?
        let init_values: Double?
        let act_layer, global_pool: String?
    }

    /// An int, or a list whose first element is it (timm accepts `img_size` as either).
    fileprivate struct FlexibleInt: Decodable, Sendable {
        let value: Int
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let v = try? c.decode(Int.self) { value = v } else { value = try c.decode([Int].self).first ?? 0 }
        }
    }

    private struct File: Decodable {
        let architecture: String
        let num_classes: Int?
        let global_pool: String?
        let model_args: ModelArgs?
        let pretrained_cfg: Pretrained?
    }

    private struct Pretrained: Decodable {
        let input_size: [Int]?
    }

    /// The timm config.json in the directory of `weightsPath`, or nil when there is none or it is not timm's (a
    /// Hugging Face `transformers` config names `model_type`, not `architecture`).
    public static func beside(_ weightsPath: String) throws -> TimmConfigFile? {
        let dir = (weightsPath as NSString).deletingLastPathComponent
        let path = (dir.isEmpty ? "." : dir) + "/config.json"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SparseTuningError("\(path): cannot be read (\(error.localizedDescription))")
        }
        return try parse(data, path: path)
    }

    /// The timm config in `data` (the text of `path`), or nil when it is JSON without `architecture` (not timm's).
    public static func parse(_ data: Data, path: String) throws -> TimmConfigFile? {
        guard data.count <= 1 << 22 else { throw SparseTuningError("\(path): \(data.count) bytes is too large for a config.json") }
        struct Probe: Decodable { let architecture: String? }
        guard try JSONCoding.decode(Probe.self, from: data, source: path).architecture != nil else { return nil }
        let f = try JSONCoding.decode(File.self, from: data, source: path)
        return TimmConfigFile(path: path, architecture: f.architecture, numClasses: f.num_classes, globalPool: f.global_pool,
                              inputSize: f.pretrained_cfg?.input_size, modelArgs: f.model_args)
    }

    /// The architecture the file states: the name's configuration with `model_args` applied.
    ///
    /// - Throws: ``SparseTuningError`` naming the file when the architecture is not a timm ViT this library runs,
    ///   or `model_args` asks for something it does not implement.
    public func statedConfig() throws -> ViTConfig {
        guard var c = ViTConfig.timm(architecture) else {
            throw SparseTuningError("\(path): architecture '\(architecture)' is not a timm ViT this library runs (supported: "
                + "vit_*, deit_*, deit3_* of sizes tiny…gigantic, with patchN; DINOv2, CLIP, DeiT distilled, registers)")
        }
        if let a = modelArgs {
            if let r = a.mlp_ratio, !(r.isFinite && r > 0 && r <= 64) {
                throw SparseTuningError("\(path): model_args.mlp_ratio \(r) is not in (0, 64]")
            }
            if let v = a.embed_dim {
                guard v > 0 && v <= 65536 else { throw SparseTuningError("\(path): model_args.embed_dim \(v) is not in 1…65536") }
                c.dim = v
                c.mlpDim = Int((a.mlp_ratio ?? 4) * Double(v))  // timm: int(embed_dim * mlp_ratio)
            }
            if let v = a.depth { c.depth = v }
            if let v = a.num_heads { c.heads = v }
            if let v = a.patch_size { c.patch = v }
            if let v = a.img_size?.value { c.imageSize = v }
            if let v = a.reg_tokens { c.registers = v }
            if let v = a.no_embed_class { c.posEmbedCoversPrefix = !v }
            if let v = a.pre_norm { c.preNorm = v }
            if a.init_values != nil { c.layerScale = true }
            if let act = a.act_layer {
                guard let v = Activation(rawValue: act) else {
                    throw SparseTuningError("\(path): model_args.act_layer '\(act)' is not supported (expected gelu or quick_gelu)")
                }
                c.activation = v
            }
            if a.class_token == false {
                throw SparseTuningError("\(path): model_args.class_token false (no class token) is not supported")
            }
        }
        if let pool = modelArgs?.global_pool ?? globalPool, !pool.isEmpty {
            guard let p = Pooling(rawValue: pool) else {
                throw SparseTuningError("\(path): global_pool '\(pool)' is not supported (expected token or avg)")
            }
            c.pool = p
        }
        if let k = numClasses { c.classes = k }
        if let s = inputSize, s.count == 3, s[1] == s[2] { c.imageSize = s[1] }
        return c
    }
}
