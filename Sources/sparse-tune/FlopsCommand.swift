// `sparse-tune flops`: fvcore-convention FLOP count (multiply-accumulates) per block and in total.
import ArgumentParser
import Foundation
import SparseTuning

struct FlopsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flops",
        abstract: "Count FLOPs as fvcore does (1 multiply-accumulate = 1 FLOP; biases, softmax, GELU free).")

    @OptionGroup var model: ModelOptions
    @Flag(help: "Print JSON (top-level \"gflops\") instead of a table.")
    var json = false

    func run() throws {
        let config = try model.config()
        let tuning = try model.tuning(base: nil)
        try tuning.validate(depth: config.depth)
        let report = FLOPCounter.count(config, tuning: tuning)
        if json {
            var out = FlopsJSON(report, imageSize: config.imageSize)
            out.frames = config.isVideo ? config.frames : 1
            out.sequences = report.sequences
            try printJSON(out)
            return
        }
        let what = !config.isVideo ? "one \(config.imageSize)×\(config.imageSize) image"
            : "one clip of \(config.frames) frames of \(config.imageSize)×\(config.imageSize) "
                + (config.tubelet.map { "(space-time tubelets of \($0) frames)" } ?? "(each frame its own sequence; blocks below are per frame)")
        print("FLOPs, fvcore convention (1 multiply-accumulate = 1 FLOP), \(what)")
        print("block  tokens in → out   GFLOPs")
        for (l, b) in report.blocks.enumerated() {
            print(String(format: "%5d  %9d → %-5d  %8.4f", l, b.tokensIn, b.tokensOut, Double(b.flops.total) / 1e9))
        }
        let t = report.total
        print(String(format: "patch embedding %.4f, final norm + head %.4f", Double(report.embedding.total) / 1e9, Double(report.head.total) / 1e9))
        print("by operator: linear \(t.linear), matmul \(t.matmul), conv \(t.conv), layer_norm \(t.layerNorm)")
        print(String(format: "total: %.3f GFLOPs", report.gflops) + " (\(t.total))")
    }
}
