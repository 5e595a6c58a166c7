// The training loop (docs/METHOD.md §5): AdamW with warm-up + cosine, weight-decay exclusions, label smoothing,
// mixup/cutmix, gradient clipping and accumulation, EMA, κ warm-up; evaluation, an atomic task file and resume state
// each epoch, a JSONL metrics log and a live progress line. Same seed and thread count ⇒ same result, resumed or not.
import Foundation

/// Hyper-parameters of a training run. The defaults are the VTAB-1K recipe of docs/METHOD.md §5.
public struct TrainingOptions: Codable, Sendable, Equatable {
    public var epochs = 100
    public var batchSize = 64
    public var lr: Float = 1e-3
    public var weightDecay: Float = 1e-4
    public var warmupEpochs: Double = 10
    public var minLR: Float = 0
    public var labelSmoothing: Double = 0
    /// Mixup / CutMix alphas (0 = off) and the probability of mixing a batch.
    public var mixup: Double = 0
    public var cutmix: Double = 0
    public var mixupProb: Double = 1
    /// Random-resized-crop + horizontal flip (otherwise the evaluation transform is used for training too).
    public var augment = false
    /// Global gradient-norm clip (nil = off).
    public var clipGrad: Float?
    /// Micro-batches per optimiser step.
    public var accumulation = 1
    /// EMA decay of the trainable tensors (nil = off); evaluation then uses the averages.
    public var ema: Float?
    public var seed: UInt64 = 0
    /// EViT's keep-rate warm-up: κ from 1 to its target over these epochs (0 = off).
    public var keepRateWarmupEpochs = 0
    public var workers = 2
    public var skipBadImages = false
    /// Evaluate every this many epochs (and after the last).
    public var evalEvery = 1
    /// When only the head trains and the pipeline is deterministic (no augmentation, mixup, drop-path or keep-rate
    /// warm-up), compute the backbone's features once and train the head on them (same results, far faster).
    public var cacheFeatures = true

    public init() {}

    /// The complete-dataset recipe of the released code (docs/METHOD.md §5): mixup 0.8, cutmix 1.0, smoothing 0.1,
    /// random-resized-crop + flip, 20 warm-up epochs of 100.
    public static var completeDataset: TrainingOptions {
        var o = TrainingOptions()
        o.mixup = 0.8
        o.cutmix = 1.0
        o.labelSmoothing = 0.1
        o.augment = true
        o.warmupEpochs = 20
        return o
    }

    /// DyT's video recipe (docs/VIDEO.md, "Recipes"): AdamW with lr 5e-4 at batch 128 scaled linearly to `batch`,
    /// weight decay 0.01, 2 warm-up epochs then cosine; K400 12 epochs, SSv2 50. Clip augmentation (scale jitter,
    /// crop, flip where the labels allow) is the video pipeline's; no mixup.
    public static func video(epochs: Int, batch: Int) -> TrainingOptions {
        var o = TrainingOptions()
        o.epochs = epochs
        o.batchSize = batch
        o.lr = 5e-4 * Float(batch) / 128
        o.weightDecay = 0.01
        o.warmupEpochs = 2
        o.augment = true
        return o
    }

    /// Kinetics-400 (12 epochs) at `batch` clips per step.
    public static func kinetics400(batch: Int = 8) -> TrainingOptions { video(epochs: 12, batch: batch) }
    /// Something-Something v2 (50 epochs) at `batch` clips per step.
    public static func somethingSomethingV2(batch: Int = 8) -> TrainingOptions { video(epochs: 50, batch: batch) }

