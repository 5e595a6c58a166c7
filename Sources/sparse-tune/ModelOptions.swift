// Model flags shared by every command that builds a model: architecture, image size, classes, pooling, threads,
// and the token-sparsification / adapter flags.
import ArgumentParser
import SparseTuning

struct ModelOptions: ParsableArguments {
    @Option(help: "Preset architecture: \(ViTConfig.presetNames.joined(separator: ", ")), or a timm model name such as deit_base_distilled_patch16_224, vit_base_patch14_reg4_dinov2 or vit_base_patch16_clip_quickgelu_224 (default: read from the checkpoint).")
    var arch: String?
    @Option(help: "Embedding width (with --depth, --heads, --patch instead of --arch).")
    var dim: Int?
    @Option(help: "Number of transformer blocks.")
    var depth: Int?
    @Option(help: "Attention heads.")
    var heads: Int?
    @Option(help: "MLP hidden width (default 4 × dim).")
    var mlp: Int?
    @Option(help: "Patch size.")
    var patch: Int?
    @Option(name: .customLong("image-size"), help: "Input image height and width (multiple of the patch; default: the checkpoint's pos_embed grid, else 224).")
    var imageSize: Int?
    @Option(help: "Classifier outputs (default: the head in the weights, else 1000 without weights; 0 = no head).")
    var classes: Int?
    @Option(help: "Pooling: token (class token) or avg (mean of the patch tokens; final norm before pooling, or after it when the weights name it fc_norm, as timm). Default: the checkpoint's (avg when it has fc_norm), else token.")
    var pool: String?
    @Option(help: "MLP activation when the checkpoint does not say: gelu or quick_gelu (OpenAI CLIP weights).")
    var act: String?
    @Option(help: "Frames per clip. With an image backbone, T > 1 makes a per-frame video model (each frame its own sequence, features pooled over time); a VideoMAE checkpoint takes its config.json's num_frames (else 16) unless given. Inputs are then (B, T, 3, H, W).")
    var frames: Int?
    @Option(help: "Without a checkpoint: a VideoMAE-style space-time model whose patches span this many frames (no class token, fixed sinusoid positions, mean pooling). With a VideoMAE checkpoint the tensors say it.")
    var tubelet: Int?
    @Option(name: .customLong("temporal-pool"), help: "Per-frame video model: how frame features become the clip's: mean (default) or attention (a learned query, trained with the head).")
    var temporalPool: String?
    @Option(help: "Threads for oneDNN and the Swift kernels (default: all cores).")
    var threads: Int?
    @Option(help: "Precision of the frozen matrix products and attention: fp32 (exact) or bf16 (about 2× faster on AVX512-BF16 CPUs, ~1e-2 relative error; trained layers and the optimiser stay fp32).")
    var precision: String = "fp32"

    @Flag(name: .customLong("ignore-backbone-mismatch"),
          help: "Load a task file even when the backbone's fingerprint differs from the one it was trained on (a note instead of an error).")
    var ignoreBackboneMismatch = false

    @Option(help: "Fine-tuning method: \(TuningMethod.allCases.map(\.rawValue).joined(separator: ", ")) (default: the task file's, else a plain model).")
    var method: String?
    @Option(name: .customLong("keep-rate"), help: "Token keep rate κ for EViT sparsification (0 < κ ≤ 1; 1 = none).")
    var keepRate: Double?
    @Option(name: .customLong("ts-layers"), help: "Blocks (0-based) that reduce tokens, e.g. 3,6,9.")
    var tsLayers: String?
    @Flag(name: .customLong("no-fuse"), help: "Drop pruned tokens instead of fusing them into one token.")
    var noFuse = false
    @Option(help: "Token reduction: evit (top-k by class attention) or tome (merging, with --tome-r).")
    var reduction: String?
    @Option(name: .customLong("tome-r"), help: "ToMe: tokens merged in each reducing block.")
    var tomeR: Int?
    @Option(help: "Adapters: none, dense (paper) or official (released code).")
    var adapter: String?
    @Option(help: "Dense-adapter bottleneck width r (default 32).")
    var rank: Int?
    @Flag(name: .customLong("bn-head"), help: "BatchNorm1d (no affine) before the head, as the released code.")
    var bnHead = false
    @Option(name: .customLong("lora-rank"), help: "LoRA rank (default 8).")
    var loraRank: Int?
    @Flag(name: .customLong("lora-qv-only"), help: "LoRA on the q and v projections only.")
    var loraQVOnly = false
    @Option(help: "VPT-deep prompt tokens per block (default 10).")
    var prompts: Int?
    @Flag(name: .customLong("with-adaptformer"), help: "evit: also train AdaptFormer modules.")
    var withAdaptformer = false
    @Option(name: .customLong("drop-path"), help: "Training: stochastic depth rate at the last block (default 0; NOAH uses 0.1).")
    var dropPath: Double?

