// `sparse-tune inspect`: the tensors (name, dtype, shape), metadata and parameter count of a checkpoint.
import ArgumentParser
import Foundation
import SparseTuning

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List a checkpoint's tensors, metadata and parameter count (.safetensors, Google .npz, or a Hugging Face ViT directory).")

    @Argument(help: "Checkpoint file.")
    var file: String
    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let info = try Checkpoint.inspect(file)
        if json {
            try printJSON(InspectJSON(file: file, info))
            return
        }
        print("\(file): \(info.format.rawValue), \(info.rows.count) tensors, \(info.totalParameters) parameters"
              + String(format: " (%.2f M)", Double(info.totalParameters) / 1e6))
        let width = min(info.rows.map(\.name.count).max() ?? 4, 70)
        for r in info.rows {
            print("  \(r.name.padding(toLength: max(width, r.name.count), withPad: " ", startingAt: 0))  \(r.dtype.padding(toLength: 8, withPad: " ", startingAt: 0)) \(r.shape)")
        }
        if !info.metadata.isEmpty {
            print("metadata:")
            for (k, v) in info.metadata.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
        }
        if let l = info.googleLayout {
            print("Google ViT layout: dim \(l.dim), depth \(l.depth), heads \(l.heads), mlp \(l.mlpDim), patch \(l.patchSize), "
                  + "\(l.tokens) position embeddings, head \(l.headClasses.map { "\($0) classes" } ?? "none")")
        }
        if let c = info.huggingFace {
            print("Hugging Face ViT (\(c.architecture ?? "no architectures"), \(c.file)): dim \(c.dim), depth \(c.depth), "
                  + "heads \(c.heads), mlp \(c.mlpDim), patch \(c.patchSize), image \(c.imageSize), eps \(c.eps), "
                  + "qkv_bias \(c.qkvBias), \(c.classNames.map { "\($0.count) class names" } ?? "no id2label")")
        }
        if let p = info.mappingProblem { print("does not map to timm names: \(p)") }
    }
}
