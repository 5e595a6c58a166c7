// `sparse-tune predict`: decode images, preprocess as timm's eval transform (or squash), print the top classes.
import ArgumentParser
import Foundation
import SparseTuning

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify JPEG/PNG images, or videos with a video model, and print the top classes with probabilities.")

    @Option(name: .customLong("weights"), help: "Checkpoint (.safetensors, Google .npz, or a Hugging Face ViT directory); repeat to layer files.")
    var weights: [String] = []
    @OptionGroup var model: ModelOptions
    @Option(name: .customLong("image"), help: "Image file (JPEG or PNG); repeat for several.")
    var images: [String] = []
    @Option(name: .customLong("video"), help: "Video file (any container/codec FFmpeg reads) or frame folder, for a video model; repeat for several. Scored with the task's test views (softmax averaged; --clips/--crops override).")
    var videos: [String] = []
    @OptionGroup var videoOptions: VideoOptions
    @Option(help: "How many classes to print per image.")
    var top: Int = 5
    @Option(help: "Text file with one class name per line (line k = class k).")
    var labels: String?
    @Option(help: "Normalisation: inception (mean/std 0.5, Google and most timm ViTs) or imagenet (default: the task file's, else inception).")
    var norm: String?
    @Option(help: "Geometry: crop (resize shorter side to S/crop-pct, centre crop; timm eval) or squash (resize to S×S) (default: the task file's, else crop).")
    var resize: String?
    @Option(name: .customLong("crop-pct"), help: "Crop fraction for --resize crop (default: the task file's, else 0.9; alone it means --resize crop).")
    var cropPct: Float?
    @Option(name: .customLong("batch"), help: "Images per forward pass.")
    var batchSize: Int = 8
    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        guard !weights.isEmpty else { throw SparseTuningError("predict needs --weights FILE") }
        guard !images.isEmpty || !videos.isEmpty else { throw SparseTuningError("predict needs at least one --image FILE or --video FILE") }
        guard images.isEmpty || videos.isEmpty else { throw SparseTuningError("give --image or --video, not both") }
        guard top > 0 else { throw SparseTuningError("--top must be positive (got \(top))") }
        guard batchSize > 0 else { throw SparseTuningError("--batch must be positive (got \(batchSize))") }
        let built = try buildModel(model, weights: weights)
        let vit = built.model
        guard vit.config.classes > 0 else { throw SparseTuningError("the model has no head (--classes 0); nothing to predict") }
        let names = try labels.map { try readLabels($0, classes: vit.config.classes) } ?? built.classNames
        if !videos.isEmpty { return try predictVideos(built, names: names) }
        guard !vit.config.isVideo else {
            throw SparseTuningError("this is a video model (\(vit.config.frames)-frame clips); give --video FILE")
        }
        let pre = try built.preprocessor(resize: resize, cropPct: cropPct, norm: norm, defaultMode: .shortSideCrop(cropPct: 0.9))
        var results: [PredictJSON.Prediction] = []
        for start in stride(from: 0, to: images.count, by: batchSize) {
            let paths = Array(images[start..<min(images.count, start + batchSize)])
            let logits = try vit.forward(try pre.batch(paths: paths))
            let k = vit.config.classes
            for (i, path) in paths.enumerated() {
                let probs = softmax(Array(UnsafeBufferPointer(start: logits.data + i * k, count: k)))
                let order = probs.indices.sorted { probs[$0] > probs[$1] || (probs[$0] == probs[$1] && $0 < $1) }.prefix(top)
                let top = order.map { c in
                    PredictJSON.Guess(class: c, label: names.flatMap { c < $0.count ? $0[c] : nil } ?? "\(c)",
                                      probability: Double(probs[c]))
                }
                results.append(PredictJSON.Prediction(image: path, top: top))
            }
        }
        if json {
            try printJSON(PredictJSON(predictions: results))
            return
        }
        for r in results {
            print(r.image ?? "")
            for (rank, e) in r.top.enumerated() {
                print(String(format: "  %d. %@  %.4f", rank + 1, e.label, e.probability))
            }
        }
    }
}

extension PredictCommand {
    /// Each video's views through the model, softmax averaged.
    private func predictVideos(_ built: BuiltModel, names: [String]?) throws {
        let vit = built.model
        guard vit.config.isVideo else {
            throw SparseTuningError("--video needs a video model: a video task file, a VideoMAE checkpoint, or --frames T for a per-frame model")
        }
        let settings = try videoOptions.settings(base: built.task?.video ?? .kinetics, frames: vit.config.frames)
        let views = try settings.views()
        let k = vit.config.classes
        let dataset = try VideoDataset(paths: videos, labels: videos.map { _ in 0 }, classNames: (0..<k).map { "\($0)" })
        let samples = try VideoViewSamples(dataset: dataset, sampling: settings.sampling, views: views, size: vit.config.imageSize,
                                           normalization: try resolveNormalization(flag: norm, task: built.task, file: built.taskFile, fallback: .imagenet), frameTemplate: videoOptions.frameTemplate)
        var results: [PredictJSON.Prediction] = []
        for (i, path) in videos.enumerated() {
            let floats = try samples.load(i, seed: 0, epoch: 0)  // (V, T, 3, S, S)
            let clips = Tensor(shape: samples.sampleShape, values: floats)
            var mean = [Float](repeating: 0, count: k)
            var start = 0
            while start < views.count {  // --batch views per forward pass
                let v = min(batchSize, views.count - start)
                let per = clips.count / views.count
                let part = Tensor(uninitialized: [v] + Array(samples.sampleShape.dropFirst()))  // (v, T, 3, S, S)
                part.data.update(from: clips.data + start * per, count: v * per)
                let logits = try vit.forward(part)  // (v, K)
                for r in 0..<v {
                    let p = softmax(Array(UnsafeBufferPointer(start: logits.data + r * k, count: k)))
                    for c in 0..<k { mean[c] += p[c] / Float(views.count) }
                }
                start += v
            }
            let order = mean.indices.sorted { mean[$0] > mean[$1] || (mean[$0] == mean[$1] && $0 < $1) }.prefix(top)
            let guesses = order.map { c in
                PredictJSON.Guess(class: c, label: names.flatMap { c < $0.count ? $0[c] : nil } ?? "\(c)", probability: Double(mean[c]))
            }
            results.append(PredictJSON.Prediction(video: path, views: views.count, top: guesses))
        }
        if json {
            try printJSON(PredictJSON(predictions: results))
            return
        }
        for r in results {
            print("\(r.video!) (\(views.clips)×\(views.crops) views)")
            for (rank, e) in r.top.enumerated() { print(String(format: "  %d. %@  %.4f", rank + 1, e.label, e.probability)) }
        }
    }
}

/// Class names, one per line; the file must name every class.
func readLabels(_ path: String, classes: Int) throws -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw SparseTuningError("cannot read labels file \(path) (expected UTF-8 text, one class name per line)")
    }
    var lines = text.components(separatedBy: .newlines)
    while lines.last?.isEmpty == true { lines.removeLast() }
    guard lines.count >= classes else {
        throw SparseTuningError("labels file \(path) has \(lines.count) lines, the model has \(classes) classes")
    }
    return lines
}

/// Numerically stable softmax of one row.
func softmax(_ logits: [Float]) -> [Float] {
    let m = logits.max() ?? 0
    let e = logits.map { Foundation.exp(Double($0 - m)) }
    let s = e.reduce(0, +)
    return e.map { Float($0 / s) }
}
