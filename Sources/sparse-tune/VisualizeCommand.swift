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
        guard !images.isEmpty else { throw SparseTuningError("visualize needs an --image FILE") }
        guard let defaultFormat = FigureFormat(rawValue: format.lowercased()) else {
            throw SparseTuningError("--format '\(format)' is not a figure format; expected png, svg or pdf")
        }
        if let out {
            guard images.count == 1 else { throw SparseTuningError("--out names one file; give one --image (got \(images.count))") }
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

/// `path` with `suffix` added to its name and its extension replaced by `ext` (a.jpg → a-kept.png).
func pathWithSuffix(_ path: String, _ suffix: String, ext: String) -> String {
    let stemPath = pathReplacingExtension(path, with: "x").dropLast(2)
    return "\(stemPath)\(suffix).\(ext)"
}