    /// Throws a message naming the option when a value is impossible.
    public func validate() throws {
        func need(_ ok: Bool, _ m: String) throws { if !ok { throw SparseTuningError(m) } }
        try need(epochs > 0, "--epochs must be positive (got \(epochs))")
        try need(batchSize > 0, "--batch must be positive (got \(batchSize))")
        try need(lr > 0 && lr.isFinite, "--lr must be positive (got \(lr))")
        try need(weightDecay >= 0, "--weight-decay must be 0 or more (got \(weightDecay))")
        try need(warmupEpochs >= 0, "--warmup-epochs must be 0 or more (got \(warmupEpochs))")
        try need(labelSmoothing >= 0 && labelSmoothing < 1, "--label-smoothing must be in [0, 1) (got \(labelSmoothing))")
        try need(mixup >= 0 && cutmix >= 0, "--mixup and --cutmix must be 0 or more")
        try need(clipGrad.map { $0 > 0 } ?? true, "--clip-grad must be positive")
        try need(accumulation >= 1, "--accumulation must be at least 1 (got \(accumulation))")
        try need(ema.map { $0 > 0 && $0 < 1 } ?? true, "--ema decay must be in (0, 1)")
        try need(keepRateWarmupEpochs >= 0, "--keep-rate-warmup must be 0 or more")
        try need(evalEvery >= 1, "--eval-every must be at least 1")
    }
}

/// What a finished (or resumed-and-finished) run reports.
public struct TrainingSummary: Sendable {
    public var epochs: Int
    public var steps: Int
    public var finalLoss: Double
    public var trainAccuracy: Double
    public var evaluation: EvaluationResult?
    public var imagesPerSecond: Double
    public var seconds: Double
    public var peakRSSMB: Double
    /// Whether the head trained on frozen features computed once (``TrainingOptions/cacheFeatures``).
    public var featuresCached = false
    /// Processes of the data-parallel run (1 alone); the figures above are over all of them.
    public var worldSize = 1
    /// Seconds this rank spent averaging gradients (0 alone), and the bytes it all-reduced per optimiser step.
    public var allreduceSeconds = 0.0
    public var allreduceBytesPerStep = 0
    /// Distinct training samples left out because they could not be read (with ``TrainingOptions/skipBadImages``).
    public var skippedSamples = 0
}

/// Trains a ``TunedViT`` on images or video clips.
public final class Trainer {
    public let model: TunedViT
    public let options: TrainingOptions
    /// What it trains on and scores.
    public let data: TrainingData
    public let normalization: Normalization
    /// Evaluation geometry (VTAB: straight resize; complete datasets: timm's centre crop).
    public let evalResize: ResizeMode
    /// The task file written after every epoch (its resume state beside it), or nil to write nothing.
    public let output: String?
    public let metricsPath: String?
    /// Class names stored in the task file.
    public let classNames: [String]?
    /// The processes of a data-parallel run (``SingleProcess`` alone): `options.batchSize` is the global batch, split
    /// evenly over them; only rank 0 writes files (docs/DISTRIBUTED.md).
    public let collective: any Collective
    let loader: BatchLoader

    /// Optimiser steps per epoch.
    public var stepsPerEpoch: Int { max(1, loader.batchesPerEpoch / options.accumulation) }

    /// A trainer on images: `train`, scored on `eval` after epochs.
    public convenience init(model: TunedViT, options: TrainingOptions, train: any ImageSource, eval: (any ImageSource)?,
                            normalization: Normalization, evalResize: ResizeMode = .squash, output: String?, metricsPath: String?,
                            classNames: [String]? = nil, collective: any Collective = SingleProcess()) throws {
        try self.init(model: model, options: options, data: .images(train: train, eval: eval), normalization: normalization,
                      evalResize: evalResize, output: output, metricsPath: metricsPath, classNames: classNames,
                      collective: collective)
    }

