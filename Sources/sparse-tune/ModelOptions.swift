// Model flags shared by every command that builds a model: architecture, image size, classes, pooling, threads,
// and the token-sparsification / adapter flags.
import ArgumentParser
import SparseTuning

struct ModelOptions: ParsableArguments {
    @Option(help: "Preset architecture: \(ViTConfig.presetNames.joined(separator: ", ")).")
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
    @Option(help: "Pooling: token (class token) or avg (mean of the patch tokens; final norm before pooling, or after it when the weights name it fc_norm, as timm).")
    var pool: String = "token"
    @Option(help: "Threads for oneDNN and the Swift kernels (default: all cores).")
    var threads: Int?
    @Option(help: "Linear-layer precision: fp32 (exact) or bf16 (about 2× faster matrix multiplies on AVX512-BF16 CPUs, ~1e-2 relative error).")
    var precision: String = "fp32"

    @Option(name: .customLong("keep-rate"), help: "Token keep rate κ for sparsification (0 < κ ≤ 1).")
    var keepRate: Double?
    @Option(name: .customLong("ts-layers"), help: "Blocks (0-based) that sparsify tokens, e.g. 3,6,9.")
    var tsLayers: String?
    @Flag(name: .customLong("no-fuse"), help: "Drop pruned tokens instead of fusing them into one token.")
    var noFuse = false
    @Option(help: "Adapters: none, dense (paper) or official (released code).")
    var adapter: String?
    @Option(help: "Dense-adapter bottleneck width.")
    var rank: Int?

    /// The `--precision` value.
    func parsedPrecision() throws -> Precision {
        guard let p = Precision(rawValue: precision) else {
            throw SparseTuningError("--precision '\(precision)' is not valid; expected fp32 or bf16")
        }
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
                throw SparseTuningError("--arch '\(arch)' is not a known preset; expected one of \(ViTConfig.presetNames.joined(separator: ", "))")
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

    /// Applies the flags that do not define the architecture (image size, classes, pooling) and validates.
    func apply(to c: inout ViTConfig, defaultClasses: Int, defaultImageSize: Int? = nil) throws {
        if let size = imageSize ?? defaultImageSize { c.imageSize = size }
        c.classes = classes ?? defaultClasses
        guard let p = Pooling(rawValue: pool) else {
            throw SparseTuningError("--pool '\(pool)' is not valid; expected token or avg")
        }
        c.pool = p
        try c.validate()
        try rejectUnimplemented()
    }

    /// Sparsification and adapter flags are parsed now so scripts can rely on their names; until the model
    /// implements them, giving one is an error rather than being silently ignored.
    private func rejectUnimplemented() throws {
        let given = [keepRate.map { _ in "--keep-rate" }, tsLayers.map { _ in "--ts-layers" }, noFuse ? "--no-fuse" : nil,
                     adapter.flatMap { $0 == "none" ? nil : "--adapter" }, rank.map { _ in "--rank" }].compactMap { $0 }
        if let first = given.first {
            throw SparseTuningError("\(first) is not supported by this build yet (token sparsification and adapters are not implemented)")
        }
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
