// `sparse-tune forward`: logits for a normalised float32 batch read from .npy, written to .npy.
import ArgumentParser
import Foundation
import SparseTuning

struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run the model on a normalised (B, 3, S, S) float32 .npy — or clips (B, T, 3, S, S) for a video model — and write (B, K) logits as .npy.")

    @Option(name: .customLong("weights"), help: "Checkpoint (.safetensors, Google .npz, or a Hugging Face ViT directory); repeat to layer files.")
    var weights: [String] = []
    @OptionGroup var model: ModelOptions
    @Option(help: "Input .npy, float32 (B, 3, S, S), or clips (B, T, 3, S, S) for a video model (a VideoMAE checkpoint, or an image backbone run per frame: T given by the input unless --frames says), already normalised.")
    var input: String
    @Option(help: "Output .npy for the float32 logits (B, K), or features (B, C) with --classes 0.")
    var output: String
    @Option(name: .customLong("dump-kept"), help: "Directory for kept_<block>.npy: int64 (B, k) indices (0-based among the tokens after the prefix tokens — class, distillation, registers — by descending score) kept by each sparsifying block; (B·T, k) for a per-frame video model.")
    var dumpKept: String?

    func run() throws {
        guard !weights.isEmpty else { throw SparseTuningError("forward needs --weights FILE") }
        var vit = try buildModel(model, weights: weights).model
        if dumpKept != nil, !(vit.tuning.reducesTokens && vit.tuning.reduction == .evit) {
            throw SparseTuningError("--dump-kept needs EViT token sparsification (--keep-rate below 1)")
        }
        let array = try NPY.read(path: input)
        guard let x = array.tensor, array.dtype == .float32 else {
            throw SparseTuningError("\(input): expected float32 ('<f4' or '>f4') data, found '\(array.descr)'")
        }
        guard (x.shape.count == 4 && x.shape[1] == 3) || (x.shape.count == 5 && x.shape[2] == 3) else {
            throw SparseTuningError("\(input): expected shape (B, 3, S, S) or clips (B, T, 3, S, S), found \(x.shape)")
        }
        if let s = model.imageSize, x.shape[x.shape.count - 2] != s || x.shape[x.shape.count - 1] != s {
            throw SparseTuningError("\(input): images are \(x.shape[x.shape.count - 2])×\(x.shape.last!) but --image-size is \(s)")
        }
        if x.shape.count == 5 && !vit.config.isVideo && model.frames == nil {
            // Clips for an image backbone: the per-frame video model of the input's length.
            var options = model
            options.frames = x.shape[1]
            vit = try buildModel(options, weights: weights).model
        }
        let result = try vit.forwardResult(x)
        let logits = result.logits
        if let dir = dumpKept {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for (block, red) in result.reductions.sorted(by: { $0.key < $1.key }) {
                let kept = red.kept.flatMap { $0.map(Int64.init) }
                try NPY.writeInt64(kept, shape: [red.batch, red.kept.first?.count ?? 0], to: "\(dir)/kept_\(block).npy")
            }
        }
        try NPY.write(logits, to: output)
    }
}
