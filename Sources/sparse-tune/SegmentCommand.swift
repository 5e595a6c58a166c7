// `sparse-tune segment`: segments images with a segmentation task — the task's test resize, whole or sliding-window
// inference, logits back to the original size — and writes indexed-colour prediction PNGs (and overlays).
import ArgumentParser
import Foundation
import SparseTuning

struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Segment images with a backbone + segmentation task file: palette PNGs (and overlays) of the predicted classes.")

    @Option(name: .customLong("weights"), help: "Backbone, then the segmentation task file (repeat to layer files).")
    var weights: [String] = []
    @OptionGroup var model: ModelOptions
    @OptionGroup var segmentation: SegmentationOptions
    @Option(name: .customLong("image"), help: "Image file (JPEG or PNG); repeat for several.")
    var images: [String] = []
    @Option(help: "Output PNG (with one --image; default: next to each image, NAME-seg.png).")
    var out: String?
    @Flag(help: "Also write the image blended with the class colours (NAME-seg-overlay.png, or OUT with -overlay).")
    var overlay = false
    @Option(help: "Normalisation: imagenet or inception (default: the task file's).")
    var norm: String?
    @Flag(help: "Print JSON: per image the output files and the pixel share of each predicted class.")
    var json = false

    func run() throws {
        guard !weights.isEmpty else { throw SparseTuningError("segment needs --weights BACKBONE --weights TASK.safetensors") }
        guard !images.isEmpty else { throw SparseTuningError("segment needs at least one --image FILE") }
        if out != nil && images.count != 1 { throw SparseTuningError("--out names one file; give one --image (got \(images.count))") }
        let seg = try loadSegmentationTask(model, weights: weights, flags: segmentation)
        let settings = seg.model.settings
        let normalization = try seg.normalization(flag: norm)
        let names = seg.classNames
        let palette = names.count == ADE20K.classes.count ? ADE20K.palette : SegmentationPalette.generic(count: names.count)
        let dataset = try SegmentationDataset(imagePaths: [], maskPaths: [], classNames: names, ignoreIndex: UInt8(settings.ignoreIndex))
        let evaluator = SegmentationEvaluator(dataset: dataset, mode: try segmentation.inferenceMode(crop: settings.cropSize),
                                              scaleLong: settings.scale[0], scaleShort: settings.scale[1], normalization: normalization)
        var rows: [[String: String]] = []
        for path in images {
            let image = try ImageDecoder.decode(path: path)
            let prediction = try evaluator.predict(image) { try seg.model.forward($0) }
            let output = out ?? pathWithSuffix(path, "-seg", ext: "png")
            try SegmentationPalette.writeIndexedPNG(prediction, palette: palette, to: output)
            var row = ["image": path, "prediction": output]
            if overlay {
                let o = pathWithSuffix(output, "-overlay", ext: "png")
                try SegmentationPalette.writeOverlayPNG(image, prediction: prediction, palette: palette, to: o)
                row["overlay"] = o
            }
            var counts = [Int](repeating: 0, count: names.count)
            for l in prediction.labels where Int(l) < counts.count { counts[Int(l)] += 1 }
            let total = max(1, prediction.labels.count)
            let top = counts.indices.sorted { counts[$0] > counts[$1] }.prefix(5).filter { counts[$0] > 0 }
            row["classes"] = top.map { String(format: "%@ %.1f%%", names[$0], 100 * Double(counts[$0]) / Double(total)) }
                .joined(separator: ", ")
            rows.append(row)
            if !json { print("\(path) → \(output)\(row["overlay"].map { " (overlay \($0))" } ?? ""): \(row["classes"]!)") }
        }
        if json { try printJSON(["predictions": rows]) }
    }
}

/// A segmentation task loaded from layered weights: the model, its class names and preprocessing.
struct LoadedSegmentationTask {
    let model: SegmentationModel
    let task: TaskConfig
    let taskFile: String?
    let classNames: [String]

    /// `--norm`, else the task's normalisation, else ImageNet's (mmseg's).
    func normalization(flag: String?) throws -> Normalization {
        try resolveNormalization(flag: flag, task: task, file: taskFile, fallback: .imagenet)
    }
}

/// The backbone and segmentation task of `weights` (the last task file must be a segmentation task).
func loadSegmentationTask(_ options: ModelOptions, weights: [String], flags: SegmentationOptions) throws -> LoadedSegmentationTask {
    var o = options
    o.classes = 0
    let built = try buildModel(o, weights: weights, segmentationHead: true)
    guard let task = built.task, let settings = task.segmentation else {
        throw SparseTuningError("no segmentation task file among --weights (train one with `train --data ADE20K_DIR`)")
    }
    var s = try flags.config(base: settings, classes: settings.classes, depth: built.model.config.depth)
    s.ignoreIndex = settings.ignoreIndex
    let model = try SegmentationModel(trunk: built.model, settings: s)
    try model.loadHead(built.headTensors, required: true)
    let names = task.classNames ?? (0..<s.classes).map { "class \($0)" }
    return LoadedSegmentationTask(model: model, task: task, taskFile: built.taskFile, classNames: names)
}
