// The segmentation training loop (docs/SEGMENTATION.md, "Training"): mmseg's ADE20K recipe — iterations, AdamW, linear
// warm-up then polynomial decay, the random resize / crop (cat_max_ratio) / flip / photometric pipeline — with
// Sparse-Tuning's frozen backbone, adapters and token sparsification; mIoU evaluation, an atomic task file and resume
// state at every evaluation, a JSONL metrics log and a live progress line.
import Foundation

/// Hyper-parameters of a segmentation run (defaults: mmseg's ADE20K 160k schedule, batch 16, crop 512).
public struct SegmentationTrainingOptions: Codable, Sendable, Equatable {
    public var iterations = 160_000
    public var batchSize = 16
    public var lr: Double = 1e-4
    public var weightDecay: Float = 0.05
    public var warmupIterations = 1500
    public var warmupStartFactor = 1e-6
    public var power = 1.0
    public var minLR = 0.0
    public var cropSize = 512
    /// mmseg's Resize scale (long, short) of training (with the random ratio) and of evaluation.
    public var scaleLong = 2048
    public var scaleShort = 512
    /// Evaluate, and write the task file and resume state, every this many iterations (and after the last).
    public var evalEvery = 16_000
    /// Evaluate on at most this many images (nil: all).
    public var evalLimit: Int?
    public var seed: UInt64 = 0
    public var workers = 2
    public var skipBadImages = false

    public init() {}

    /// Throws a message naming the flag when a value is impossible.
    public func validate() throws {
        func need(_ ok: Bool, _ m: String) throws { if !ok { throw SparseTuningError(m) } }
        try need(iterations > 0, "--iters must be positive (got \(iterations))")
        try need(batchSize > 0, "--batch must be positive (got \(batchSize))")
        try need(lr > 0 && lr.isFinite, "--lr must be positive (got \(lr))")
        try need(weightDecay >= 0, "--weight-decay must be 0 or more")
        try need(warmupIterations >= 0 && warmupIterations < iterations, "--warmup-iters must be below --iters")
        try need(cropSize >= 16 && cropSize <= 4096, "--crop-size must be 16…4096 (got \(cropSize))")
        try need(scaleLong >= scaleShort && scaleShort > 0, "--scale must be LONG,SHORT with LONG ≥ SHORT > 0")
        try need(evalEvery > 0, "--eval-every must be positive")
    }
}

/// What a segmentation run reports.
public struct SegmentationTrainingSummary: Sendable {
    public var iterations: Int
    public var finalLoss: Double
    public var evaluation: SegmentationScores?
    public var imagesPerSecond: Double
    public var seconds: Double
    public var peakRSSMB: Double
    public var skippedSamples: Int
}

/// Trains a ``SegmentationModel`` on a ``SegmentationDataset``.
public final class SegmentationTrainer {
    public let model: SegmentationModel
    public let options: SegmentationTrainingOptions
    public let train: SegmentationDataset
    public let eval: SegmentationDataset?
    public let evalMode: SegmentationInferenceMode
    public let normalization: Normalization
    public let output: String?
    public let metricsPath: String?
    let loader: BatchLoader

    public init(model: SegmentationModel, options: SegmentationTrainingOptions, train: SegmentationDataset,
                eval: SegmentationDataset?, evalMode: SegmentationInferenceMode = .whole, normalization: Normalization = .imagenet,
                output: String?, metricsPath: String?) throws {
        try options.validate()
        guard train.classCount == model.settings.classes else {
            throw SparseTuningError("the training data has \(train.classCount) classes but the model \(model.settings.classes)")
        }
        if let eval, eval.classCount != model.settings.classes {
            throw SparseTuningError("the evaluation data has \(eval.classCount) classes but the model \(model.settings.classes)")
        }
        guard options.cropSize % model.trunk.config.patch == 0 else {
            throw SparseTuningError("--crop-size \(options.cropSize) must be a multiple of the patch size \(model.trunk.config.patch)")
        }
        self.model = model
        self.options = options
        self.train = train
        self.eval = eval
        self.evalMode = evalMode
        self.normalization = normalization
        self.output = output
        self.metricsPath = metricsPath
        var augmentation = SegmentationAugmentation.ade20k(cropSize: options.cropSize)
        augmentation.scaleLong = options.scaleLong
        augmentation.scaleShort = options.scaleShort
        let samples = SegmentationSamples(dataset: train, augmentation: augmentation, normalization: normalization)
        loader = try BatchLoader(samples: samples, batchSize: options.batchSize, shuffle: true,
                                 dropLast: train.count >= options.batchSize, seed: options.seed, workers: options.workers,
                                 skipBadImages: options.skipBadImages)
    }

    /// The task configuration stored with the weights.
    public var taskConfig: TaskConfig {
        var c = TaskConfig(vit: model.trunk.config, tuning: model.trunk.tuning, classNames: train.classNames,
                           normalization: normalization == .imagenet ? "imagenet" : "inception",
                           backboneFingerprint: model.trunk.backboneFingerprint,
                           preprocessing: TaskPreprocessing(size: options.cropSize, mode: .squash, normalization: normalization),
                           libraryVersion: SparseTuningVersion.string)
        var s = model.settings
        s.ignoreIndex = Int(train.ignoreIndex)
        s.cropSize = options.cropSize
        s.scale = [options.scaleLong, options.scaleShort]
        c.segmentation = s
        return c
    }