    /// A trainer on `data`: images, or video clips (for a video model; mixup/cutmix apply to images only).
    public init(model: TunedViT, options: TrainingOptions, data: TrainingData,
                normalization: Normalization, evalResize: ResizeMode = .squash, output: String?, metricsPath: String?,
                classNames: [String]? = nil, collective: any Collective = SingleProcess()) throws {
        try options.validate()
        guard options.batchSize % collective.size == 0 else {
            throw SparseTuningError("--batch \(options.batchSize) is the global batch; it must be divisible by the \(collective.size) ranks")
        }
        guard model.config.classes > 0 else { throw SparseTuningError("training needs a head: give --classes") }
        if let bad = data.badLabel(classes: model.config.classes) {
            throw SparseTuningError("the \(bad.set) data has label \(bad.label) but the model has \(model.config.classes) classes")
        }
        if case .clips(let v) = data {
            guard model.config.isVideo else {
                throw SparseTuningError("video clips need a video model: give --frames T for a per-frame model, or a VideoMAE checkpoint")
            }
            guard options.mixup == 0 && options.cutmix == 0 else {
                throw SparseTuningError("--mixup and --cutmix apply to images; video training does not mix clips")
            }
            guard v.settings.sampling.frames == model.config.frames else {
                throw SparseTuningError("clips of \(v.settings.sampling.frames) frames for a model of \(model.config.frames) (--frames)")
            }
        } else if model.config.isVideo {
            throw SparseTuningError("a video model (\(model.config.frames) frames) trains on video clips, not images")
        }
        self.model = model
        self.options = options
        self.data = data
        self.normalization = normalization
        self.evalResize = evalResize
        self.output = output
        self.metricsPath = metricsPath
        self.classNames = classNames
        self.collective = collective
        backboneFingerprint = model.backboneFingerprint
        let size = model.config.imageSize
        let samples: any SampleLoading
        switch data {
        case .images(let train, _):
            let trainAug: ImageAugmentation = options.augment ? try .timmTrain(size: size) : .eval(size: size, mode: evalResize)
            samples = ImageSamples(source: train, augmentation: trainAug, normalization: normalization)
        case .clips(let v):
            samples = try ClipSamples(dataset: v.train, sampling: v.settings.sampling,
                                      augmentation: ClipAugmentation(size: size, flip: v.settings.flip),
                                      normalization: normalization, frameTemplate: v.frameTemplate)
        }
        loader = try BatchLoader(samples: samples, batchSize: options.batchSize / collective.size, shuffle: true,
                                 dropLast: data.trainCount >= options.batchSize, seed: options.seed, workers: options.workers,
                                 skipBadImages: options.skipBadImages, shard: (collective.rank, collective.size))
    }

    /// ``BackboneFingerprint`` of the frozen backbone, computed before training (nil for full fine-tuning).
    public let backboneFingerprint: String?

    /// The task configuration stored with the weights (``TaskConfig``): the model, class names, the backbone's
    /// fingerprint, the evaluation preprocessing, the recipe and the library version; the task file written after
    /// each epoch adds the metrics so far.
    public var taskConfig: TaskConfig {
        var c = TaskConfig(vit: model.config, tuning: model.tuning, classNames: classNames,
                           normalization: normalization == .imagenet ? "imagenet" : "inception",
                           backboneFingerprint: backboneFingerprint,
                           preprocessing: TaskPreprocessing(size: model.config.imageSize, mode: evalResize, normalization: normalization),
                           recipe: options, libraryVersion: SparseTuningVersion.string)
        if case .clips(let v) = data { c.video = v.settings }
        return c
    }

    /// `{"task": …, "training": …}`: what a resume state must agree with. The task part holds only the fields
    /// every version has written (so resume states of earlier versions still resume).
    private struct ResumeConfiguration: Encodable {
        var task: TaskConfig
        var training: TrainingOptions
    }

    private var resumeConfiguration: ResumeConfiguration {
        ResumeConfiguration(task: TaskConfig(vit: model.config, tuning: model.tuning, classNames: classNames,
                                             normalization: normalization == .imagenet ? "imagenet" : "inception"),
                            training: options)
    }