    /// The tuning configuration: `base` (a task file's) or the method's defaults, overridden by the flags given.
    func tuning(base: TuningConfig?) throws -> TuningConfig {
        var t: TuningConfig
        if let method {
            guard let m = TuningMethod(rawValue: method) else {
                throw SparseTuningError("--method '\(method)' is not valid; expected one of \(TuningMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            t = base?.method == m ? base! : TuningConfig.defaults(for: m)
        } else if let base {
            t = base
        } else {
            t = TuningConfig.defaults(for: adapter.map { $0 == "none" } == false ? .sparseTuning : .linear)
        }
        if let keepRate { t.keepRate = keepRate }
        if let tsLayers { t.tsLayers = try parseIntList(tsLayers, flag: "--ts-layers") }
        if noFuse { t.fuse = false }
        if let reduction {
            guard let r = TokenReductionKind(rawValue: reduction) else {
                throw SparseTuningError("--reduction '\(reduction)' is not valid; expected evit or tome")
            }
            t.reduction = r
        }
        if let tomeR { t.tomeR = tomeR }
        if let adapter {
            guard let a = AdapterKind(rawValue: adapter) else {
                throw SparseTuningError("--adapter '\(adapter)' is not valid; expected none, dense or official")
            }
            t.adapter = a
        }
        if let rank { t.rank = rank }
        if bnHead { t.bnHead = true }
        if let loraRank { t.loraRank = loraRank }
        if loraQVOnly { t.loraQVOnly = true }
        if let prompts { t.prompts = prompts }
        if withAdaptformer { t.evitWithAdaptformer = true }
        if let dropPath { t.dropPath = dropPath }
        if let temporalPool {
            guard let p = TemporalPooling(rawValue: temporalPool) else {
                throw SparseTuningError("--temporal-pool '\(temporalPool)' is not valid; expected mean or attention")
            }
            t.temporalPool = p
        }
        return t
    }

    /// The `--precision` value.
    func parsedPrecision() throws -> Precision {
        guard let p = Precision(rawValue: precision) else {
            throw SparseTuningError("--precision '\(precision)' is not valid; expected fp32 or bf16")
        }
        do { try p.checkSupported() } catch let e as SparseTuningError { throw SparseTuningError("--precision bf16: \(e.message)") }
        return p
    }

    /// Applies `--threads` (validated).
    func applyThreads() throws {
        if let threads {
            guard threads > 0 else { throw SparseTuningError("--threads must be positive (got \(threads))") }
            Compute.threads = threads
        }
    }

    /// The configuration from the flags; `defaultClasses` applies when `--classes` is absent.
    func config(defaultClasses: Int = 1000, defaultImageSize: Int? = nil) throws -> ViTConfig {
        var c: ViTConfig
        if let arch {
            guard let p = ViTConfig.preset(arch) else {
                throw SparseTuningError("--arch '\(arch)' is not a known preset; expected one of \(ViTConfig.presetNames.joined(separator: ", ")) "
                    + "or a timm ViT name (e.g. vit_base_patch16_224, deit_base_distilled_patch16_224)")
            }
            if dim != nil || depth != nil || heads != nil || patch != nil || mlp != nil {
                throw SparseTuningError("--arch cannot be combined with --dim/--depth/--heads/--mlp/--patch")
            }
            c = p
        } else {
            guard let dim, let depth, let heads, let patch else {
                throw SparseTuningError("give --arch NAME or all of --dim, --depth, --heads and --patch")
            }
            c = ViTConfig(dim: dim, depth: depth, heads: heads, mlpDim: mlp, patch: patch)
        }
        try apply(to: &c, defaultClasses: defaultClasses, defaultImageSize: defaultImageSize)
        return c
    }

    /// Applies the flags that do not define the architecture (image size, classes, pooling, activation) and
    /// validates. Pooling and activation keep `c`'s when their flags are absent.
    func apply(to c: inout ViTConfig, defaultClasses: Int, defaultImageSize: Int? = nil) throws {
        if let size = imageSize ?? defaultImageSize { c.imageSize = size }
        c.classes = classes ?? defaultClasses
        if let pool {
            guard let p = Pooling(rawValue: pool) else {
                throw SparseTuningError("--pool '\(pool)' is not valid; expected token or avg")
            }
            c.pool = p
        }
        if let act { c.activation = try parsedActivation(act) }
        if let frames { c.frames = frames }
        if let tubelet {
            if let t = c.tubelet, t != tubelet {
                throw SparseTuningError("--tubelet \(tubelet) disagrees with the checkpoint's tubelets of \(t) frames (drop the flag)")
            }
            c.tubelet = tubelet
            c.classToken = false
            c.sinusoidalPositions = true
            c.pool = .avg
        }
        try c.validate()
    }

    /// The `--act` value.
    func parsedActivation(_ text: String) throws -> Activation {
        guard let a = Activation(rawValue: text) else {
            throw SparseTuningError("--act '\(text)' is not valid; expected gelu or quick_gelu")
        }
        return a
    }
}

/// Parses a comma-separated list of positive integers such as "1,8,32".
func parseIntList(_ text: String, flag: String) throws -> [Int] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    let values = parts.compactMap { Int($0) }
    guard !parts.isEmpty, values.count == parts.count else {
        throw SparseTuningError("\(flag) '\(text)' is not a comma-separated list of integers")
    }
    return values
}

import Foundation
