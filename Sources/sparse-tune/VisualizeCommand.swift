// `sparse-tune visualize`: which image patches survive each EViT sparsifying block — one panel per block, with the
// dropped patches greyed out and the fused token's weight in the captions — written as PNG, SVG or PDF.
import ArgumentParser
import Foundation
import SparseTuning

struct VisualizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visualize",
        abstract: "Draw the patches each token-sparsifying block keeps and drops for an image (PNG, SVG or PDF).",
        discussion: "The image is preprocessed as the task file says (else squashed to the model's input size) and run through the model; the figure shows "
            + "the input, then per sparsifying block the patches dropped so far greyed out, those dropped by that block "
            + "tinted by their fusion weight, and captions with the kept count and the fused token's weight. "
            + "The model needs EViT sparsification: a task file trained with it, or --keep-rate below 1 "
            + "(and --ts-layers).")

    @Option(name: .customLong("weights"), help: "Checkpoint (.safetensors, Google .npz, or a Hugging Face ViT directory); repeat to layer files (backbone, then task file).")
    var weights: [String] = []
    @OptionGroup var model: ModelOptions
    @Option(name: .customLong("image"), help: "Image file (JPEG or PNG); repeat for several.")
    var images: [String] = []
    @Option(name: .customLong("video"), help: "Video file or frame folder, for a video model: a frame grid — one row per frame (per-frame model) or per tubelet time slice (space-time model), one column per sparsifying block; the centre clip and crop of the task's test views.")
    var video: String?
    @OptionGroup var videoOptions: VideoOptions
    @Option(help: "Output file: .png, .svg or .pdf, which picks the format (only with one --image; default: next to the image, NAME-kept.png).")
    var out: String?
    @Option(help: "Format of the default outputs NAME-kept.FORMAT: png, svg or pdf.")
    var format: String = "png"
    @Option(help: "Normalisation: inception or imagenet (default: the task file's, else inception).")
    var norm: String?
    @Option(help: "Geometry: squash (resize to S×S) or crop (shorter side to S/crop-pct, centre crop) (default: the task file's, else squash).")
    var resize: String?
    @Option(name: .customLong("crop-pct"), help: "Crop fraction for --resize crop (default: the task file's, else 0.9; alone it means --resize crop).")
    var cropPct: Float?

    func run() throws {
        guard !weights.isEmpty else { throw SparseTuningError("visualize needs --weights FILE") }
        guard !images.isEmpty || video != nil else { throw SparseTuningError("visualize needs an --image FILE or a --video FILE") }
        guard images.isEmpty || video == nil else { throw SparseTuningError("give --image or --video, not both") }
        guard let defaultFormat = FigureFormat(rawValue: format.lowercased()) else {
            throw SparseTuningError("--format '\(format)' is not a figure format; expected png, svg or pdf")
        }
        if let out {
            guard images.count <= 1 else { throw SparseTuningError("--out names one file; give one --image (got \(images.count))") }
            _ = try FigureFormat(path: out)
        }
        let built = try buildModel(model, weights: weights)
        let vit = built.model
        let tuning = vit.tuning
        guard tuning.reduction == .evit else {
            throw SparseTuningError("visualize shows EViT token sparsification; this model merges tokens with ToMe (--reduction tome)")
        }
        guard tuning.reducesTokens, tuning.keepRate < 1 else {
            throw SparseTuningError("the model has no EViT token sparsification (keep rate \(tuning.keepRate)"
                + (tuning.tsLayers?.isEmpty == true ? ", no --ts-layers" : "")
                + "); give --keep-rate below 1 (and --ts-layers), or a task file trained with sparsification")
        }
        let cfg = vit.config
        if let video { return try visualizeVideo(video, built: built, defaultFormat: defaultFormat) }
        guard !cfg.isVideo else { throw SparseTuningError("this is a video model; give --video FILE") }
        let pre = try built.preprocessor(resize: resize, cropPct: cropPct, norm: norm, defaultMode: .squash)
        let decoded = try images.map { try ImageDecoder.decode(path: $0) }
        let result = try vit.forwardResult(pre.batch(decoded))
        let logits = result.logits, reductions = result.reductions
        guard !reductions.isEmpty else {
            throw SparseTuningError("no block dropped any token: keep rate \(tuning.keepRate) keeps all "
                + "\((cfg.imageSize / cfg.patch) * (cfg.imageSize / cfg.patch)) patch tokens")
        }
        let grid = cfg.imageSize / cfg.patch
        for (b, path) in images.enumerated() {
            let trace = try SparsificationTrace(reductions: reductions, sample: b, patchCount: grid * grid)
            var title = "\((path as NSString).lastPathComponent): keep rate \(AxisTicks.format(tuning.keepRate)), "
                + "blocks \(trace.stages.map { String($0.block) }.joined(separator: ",")), "
                + (tuning.fuse ? "fusion on" : "no fusion")
            if cfg.classes > 0 {
                let k = cfg.classes
                let probs = softmax(Array(UnsafeBufferPointer(start: logits.data + b * k, count: k)))
                let top = probs.indices.max { probs[$0] < probs[$1] || (probs[$0] == probs[$1] && $0 > $1) }!
                let names = built.classNames
                let label = names.map { top < $0.count ? $0[top] : "\(top)" } ?? "class \(top)"
                title += String(format: "; predicted %@ (p = %.2f)", label, Double(probs[top]))
            }
            let figure = try KeptTokenFigure(image: pre.geometry(decoded[b]), patch: cfg.patch, trace: trace, title: title)
            let output = out ?? pathWithSuffix(path, "-kept", ext: defaultFormat.rawValue)
            try figure.figure().write(to: output)
            print("\(path) → \(output)")
            for stage in trace.stages {
                var line = "  block \(stage.block): \(stage.keptCount)/\(stage.tokensIn - stage.prefix) tokens kept, "
                    + "\(stage.remainingPatches.count)/\(trace.patchCount) patches left"
                if stage.fused {
                    line += String(format: "; fused Σw = %.3f over %d patches", Double(stage.fusedWeight), stage.droppedPatches.count)
                    if !stage.droppedFusedTokens.isEmpty { line += " + the earlier fused token" }
                }
                for k in stage.keptFusedTokens { line += "; fused token of block \(k.block) kept at rank \(k.rank)" }
                print(line)
            }
        }
    }
}