    /// Runs the remaining epochs (all of them, or those after the resume state's when `resume` is set), stopping
    /// early after epoch `stopAfter` when given (a time-sliced run; continue it later with `resume`).
    /// `progress` drives the live progress line.
    public func run(resume: Bool = false, stopAfter: Int? = nil, progress: ProgressLine? = nil) throws -> TrainingSummary {
        let size = model.config.imageSize
        let totalSteps = stepsPerEpoch * options.epochs
        // Warm-up is capped so that at least one step of the cosine remains (short runs).
        let warmup = min(Int(options.warmupEpochs * Double(stepsPerEpoch)), totalSteps - 1)
        let schedule = try CosineLRSchedule(baseLR: options.lr, totalSteps: totalSteps, warmupSteps: max(0, warmup),
                                            minLR: options.minLR)
        let keepSchedule = model.tuning.reducesTokens && model.tuning.reduction == .evit && options.keepRateWarmupEpochs > 0
            ? try KeepRateSchedule(target: Float(model.tuning.keepRate), epochs: options.keepRateWarmupEpochs,
                                   stepsPerEpoch: stepsPerEpoch) : nil
        let optimizer = try AdamW(parameters: model.trainable, lr: options.lr, weightDecay: options.weightDecay)
        let ema = try options.ema.map { try ExponentialMovingAverage(parameters: model.trainable, decay: $0) }
        let mixer = options.mixup > 0 || options.cutmix > 0
            ? try MixupCutmix(classes: model.config.classes, mixupAlpha: options.mixup, cutmixAlpha: options.cutmix,
                              prob: options.mixupProb, labelSmoothing: options.labelSmoothing) : nil
        model.prepackWeights = false  // frozen matrices are read in place: half their memory, ~5% slower products
        var config = taskConfig
        // The resume state also records the training options: resuming under another schedule is refused.
        let resumeJSON = try JSONCoding.string(resumeConfiguration)
        let buffers = model.taskStateDict().filter { $0.name.hasPrefix("head.0.") }
        let leader = collective.isLeader
        try collective.broadcastValues(model.trainable)  // every rank starts from rank 0's trainable tensors
        model.parametersUpdated()

        var startEpoch = 0, step = 0
        var best: Double?, bestEpoch: Int?
        if resume, let output, FileManager.default.fileExists(atPath: TrainingCheckpoint.resumePath(forTask: output)) {
            let state = try TrainingCheckpoint.loadResume(from: TrainingCheckpoint.resumePath(forTask: output), optimizer: optimizer,
                                                          ema: ema, buffers: buffers, expectedConfigJSON: resumeJSON,
                                                          ignoringConfigKeys: ["training.workers", "training.evalEvery",
                                                                               "training.skipBadImages", "training.cacheFeatures"])
            guard state.progress.epoch <= options.epochs else {
                throw SparseTuningError("\(state.path) has already trained \(state.progress.epoch) epochs, more than --epochs \(options.epochs)")
            }
            startEpoch = state.progress.epoch
            step = state.progress.step
            best = state.progress.bestMetric
            bestEpoch = state.progress.bestEpoch
            model.parametersUpdated()
            progress?.message("resumed from \(state.path) after epoch \(startEpoch) (step \(step))")
        }
        // Frozen features: computed once when nothing below the head trains and the input pipeline is deterministic.
        var cachedImages: (train: any ImageSource, eval: (any ImageSource)?)?
        if case .images(let train, let eval) = data { cachedImages = (train, eval) }
        let cached = options.cacheFeatures && model.trainsHeadOnly && !options.augment && mixer == nil
            && model.tuning.dropPath == 0 && keepSchedule == nil && collective.size == 1 && cachedImages != nil
        var trainCache: FeatureCache?, evalCache: FeatureCache?
        if cached, let (train, eval) = cachedImages {
            progress?.message("only the head trains: computing the frozen features of \(train.count) training images once")
            trainCache = try FeatureCache(model: model, source: train, batchSize: options.batchSize, augmentation: .eval(size: model.config.imageSize, mode: evalResize),
                                          normalization: normalization, workers: options.workers, skipBadImages: options.skipBadImages)
            if let eval {
                if let bad = eval.labels.first(where: { $0 < 0 || $0 >= model.config.classes }) {
                    throw SparseTuningError("the evaluation data has label \(bad) but the model has \(model.config.classes) classes")
                }
                evalCache = try FeatureCache(model: model, source: eval, batchSize: options.batchSize,
                                             augmentation: .eval(size: size, mode: evalResize), normalization: normalization,
                                             workers: options.workers, skipBadImages: options.skipBadImages)
            }
        }
        let metrics = try metricsPath.flatMap { path in
            leader ? try MetricsLog(path: path, mode: startEpoch > 0 ? .append(keepingThroughStep: step) : .create) : nil
        }
        defer { metrics?.close() }

        let hasEval: Bool
        switch data {
        case .images(_, let eval): hasEval = eval != nil
        case .clips(let v): hasEval = v.eval != nil
        }
        let started = DispatchTime.now().uptimeNanoseconds
        var images = 0, lastLoss = 0.0, lastTrainAcc = 0.0
        var allreduceNanoseconds: UInt64 = 0
        var evaluation: EvaluationResult?
        for epoch in startEpoch..<min(options.epochs, stopAfter ?? options.epochs) {
            progress?.beginEpoch(epoch)
            let it = trainCache == nil ? loader.epoch(epoch) : nil
            defer { it?.cancel() }
            var cachedBatches = trainCache?.batches(order: loader.order(epoch: epoch), batchSize: options.batchSize,
                                                    dropLast: loader.dropLast).makeIterator()
            var lossSum = 0.0, seen = 0, correct = 0, micro = 0, stepInEpoch = 0, stepImages = 0
            var number = 0
            let epochStart = DispatchTime.now().uptimeNanoseconds
            while true {
                // A batch of images, or of cached features.
                let batch = try it?.next(), features = cachedBatches?.next()
                guard let labels = batch?.labels ?? features?.labels else { break }
                var rng = loader.batchGenerator(epoch: epoch, number: number)
                number += 1
                let keepRate = keepSchedule.map { Double($0.keepRate(atStep: step)) }
                var targets = CrossEntropy.Targets.hard(labels)
                var smoothing = Float(options.labelSmoothing)
                if let mixer, let batch {
                    targets = .soft(try mixer.apply(images: batch.images, labels: labels, using: &rng).targets)
                    smoothing = 0  // already in the mixed targets
                }
                let loss: Float, logits: Tensor
                let lossFunction = { (logits: Tensor) in
                    try CrossEntropy.forwardBackward(logits: logits, targets: targets, labelSmoothing: smoothing)
                }
                if let features {
                    (loss, logits) = try model.headForwardBackward(features.features, training: true, loss: lossFunction)
                } else {
                    (loss, logits) = try model.forwardBackward(batch!.images, training: true, keepRate: keepRate, rng: &rng,
                                                              loss: lossFunction)
                }
                guard loss.isFinite else {
                    throw SparseTuningError("training diverged: the loss is \(loss) at epoch \(epoch + 1), step \(step + 1); lower --lr")
                }
                correct += try Accuracy.correct(logits: logits, labels: labels)
                lossSum += Double(loss) * Double(labels.count)
                seen += labels.count
                stepImages += labels.count
                micro += 1
                if micro == options.accumulation {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    try collective.averageGradients(model.trainable)
                    allreduceNanoseconds += DispatchTime.now().uptimeNanoseconds - t0
                    if options.accumulation > 1 { scaleGradients(model.trainable, by: 1 / Float(options.accumulation)) }
                    if let clip = options.clipGrad { clipGradNorm(model.trainable, maxNorm: clip) }
                    optimizer.step(lr: schedule.lr(at: step))
                    optimizer.zeroGrad()
                    model.parametersUpdated()
                    ema?.update()
                    micro = 0
                    step += 1
                    stepInEpoch += 1
                    progress?.update(epoch: epoch, step: min(stepInEpoch, stepsPerEpoch), loss: Float(lossSum / Double(seen)),
                                     lr: schedule.lr(at: step), images: stepImages)
                    stepImages = 0
                }
            }
            if micro > 0 { optimizer.zeroGrad() }  // an incomplete accumulation group at the end of an epoch is dropped
            if collective.size > 1 {  // the epoch's figures over every rank's samples
                var totals = [lossSum, Double(seen), Double(correct)]
                try collective.allreduceSum(&totals)
                lossSum = totals[0]; seen = Int(totals[1]); correct = Int(totals[2])
            }
            images += seen
            lastLoss = seen > 0 ? lossSum / Double(seen) : 0
            lastTrainAcc = seen > 0 ? Double(correct) / Double(seen) : 0
            let epochSeconds = Double(DispatchTime.now().uptimeNanoseconds - epochStart) / 1e9
            var record = MetricsRecord(epoch: epoch + 1, step: step, loss: lastLoss, lr: Double(schedule.lr(at: step)),
                                       trainAccuracy: lastTrainAcc, imagesPerSecond: Double(seen) / max(epochSeconds, 1e-9),
                                       time: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            var summary = String(format: "epoch %d/%d: loss %.4f, train acc %.2f%%", epoch + 1, options.epochs, lastLoss, 100 * lastTrainAcc)
            if hasEval, (epoch + 1) % options.evalEvery == 0 || epoch + 1 == options.epochs {
                let run = {
                    if let evalCache { return try Evaluator.evaluate(self.model, cache: evalCache, batchSize: self.options.batchSize) }
                    let c = self.collective
                    switch self.data {
                    case .images(_, let eval?):
                        let shard: any ImageSource = c.size > 1 ? ShardedSource(eval, rank: c.rank, ranks: c.size) : eval
                        let local = try Evaluator.evaluate(self.model, source: shard, batchSize: self.options.batchSize,
                                                           augmentation: .eval(size: size, mode: self.evalResize),
                                                           normalization: self.normalization, workers: self.options.workers,
                                                           skipBadImages: self.options.skipBadImages)
                        return try local.reduced(over: c)
                    case .clips(let v):
                        // Every rank scores the whole set (the same figures on each); views as the task file records.
                        return try Evaluator.evaluate(self.model, videos: v.eval!, settings: v.settings, size: size,
                                                      normalization: self.normalization, workers: self.options.workers,
                                                      skipBadVideos: self.options.skipBadImages, frameTemplate: v.frameTemplate)
                    case .images(_, nil):
                        preconditionFailure("no evaluation data")
                    }
                }
                let result: EvaluationResult
                if let ema {
                    ema.swapIn(); model.parametersUpdated()
                    defer { ema.swapOut(); model.parametersUpdated() }
                    result = try run()
                } else {
                    result = try run()
                }
                evaluation = result
                record.valAccuracy = result.top1
                summary += String(format: ", eval top-1 %.2f%% top-5 %.2f%%", 100 * result.top1, 100 * result.top5)
                if best == nil || result.top1 > best! { best = result.top1; bestEpoch = epoch + 1 }
            }
            try metrics?.append(record)
            if let output, leader {
                if let ema { ema.swapIn() }
                config.metrics = TaskMetrics(epochs: epoch + 1, steps: step, trainLoss: lastLoss, trainAccuracy: lastTrainAcc,
                                             evalTop1: evaluation?.top1, evalTop5: evaluation?.top5, bestEvalTop1: best,
                                             bestEpoch: bestEpoch)
                try TrainingCheckpoint.saveTask(model.taskStateDict(), configJSON: config.encoded(), to: output)
                if let ema { ema.swapOut() }
                try TrainingCheckpoint.saveResume(to: TrainingCheckpoint.resumePath(forTask: output), optimizer: optimizer, ema: ema,
                                                  buffers: buffers,
                                                  progress: ResumeProgress(epoch: epoch + 1, step: step, bestMetric: best, bestEpoch: bestEpoch),
                                                  configJSON: resumeJSON)
            }
            progress?.endEpoch(summary)
        }
        progress?.finish()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return TrainingSummary(epochs: options.epochs, steps: step, finalLoss: lastLoss, trainAccuracy: lastTrainAcc,
                               evaluation: evaluation, imagesPerSecond: Double(images) / max(seconds, 1e-9), seconds: seconds,
                               peakRSSMB: Benchmark.peakResidentMB(), featuresCached: cached, worldSize: collective.size,
                               allreduceSeconds: Double(allreduceNanoseconds) / 1e9,
                               allreduceBytesPerStep: collective.size > 1 ? 4 * model.trainable.reduce(0) { $0 + $1.grad.count } : 0,
                               skippedSamples: Set(loader.skipped.map(\.index)).count)
    }
}
