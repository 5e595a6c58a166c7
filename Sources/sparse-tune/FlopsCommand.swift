// `sparse-tune flops`: fvcore-convention FLOP count (multiply-accumulates) per block and in total.
import ArgumentParser
import Foundation
import SparseTuning

struct FlopsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flops",
        abstract: "Count FLOPs as fvcore does (1 multiply-accumulate = 1 FLOP; biases, softmax, GELU free).")

    @OptionGroup var model: ModelOptions
    @OptionGroup var segmentation: SegmentationOptions
    @Flag(help: "Print JSON (top-level \"gflops\") instead of a table.")
    var json = false

    func run() throws {
        if segmentation.head != nil { return try runSegmentation() }
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

    /// A segmentation model at `--image-size` (default 512): the backbone at its sparsified token counts plus the head;
    /// `--classes` is the number of segmentation classes (default ADE20K's 150).
    private func runSegmentation() throws {
        var options = model
        let classes = options.classes ?? 150
        options.classes = 0
        if options.imageSize == nil { options.imageSize = 512 }
        let config = try options.config(defaultClasses: 0)
        let trunk = try TunedViT(backbone: VisionTransformer(config: config, seed: nil), tuning: options.tuning(base: nil))
        let seg = try SegmentationModel(trunk: trunk, settings: segmentation.config(base: nil, classes: classes, depth: config.depth))
        let (report, head) = seg.flops(imageSize: config.imageSize)
        let total = report.gflops + Double(head) / 1e9
        if json {
            var out = FlopsJSON(report, imageSize: config.imageSize)
            out.gflops = total
            out.flops = report.total.total + head
            out.headFlops = head
            try printJSON(out)
            return
        }
        print("FLOPs, fvcore convention, one \(config.imageSize)×\(config.imageSize) image, \(seg.settings.head.rawValue) head, \(classes) classes")
        print("block  tokens in → out   GFLOPs")
        for (l, b) in report.blocks.enumerated() {
            print(String(format: "%5d  %9d → %-5d  %8.4f", l, b.tokensIn, b.tokensOut, Double(b.flops.total) / 1e9))
        }
        print(String(format: "backbone %.3f GFLOPs + head %.3f = total %.3f GFLOPs", report.gflops, Double(head) / 1e9, total))
    }
}
