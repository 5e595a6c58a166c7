// `sparse-tune eval`: top-1, top-5, per-class accuracy and a confusion-matrix CSV of a backbone + task file.
import ArgumentParser
import Foundation
import SparseTuning

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a backbone + task file on a dataset split.")

    @Option(name: .customLong("weights"), help: "Backbone, then task file (repeat to layer files).")
    var weights: [String] = []
    @OptionGroup var model: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var videoOptions: VideoOptions
    @OptionGroup var segmentationOptions: SegmentationOptions
    @Option(name: .customLong("out-dir"), help: "Segmentation: write each image's prediction (palette PNG) and overlay here.")
    var outDir: String?
    @Option(name: .customLong("batch"), help: "Batch size.") var batchSize: Int = 64
    @Option(help: "Write the confusion matrix (rows: true class, columns: predicted) as CSV here.") var confusion: String?
    @Option(help: "Write each image's prediction as CSV here (index, image, label, predicted, in dataset order).") var predictions: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        guard !weights.isEmpty else { throw SparseTuningError("eval needs --weights BACKBONE --weights TASK.safetensors") }
        guard batchSize > 0 else { throw SparseTuningError("--batch must be positive (got \(batchSize))") }
        if let format = dataOptions.segmentationFormat() { return try runSegmentation(format) }
        let expectVideo = model.frames != nil || (try? isVideoTask()) == true
        if let videoFormat = try dataOptions.videoFormat(expectVideo: expectVideo) { return try runVideo(videoFormat) }
        let format = try dataOptions.parsedFormat()
        guard let source = try dataOptions.evalSource(format) else {
            throw SparseTuningError("no evaluation split in \(dataOptions.data); give --eval-split")
        }
        let built = try buildModel(model, weights: weights)
        if built.task == nil { note("note: no task file among --weights; evaluating the checkpoint's own head") }
        let result = try Evaluator.evaluate(built.model, source: source, batchSize: batchSize,
                                            augmentation: .eval(size: built.model.config.imageSize,
                                                                mode: try dataOptions.resizeMode(format, task: built.task, file: built.taskFile)),
                                            normalization: try dataOptions.normalization(task: built.task, file: built.taskFile),
                                            workers: dataOptions.workers, skipBadImages: dataOptions.skipBadImages)
        let names = built.classNames ?? source.classNames
        if let predictions { try result.writePredictionsCSV(to: predictions, source: source) }
        if let confusion { try result.confusion.writeCSV(to: confusion, classNames: names) }
        let perClass = result.confusion.perClassAccuracy
        if json {
            try printJSON(EvalJSON(result, classNames: names))
            return
        }
        print(String(format: "%d images: top-1 %.2f%%, top-5 %.2f%%, loss %.4f, %.1f img/s", result.samples,
                     100 * result.top1, 100 * result.top5, result.loss, result.imagesPerSecond)
              + (result.skipped > 0 ? ", \(result.skipped) unreadable images skipped" : ""))
        print("per-class accuracy:")
        for (i, a) in perClass.enumerated() {
            let name = i < names.count ? names[i] : "\(i)"
            print("  \(name.padding(toLength: max(12, name.count), withPad: " ", startingAt: 0))  "
                  + (a.map { String(format: "%6.2f%%", 100 * $0) } ?? "   n/a") + "  (\(result.confusion.support(i)) images)")
        }
        if let confusion { print("confusion matrix written to \(confusion)") }
    }

    /// mIoU of a segmentation task on a segmentation dataset's evaluation split (mmseg's IoUMetric).
    private func runSegmentation(_ format: SegmentationDatasetFormat) throws {
        let seg = try loadSegmentationTask(model, weights: weights, flags: segmentationOptions)
        let settings = seg.model.settings
        let split = dataOptions.evalSplit ?? (format == .ade20k ? "validation" : "val")
        let data = try SegmentationDatasetLocator.open(dataOptions.data, split: split, format: format,
                                                       ignoreIndex: UInt8(clamping: settings.ignoreIndex))
        guard data.classCount == settings.classes else {
            throw SparseTuningError("\(dataOptions.data) has \(data.classCount) classes but the task \(settings.classes)")
        }
        let mode = try segmentationOptions.inferenceMode(crop: settings.cropSize)
        let scale = try segmentationOptions.scale.map { try segmentationOptions.parsedScale($0) } ?? settings.scale
        let evaluator = SegmentationEvaluator(dataset: data, mode: mode, scaleLong: scale[0], scaleShort: scale[1],
                                              normalization: try seg.normalization(flag: dataOptions.norm))
        let start = Date()
        let scores = try evaluator.evaluate(limit: segmentationOptions.evalLimit, outputDirectory: outDir) { try seg.model.forward($0) }
        let seconds = Date().timeIntervalSince(start)
        let flops = seg.model.flops(imageSize: settings.cropSize)
        let images = min(segmentationOptions.evalLimit ?? data.count, data.count)
        if json {
            try printJSON(SegmentationEvalJSON(scores: scores, classNames: data.classNames, images: images,
                                               mode: mode, seconds: seconds, gflops: flops.trunk.gflops + Double(flops.head) / 1e9))
            return
        }
        print(String(format: "%d images (%@): mIoU %.2f%%, aAcc %.2f%%, mAcc %.2f%%; %.2f img/s", images,
                     "\(mode)", 100 * scores.miou, 100 * scores.aacc, 100 * scores.macc, Double(images) / max(seconds, 1e-9)))
        for (i, iou) in scores.perClassIoU.enumerated() {
            print("  \(data.classNames[i].padding(toLength: max(12, data.classNames[i].count), withPad: " ", startingAt: 0))  "
                  + (iou.map { String(format: "%6.2f%%", 100 * $0) } ?? "   n/a"))
        }
    }

    /// Whether the weights are a video task (a task file with clip settings) — read from the headers only.
    private func isVideoTask() throws -> Bool {
        for w in weights.reversed() {
            let info = try Checkpoint.inspect(w)
            if let json = info.metadata[TaskConfig.metadataKey] { return try TaskConfig.decode(json, file: info.path).video != nil }
        }
        return false
    }

    /// Multi-view evaluation of a video model on a video dataset's evaluation split.
    private func runVideo(_ format: VideoDatasetFormat) throws {
        let built = try buildModel(model, weights: weights)
        let vit = built.model
        guard vit.config.isVideo else {
            throw SparseTuningError("\(dataOptions.data) holds videos but the model is an image model; give --frames T (per-frame) or a video task file")
        }
        if built.task == nil { note("note: no task file among --weights; evaluating the checkpoint's own head") }
        guard let videos = try dataOptions.videoEval(format) else {
            throw SparseTuningError("no evaluation split in \(dataOptions.data); give --eval-split")
        }
        let settings = try videoOptions.settings(base: built.task?.video ?? VideoOptions.defaults(for: format), frames: vit.config.frames)
        let progress = json ? nil : ProgressLine(epochs: 1, stepsPerEpoch: videos.count)
        let every = max(1, videos.count / 10)  // about ten progress lines
        let result = try Evaluator.evaluate(vit, videos: videos, settings: settings, size: vit.config.imageSize,
                                            normalization: try dataOptions.videoNormalization(task: built.task, file: built.taskFile),
                                            workers: dataOptions.workers, skipBadVideos: videoOptions.skipBadVideos || dataOptions.skipBadImages,
                                            frameTemplate: videoOptions.frameTemplate, viewBatch: batchSize) { done, total in
            if done % every == 0 || done == total { progress?.message("evaluated \(done)/\(total) videos") }
        }
        let names = built.classNames ?? videos.classNames
        if let confusion { try result.confusion.writeCSV(to: confusion, classNames: names) }
        if json {
            try printJSON(EvalJSON(result, classNames: names, video: settings))
            return
        }
        print(String(format: "%d videos, %d×%d views (%@): top-1 %.2f%%, top-5 %.2f%%, loss %.4f, %.2f videos/s", result.samples,
                     settings.clips, settings.crops, "\(settings.sampling)", 100 * result.top1, 100 * result.top5, result.loss,
                     result.imagesPerSecond)
              + (result.skipped > 0 ? ", \(result.skipped) unreadable videos skipped" : ""))
        if let confusion { print("confusion matrix written to \(confusion)") }
    }
}

