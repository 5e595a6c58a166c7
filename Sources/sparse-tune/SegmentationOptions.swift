// Segmentation flags shared by train, eval, segment and flops: the head, the feature levels, the restoration rule,
// the iteration schedule, crops and the inference mode (docs/SEGMENTATION.md).
import ArgumentParser
import Foundation
import SparseTuning

struct SegmentationOptions: ParsableArguments {
    @Option(help: "Segmentation head: linear (LayerNorm + per-patch classifier, Segmenter) or upernet (BEiT pyramid + UPerHead).")
    var head: String?
    @Option(help: "Segmentation: how pruned positions are restored: copy (the token's feature when pruned) or nearest (the nearest kept token's final feature).")
    var restore: String?
    @Option(help: "Segmentation: feature blocks, e.g. 3,5,7,11 (default: the last block for linear; D/4−1, D/2−1, 3D/4−1, D−1 for upernet).")
    var levels: String?
    @Option(help: "Segmentation: UPerNet channels (default 512).")
    var channels: Int?
    @Option(help: "Segmentation training iterations (default 160000, mmseg's ADE20K schedule).")
    var iters: Int?
    @Option(name: .customLong("warmup-iters"), help: "Segmentation: linear warm-up iterations before the poly decay (default 1500).")
    var warmupIters: Int?
    @Option(name: .customLong("crop-size"), help: "Segmentation: training crop side (default 512).")
    var cropSize: Int?
    @Option(help: "Segmentation: mmseg's Resize scale LONG,SHORT for training (with the 0.5–2 ratio) and evaluation (default 2048,512).")
    var scale: String?
    @Option(name: .customLong("eval-limit"), help: "Segmentation: evaluate on at most this many images.")
    var evalLimit: Int?
    @Option(help: "Segmentation inference: whole (one pass on the resized image) or slide (crop windows; mmseg's ADE20K test).")
    var mode: String?
    @Option(name: .customLong("slide-crop"), help: "Sliding-window crop side (default: the task's crop size).")
    var slideCrop: Int?
    @Option(name: .customLong("slide-stride"), help: "Sliding-window stride (default: 2/3 of the crop, mmseg's 341 for 512).")
    var slideStride: Int?

    /// `base` (a task file's, or the defaults for `classes`) with the flags given.
    func config(base: SegmentationConfig?, classes: Int, depth: Int) throws -> SegmentationConfig {
        var s = base ?? SegmentationConfig(classes: classes)
        if let head {
            guard let h = SegmentationHeadKind(rawValue: head) else { throw SparseTuningError("--head '\(head)' is not valid; expected linear or upernet") }
            if h != s.head { s.levels = nil }
            s.head = h
        }
        if let restore {
            guard let r = RestoreRule(rawValue: restore) else { throw SparseTuningError("--restore '\(restore)' is not valid; expected copy or nearest") }
            s.restore = r
        }
        if let levels { s.levels = try parseIntList(levels, flag: "--levels") }
        if let channels { s.channels = channels }
        if let cropSize { s.cropSize = cropSize }
        if let scale { s.scale = try parsedScale(scale) }
        try s.validate(depth: depth)
        return s
    }

    func parsedScale(_ text: String) throws -> [Int] {
        let v = try parseIntList(text, flag: "--scale")
        guard v.count == 2, v[0] >= v[1], v[1] > 0 else { throw SparseTuningError("--scale must be LONG,SHORT with LONG ≥ SHORT > 0 (got \(text))") }
        return v
    }

    /// The inference mode: `--mode`, default whole; slide windows of `--slide-crop` (default `crop`) and stride.
    func inferenceMode(crop: Int) throws -> SegmentationInferenceMode {
        switch mode ?? "whole" {
        case "whole": return .whole
        case "slide":
            let c = slideCrop ?? crop
            return .slide(try SlidingWindow.square(c, stride: slideStride ?? max(1, c * 2 / 3)))
        default: throw SparseTuningError("--mode '\(mode!)' is not valid; expected whole or slide")
        }
    }
}

extension DataOptions {
    /// The segmentation layout of `--data`: `--format ade20k|segfolder`, else the layout the segmentation locator
    /// recognises (its layouts — annotations/ or masks/ beside images/ — are specific, so it is asked first).
    func segmentationFormat() -> SegmentationDatasetFormat? {
        if let format { return SegmentationDatasetFormat(rawValue: format) }
        return try? SegmentationDatasetLocator.detect(data)
    }
}