extension VisualizeCommand {
    /// The kept tokens of a clip's centre view as a frame grid.
    private func visualizeVideo(_ path: String, built: BuiltModel, defaultFormat: FigureFormat) throws {
        let vit = built.model, cfg = vit.config
        guard cfg.isVideo else { throw SparseTuningError("--video needs a video model (a video task file, a VideoMAE checkpoint, or --frames T)") }
        var settings = try videoOptions.settings(base: built.task?.video ?? .kinetics, frames: cfg.frames)
        settings.clips = 1
        settings.crops = 1
        let dataset = try VideoDataset(paths: [path], labels: [0], classNames: ["0"])
        let normalization = try resolveNormalization(flag: norm, task: built.task, file: built.taskFile, fallback: .imagenet)
        let samples = try VideoViewSamples(dataset: dataset, sampling: settings.sampling, views: try settings.views(),
                                           size: cfg.imageSize, normalization: normalization, frameTemplate: videoOptions.frameTemplate)
        let frames = try samples.frames(0)  // T frames of S×S
        let clip = Tensor(shape: samples.sampleShape, values: try samples.load(0, seed: 0, epoch: 0))  // (1, T, 3, S, S)
        let result = try vit.forwardResult(clip)
        guard !result.reductions.isEmpty else {
            throw SparseTuningError("no block dropped any token (keep rate \(vit.tuning.keepRate)); give --keep-rate below 1 or a task file trained with sparsification")
        }
        let g = (cfg.imageSize / cfg.patch) * (cfg.imageSize / cfg.patch)
        let name = (path as NSString).lastPathComponent
        let settingsText = "keep rate \(AxisTicks.format(vit.tuning.keepRate)), blocks \(result.reductions.keys.sorted().map(String.init).joined(separator: ","))"
        let figure: Figure
        if let t = cfg.tubelet {
            // Space-time tokens (time slice, row, column): the slices' first frames one above the other are exactly
            // that token order, so one panel per block covers the clip.
            let slices = stride(from: 0, to: frames.count, by: t).map { frames[$0] }
            let tall = RGBImage(width: cfg.imageSize, height: cfg.imageSize * slices.count, pixels: slices.flatMap(\.pixels))
            let trace = try SparsificationTrace(reductions: result.reductions, sample: 0, patchCount: slices.count * g)
            figure = try KeptTokenFigure(image: tall, patch: cfg.patch, trace: trace,
                                         title: "\(name): \(slices.count) time slices of \(t) frames (top to bottom); \(settingsText)").figure()
        } else {
            // Per-frame model: each frame its own sequence, one row of panels per frame.
            figure = Figure.stacked(try frames.enumerated().map { i, frame in
                let trace = try SparsificationTrace(reductions: result.reductions, sample: i, patchCount: g)
                return try KeptTokenFigure(image: frame, patch: cfg.patch, trace: trace,
                                           title: "\(name): frame \(i + 1)/\(frames.count); \(settingsText)").figure()
            })
        }
        let output = out ?? pathWithSuffix(path.hasSuffix("/") ? String(path.dropLast()) : path, "-kept", ext: defaultFormat.rawValue)
        try figure.write(to: output)
        print("\(path) → \(output)")
    }
}

/// `path` with `suffix` added to its name and its extension replaced by `ext` (a.jpg → a-kept.png).
func pathWithSuffix(_ path: String, _ suffix: String, ext: String) -> String {
    let stemPath = pathReplacingExtension(path, with: "x").dropLast(2)
    return "\(stemPath)\(suffix).\(ext)"
}
