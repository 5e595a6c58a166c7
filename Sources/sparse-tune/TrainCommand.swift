// `sparse-tune train`: fine-tune a backbone on a dataset with the chosen method; task file, resume state and a
// JSONL metrics log are written every epoch.
import ArgumentParser
import Foundation
import SparseTuning
import SparseTuningMPI

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a backbone (default method: sparse-tuning; VTAB-1K recipe, docs/METHOD.md §5).")

    @Option(name: .customLong("weights"), help: "Backbone checkpoint (.safetensors, Google .npz, or a Hugging Face ViT directory); repeat to layer files.")
    var weights: [String] = []
    @OptionGroup var model: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var videoOptions: VideoOptions
    @OptionGroup var segmentationOptions: SegmentationOptions
    @Option(help: "Task file to write (trainable tensors + configuration), replaced atomically every epoch.")
    var output: String
    @Option(help: "JSONL metrics log (default: <output>.metrics.jsonl).")
    var metrics: String?
    @Option(help: "Recipe defaults: vtab (no augmentation), complete (mixup 0.8, cutmix 1.0, smoothing 0.1, crop+flip, 20 warm-up epochs), or for video k400 / ssv2 (DyT: AdamW lr 5e-4 at batch 128 scaled linearly, weight decay 0.01, 2 warm-up epochs, 12 / 50 epochs, batch 8, 16-frame clips; Kinetics dense sampling 16×4 with flips and 5×3 test views, SSv2 16 segments without flips and 2×3 views). Default: vtab for images, the dataset's video recipe for videos.")
    var recipe: String?
    @Option(help: "Epochs.") var epochs: Int?
    @Option(name: .customLong("batch"), help: "Batch size.") var batchSize: Int?
    @Option(help: "Peak learning rate.") var lr: Float?
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay (not on biases, norms, tokens).") var weightDecay: Float?
    @Option(name: .customLong("warmup-epochs"), help: "Linear warm-up epochs before the cosine decay.") var warmupEpochs: Double?
    @Option(name: .customLong("min-lr"), help: "Final learning rate of the cosine.") var minLR: Float?
    @Option(name: .customLong("label-smoothing"), help: "Label smoothing.") var labelSmoothing: Double?
    @Option(help: "Mixup alpha (0 = off).") var mixup: Double?
    @Option(help: "CutMix alpha (0 = off).") var cutmix: Double?
    @Option(name: .customLong("mixup-prob"), help: "Probability of mixing a batch.") var mixupProb: Double?
    @Flag(help: "Random-resized-crop and horizontal flip.") var augment = false
    @Flag(name: .customLong("no-augment"), help: "No augmentation (overrides the recipe).") var noAugment = false
    @Option(name: .customLong("clip-grad"), help: "Clip the global gradient norm to this value.") var clipGrad: Float?
    @Option(help: "Micro-batches accumulated per optimiser step.") var accumulation: Int?
    @Option(help: "EMA decay of the trained tensors, e.g. 0.9998 (evaluation uses the averages).") var ema: Float?
    @Option(help: "Random seed (same seed and thread count ⇒ same result).") var seed: UInt64?
    @Option(name: .customLong("keep-rate-warmup"), help: "Epochs of EViT's keep-rate warm-up (κ from 1 to its target).") var keepRateWarmup: Int?
    @Option(name: .customLong("eval-every"), help: "Evaluate every N epochs (and after the last).") var evalEvery: Int?
    @Flag(name: .customLong("no-eval"), help: "Do not evaluate.") var noEval = false
    @Flag(name: .customLong("no-feature-cache"),
          help: "Run the frozen backbone every step even when only the head trains (by default its features are computed once).")
    var noFeatureCache = false
    @Flag(help: "Continue from <output>.resume.safetensors exactly where it stopped.") var resume = false
    @Option(name: .customLong("stop-after"), help: "Stop after this epoch — for segmentation, this iteration, a multiple of --eval-every (a time-sliced run; continue later with --resume).")
    var stopAfter: Int?
    @Flag(help: "Print the final summary as JSON on stdout.") var json = false

    func trainingOptions() throws -> TrainingOptions {
        var o: TrainingOptions
        switch recipe ?? "vtab" {
        case "vtab": o = TrainingOptions()
        case "complete": o = TrainingOptions.completeDataset
        case "k400": o = TrainingOptions.kinetics400(batch: batchSize ?? 8)  // lr scaled to the batch
        case "ssv2": o = TrainingOptions.somethingSomethingV2(batch: batchSize ?? 8)
        default: throw SparseTuningError("--recipe '\(recipe!)' is not valid; expected vtab, complete, k400 or ssv2")
        }
        if let epochs { o.epochs = epochs }
        if let batchSize { o.batchSize = batchSize }
        if let lr { o.lr = lr }
        if let weightDecay { o.weightDecay = weightDecay }
        if let warmupEpochs { o.warmupEpochs = warmupEpochs }
        if let minLR { o.minLR = minLR }
        if let labelSmoothing { o.labelSmoothing = labelSmoothing }
        if let mixup { o.mixup = mixup }
        if let cutmix { o.cutmix = cutmix }
        if let mixupProb { o.mixupProb = mixupProb }
        if augment { o.augment = true }
        if noAugment { o.augment = false }
        if noFeatureCache { o.cacheFeatures = false }
        o.clipGrad = clipGrad ?? o.clipGrad
        if let accumulation { o.accumulation = accumulation }
        o.ema = ema ?? o.ema
        if let seed { o.seed = seed }
        if let keepRateWarmup { o.keepRateWarmupEpochs = keepRateWarmup }
        if let evalEvery { o.evalEvery = evalEvery }
        o.workers = dataOptions.workers
        o.skipBadImages = dataOptions.skipBadImages || videoOptions.skipBadVideos
        try o.validate()
        return o
    }

    func run() throws {
        // Under mpirun: one rank of a data-parallel run (docs/DISTRIBUTED.md); alone: a single process.
        let world: any Collective = try MPICollective.fromEnvironment() ?? SingleProcess()
        if world.size > 1 { rankPrefix = "[rank \(world.rank)/\(world.size)] " }
        if weights.isEmpty && model.method != TuningMethod.full.rawValue {
            throw SparseTuningError("train needs --weights BACKBONE (a .safetensors, Google .npz or Hugging Face ViT directory); only --method full may start from random weights")
        }
        if let segmentationFormat = dataOptions.segmentationFormat() {
            guard world.size == 1 else { throw SparseTuningError("segmentation training runs in one process (no mpirun)") }
            return try runSegmentation(segmentationFormat)
        }
        let videoRecipe = recipe == "k400" || recipe == "ssv2"
        if let videoFormat = try dataOptions.videoFormat(expectVideo: videoRecipe || model.frames != nil) {
            return try runVideo(videoFormat, world: world)
        }
        if videoRecipe { throw SparseTuningError("--recipe \(recipe!) is a video recipe, but \(dataOptions.data) is an image dataset") }
        let options = try trainingOptions()
        let format = try dataOptions.parsedFormat()
        let train = try dataOptions.trainSource(format)
        let eval = noEval ? nil : try dataOptions.evalSource(format)
        var modelOptions = model
        if modelOptions.method == nil { modelOptions.method = TuningMethod.sparseTuning.rawValue }
        if modelOptions.classes == nil { modelOptions.classes = train.classNames.count }
        let built = try buildModel(modelOptions, weights: weights, forTraining: true)
        let vit = built.model
        if world.size > 1 {
            note("data-parallel: \(world.size) ranks, global batch \(options.batchSize) = \(options.batchSize / world.size) per rank; "
                 + (world.isLeader ? "this rank writes the task file and metrics" : "rank 0 writes the files"))
        }
        note("training \(vit.tuning.method.rawValue) on \(train.count) images (\(train.classNames.count) classes, \(format.rawValue))"
             + (eval.map { ", evaluating on \($0.count)" } ?? "") + "; "
             + String(format: "%.3f M trainable parameters (%.3f M without the head), %.2f GFLOPs/image (fvcore)",
                      Double(vit.trainableCount) / 1e6, Double(vit.trainableCountWithoutHead) / 1e6,
                      FLOPCounter.count(vit.config, tuning: vit.tuning).gflops))
        let trainer = try Trainer(model: vit, options: options, train: train, eval: eval,
                                  normalization: try dataOptions.normalization(task: built.task),
                                  evalResize: try dataOptions.resizeMode(format), output: output,
                                  metricsPath: metrics ?? defaultMetricsPath(output), classNames: train.classNames,
                                  collective: world)
        try finish(trainer, model: vit, options: options, world: world, unit: "img")
    }

    /// Fine-tunes a video model on clips of a video dataset (docs/VIDEO.md).
    private func runVideo(_ format: VideoDatasetFormat, world: any Collective) throws {
        var recipeOptions = self
        if recipeOptions.recipe == nil { recipeOptions.recipe = format == .somethingSomething ? "ssv2" : "k400" }
        let options = try recipeOptions.trainingOptions()
        let frames = model.frames ?? 16
        let settings = try videoOptions.settings(base: recipeOptions.recipe == "ssv2" ? .somethingSomething
                                                     : recipeOptions.recipe == "k400" ? .kinetics : VideoOptions.defaults(for: format),
                                                 frames: frames)
        let train = try dataOptions.videoTrain(format)
        let eval = noEval ? nil : try dataOptions.videoEval(format)
        var modelOptions = model
        if modelOptions.method == nil { modelOptions.method = TuningMethod.sparseTuning.rawValue }
        if modelOptions.classes == nil { modelOptions.classes = train.classCount }
        modelOptions.frames = frames
        let built = try buildModel(modelOptions, weights: weights, forTraining: true)
        let vit = built.model
        let cfg = vit.config
        let kind = cfg.tubelet.map { "space-time tubelets of \($0) frames" } ?? "per frame, \((vit.tuning.temporalPool ?? .mean).rawValue) pooling"
        note("training \(vit.tuning.method.rawValue) on \(train.count) videos (\(train.classCount) classes, \(format.rawValue)), "
             + "\(frames)-frame clips (\(kind)), \(settings.sampling), flip \(settings.flip ? "on" : "off")"
             + (eval.map { ", evaluating on \($0.count) videos with \(settings.clips)×\(settings.crops) views" } ?? "") + "; "
             + String(format: "%.3f M trainable parameters, %.2f GFLOPs/clip (fvcore)", Double(vit.trainableCount) / 1e6,
                      FLOPCounter.count(cfg, tuning: vit.tuning).gflops))
        let data = VideoTrainingData(train: train, eval: eval, settings: settings, frameTemplate: videoOptions.frameTemplate)
        let trainer = try Trainer(model: vit, options: options, data: .clips(data),
                                  normalization: try dataOptions.videoNormalization(task: nil, file: nil),
                                  output: output, metricsPath: metrics ?? defaultMetricsPath(output),
                                  classNames: train.classNames, collective: world)
        try finish(trainer, model: vit, options: options, world: world, unit: "clips")
    }

    /// Fine-tunes a segmentation model on ADE20K's or the generic layout (docs/SEGMENTATION.md).
    private func runSegmentation(_ format: SegmentationDatasetFormat) throws {
        if weights.isEmpty && model.method != TuningMethod.full.rawValue {
            throw SparseTuningError("train needs --weights BACKBONE; only --method full may start from random weights")
        }
        let s = segmentationOptions
        var o = SegmentationTrainingOptions()
        if let iters = s.iters { o.iterations = iters }
        if let batchSize { o.batchSize = batchSize }
        if let lr { o.lr = Double(lr) }
        if let weightDecay { o.weightDecay = weightDecay }
        if let warmup = s.warmupIters { o.warmupIterations = warmup }
        if let crop = s.cropSize { o.cropSize = crop }
        if let scale = s.scale {
            let v = try s.parsedScale(scale)
            (o.scaleLong, o.scaleShort) = (v[0], v[1])
        }
        if let evalEvery { o.evalEvery = evalEvery }
        o.evalLimit = s.evalLimit
        if let seed { o.seed = seed }
        o.workers = dataOptions.workers
        o.skipBadImages = dataOptions.skipBadImages
        o.evalEvery = min(o.evalEvery, o.iterations)
        if o.warmupIterations >= o.iterations { o.warmupIterations = o.iterations / 10 }
        try o.validate()
        let trainSplit = dataOptions.trainSplit ?? (format == .ade20k ? "training" : "train")
        let train = try SegmentationDatasetLocator.open(dataOptions.data, split: trainSplit, format: format)
        var eval: SegmentationDataset?
        if !noEval {
            let split = dataOptions.evalSplit ?? (format == .ade20k ? "validation" : "val")
            eval = dataOptions.evalSplit != nil ? try SegmentationDatasetLocator.open(dataOptions.data, split: split, format: format)
                : try? SegmentationDatasetLocator.open(dataOptions.data, split: split, format: format)
        }
        var modelOptions = model
        if modelOptions.method == nil { modelOptions.method = TuningMethod.sparseTuning.rawValue }
        modelOptions.classes = 0
        if modelOptions.imageSize == nil { modelOptions.imageSize = o.cropSize }
        let built = try buildModel(modelOptions, weights: weights, forTraining: true, segmentationHead: true)
        let settings = try s.config(base: nil, classes: train.classCount, depth: built.model.config.depth)
        let seg = try SegmentationModel(trunk: built.model, settings: settings, seed: o.seed)
        let flops = seg.flops(imageSize: o.cropSize)
        note("training \(built.model.tuning.method.rawValue) segmentation (\(settings.head.rawValue) head on blocks "
             + "\(seg.levels.map(String.init).joined(separator: ",")), \(settings.restore.rawValue) restoration) on \(train.count) images "
             + "(\(train.classCount) classes, \(format.rawValue))" + (eval.map { ", evaluating on \($0.count)" } ?? "")
             + String(format: "; %d iterations of %d crops of %d; %.3f M trainable parameters; %.2f GFLOPs at %d×%d (backbone %.2f, head %.2f)",
                      o.iterations, o.batchSize, o.cropSize, Double(seg.trainable.reduce(0) { $0 + $1.value.count }) / 1e6,
                      flops.trunk.gflops + Double(flops.head) / 1e9, o.cropSize, o.cropSize, flops.trunk.gflops, Double(flops.head) / 1e9))
        let trainer = try SegmentationTrainer(model: seg, options: o, train: train, eval: eval,
                                              evalMode: try s.inferenceMode(crop: o.cropSize),
                                              normalization: try dataOptions.videoNormalization(task: nil, file: nil),
                                              output: output, metricsPath: metrics ?? defaultMetricsPath(output))
        let summary = try trainer.run(resume: resume, stopAfter: stopAfter, progress: ProgressLine(epochs: 1, stepsPerEpoch: o.iterations))
        if json {
            try printJSON(SegmentationTrainJSON(summary: summary, model: seg, flops: flops, output: output), pretty: false)
            return
        }
        var line = String(format: "done: %d iterations, final loss %.4f", summary.iterations, summary.finalLoss)
        if let e = summary.evaluation { line += String(format: ", mIoU %.2f%%, aAcc %.2f%%", 100 * e.miou, 100 * e.aacc) }
        line += String(format: "; %.1f img/s, peak RSS %.0f MiB; wrote %@", summary.imagesPerSecond, summary.peakRSSMB, output)
        print(line)
    }

    /// Runs the trainer and reports (rank 0).
    private func finish(_ trainer: Trainer, model vit: TunedViT, options: TrainingOptions, world: any Collective, unit: String) throws {
        let summary = try trainer.run(resume: resume, stopAfter: stopAfter,
                                      progress: world.isLeader ? ProgressLine(epochs: options.epochs, stepsPerEpoch: trainer.stepsPerEpoch,
                                                                              unit: unit == "img" ? "img" : "clip") : nil)
        guard world.isLeader else { return }  // rank 0 reports for the run
        if json {
            try printJSON(TrainJSON(model: vit, summary: summary, output: output), pretty: false)
            return
        }
        var line = String(format: "done: %d epochs, final train loss %.4f, train acc %.2f%%", summary.epochs, summary.finalLoss,
                          100 * summary.trainAccuracy)
        if let e = summary.evaluation { line += String(format: ", eval top-1 %.2f%% (top-5 %.2f%%)", 100 * e.top1, 100 * e.top5) }
        if summary.skippedSamples > 0 {
            line += "; \(summary.skippedSamples) unreadable \(unit == "img" ? "images" : "videos") skipped"
        }
        line += String(format: "; %.1f %@/s, peak RSS %.0f MiB; wrote %@", summary.imagesPerSecond, unit, summary.peakRSSMB, output)
        print(line)
    }
}

/// `task.safetensors` → `task.metrics.jsonl`.
func defaultMetricsPath(_ output: String) -> String {
    (output.hasSuffix(".safetensors") ? String(output.dropLast(".safetensors".count)) : output) + ".metrics.jsonl"
}