    /// mIoU and friends of the model on `eval` (inference mode).
    public func evaluate() throws -> SegmentationScores? {
        guard let eval else { return nil }
        let evaluator = SegmentationEvaluator(dataset: eval, mode: evalMode, scaleLong: options.scaleLong,
                                              scaleShort: options.scaleShort, normalization: normalization)
        return try evaluator.evaluate(limit: options.evalLimit) { try model.forward($0) }
    }

    /// Runs the remaining iterations (continuing from the resume state beside `output` with `resume`); with
    /// `stopAfter`, stops after that iteration (which must be an evaluation point, so that its state is written).
    public func run(resume: Bool = false, stopAfter: Int? = nil, progress: ProgressLine? = nil) throws -> SegmentationTrainingSummary {
        if let s = stopAfter, s % options.evalEvery != 0 && s < options.iterations {
            throw SparseTuningError("--stop-after \(s) must be a multiple of --eval-every \(options.evalEvery) (where the state is written)")
        }
        let end = min(options.iterations, stopAfter ?? options.iterations)
        let schedule = try PolyLRSchedule(baseLR: options.lr, totalSteps: options.iterations, warmupSteps: options.warmupIterations,
                                          warmupStartFactor: options.warmupStartFactor, power: options.power, minLR: options.minLR)
        let optimizer = try AdamW(parameters: model.trainable, lr: Float(options.lr), weightDecay: options.weightDecay)
        model.trunk.prepackWeights = false
        let resumeJSON = try JSONCoding.string(options)
        var step = 0, epoch = 0, skip = 0  // skip: batches of the resumed epoch already trained
        if resume, let output, FileManager.default.fileExists(atPath: TrainingCheckpoint.resumePath(forTask: output)) {
            let state = try TrainingCheckpoint.loadResume(from: TrainingCheckpoint.resumePath(forTask: output), optimizer: optimizer,
                                                          buffers: model.headBuffers, expectedConfigJSON: resumeJSON,
                                                          ignoringConfigKeys: ["workers", "evalEvery", "evalLimit", "skipBadImages"])
            (step, epoch, skip) = (state.progress.step, state.progress.epoch, state.progress.batchInEpoch)
            model.trunk.parametersUpdated()
            model.headParametersUpdated()
            progress?.message("resumed from \(state.path) at iteration \(step)")
        }
        let metrics = try metricsPath.flatMap { try MetricsLog(path: $0, mode: step > 0 ? .append(keepingThroughStep: step) : .create) }
        defer { metrics?.close() }
        var lossSum = 0.0, seen = 0, images = 0, lastLoss = 0.0
        var evaluation: SegmentationScores?
        let started = DispatchTime.now().uptimeNanoseconds
        progress?.beginEpoch(0)
        while step < end {
            let it = loader.epoch(epoch)
            defer { it.cancel() }
            var number = 0
            while step < end, let batch = try it.next() {
                defer { number += 1 }
                if skip > 0 { skip -= 1; continue }
                var rng = loader.batchGenerator(epoch: epoch, number: number)
                let (x, labels) = SegmentationBatch.split(batch)
                let (loss, _) = try model.forwardBackward(x, labels: labels, training: true, rng: &rng)
                guard loss.isFinite else {
                    throw SparseTuningError("training diverged: the loss is \(loss) at iteration \(step + 1); lower --lr")
                }
                optimizer.step(lr: schedule.lr(at: step))
                optimizer.zeroGrad()
                model.trunk.parametersUpdated()
                model.headParametersUpdated()
                step += 1
                lossSum += Double(loss)
                seen += 1
                images += batch.count
                lastLoss = lossSum / Double(seen)
                progress?.update(epoch: 0, step: step, loss: Float(lastLoss), lr: schedule.lr(at: step), images: batch.count)
                if step % options.evalEvery == 0 || step == options.iterations {
                    evaluation = try evaluate()
                    var record = MetricsRecord(epoch: epoch + 1, step: step, loss: lastLoss, lr: Double(schedule.lr(at: step)),
                                               trainAccuracy: 0, imagesPerSecond: Double(images) / seconds(since: started),
                                               time: seconds(since: started))
                    record.valAccuracy = evaluation?.miou
                    try metrics?.append(record)
                    var line = String(format: "iteration %d/%d: loss %.4f", step, options.iterations, lastLoss)
                    if let e = evaluation { line += String(format: ", mIoU %.2f%%, aAcc %.2f%%", 100 * e.miou, 100 * e.aacc) }
                    progress?.endEpoch(line)
                    lossSum = 0
                    seen = 0
                    if let output {
                        try TrainingCheckpoint.saveTask(model.taskStateDict(), configJSON: taskConfig.encoded(), to: output)
                        try TrainingCheckpoint.saveResume(to: TrainingCheckpoint.resumePath(forTask: output), optimizer: optimizer,
                                                          buffers: model.headBuffers,
                                                          progress: ResumeProgress(epoch: epoch, batchInEpoch: number + 1, step: step,
                                                                                   bestMetric: evaluation?.miou),
                                                          configJSON: resumeJSON)
                    }
                }
            }
            epoch += 1
        }
        progress?.finish()
        return SegmentationTrainingSummary(iterations: step, finalLoss: lastLoss, evaluation: evaluation,
                                           imagesPerSecond: Double(images) / seconds(since: started), seconds: seconds(since: started),
                                           peakRSSMB: Benchmark.peakResidentMB(), skippedSamples: Set(loader.skipped.map(\.index)).count)
    }

    private func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}
