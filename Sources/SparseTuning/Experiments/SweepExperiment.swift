// SweepExperiment: accuracy against cost over token-sparsification settings — for every (ts-layers, keep rate)
// pair, train the method (or evaluate a given task file) and record top-1, fvcore GFLOPs and measured images/s.
import Foundation

/// A sweep of keep rates κ (and of the blocks that sparsify) for one method on one dataset.
///
/// Each point is trained from the backbone with the same training options, or — when ``trainedTensors`` is set
/// (a task file's tensors) — the trained model is only evaluated with that point's κ and blocks. Points of
/// ``outputDirectory``: `points/k<κ>_ts<blocks>/` holds the point's task file, metrics and `point.json`; a point
/// with its `point.json` is not trained again and an interrupted one resumes. Settings that cannot differ (κ = 1
/// and Dense or no adapters: the blocks do not matter) are trained once and shared. ``SweepReport`` writes
/// `sweep.csv` and the two charts.
public struct SweepExperiment {
    /// The pretrained backbone.
    public var backbone: ExperimentBackbone
    /// Training data (nil only when ``trainedTensors`` is given).
    public var train: (any ImageSource)?
    /// The data accuracy is measured on.
    public var eval: any ImageSource
    /// Classes of the task.
    public var classes: Int
    /// The tuning configuration every point starts from (its method, adapters, fusion, …); κ and the blocks are
    /// replaced per point.
    public var baseTuning: TuningConfig
    /// Keep rates to sweep, in (0, 1].
    public var keepRates: [Double] = [1, 0.9, 0.8, 0.7, 0.6, 0.5]
    /// Settings of the sparsifying blocks (0-based); nil stands for the depth's default (3, 6, 9 for 12 blocks).
    public var tsLayersList: [[Int]?] = [nil]
    /// Training options of every trained point.
    public var options = TrainingOptions()
    /// Normalisation and evaluation geometry of the data.
    public var normalization: Normalization = .inception
    public var evalResize: ResizeMode = .squash
    /// A trained task's tensors to evaluate instead of training (`--no-train` with a task file).
    public var trainedTensors: [String: Tensor]?
    /// Where points, `sweep.csv` and the charts go.
    public var outputDirectory: String
    /// The file formats of the two charts.
    public var chartFormats = SweepReport.defaultChartFormats
    /// How inference throughput is measured.
    public var throughput = ThroughputProbe()
    /// Receives one line per point.
    public var log: (String) -> Void = { _ in }
    /// Makes the live progress display of a training run (epochs, steps per epoch), or nil for none.
    public var progress: ((Int, Int) -> ProgressLine?)?
    /// The processes sharing the sweep under mpirun (docs/DISTRIBUTED.md); rank 0 writes the table and charts.
    public var collective: any Collective = SingleProcess()

    /// A sweep of `baseTuning`'s method on `eval` (trained on `train`), written to `outputDirectory`.
    public init(backbone: ExperimentBackbone, train: (any ImageSource)?, eval: any ImageSource, classes: Int,
                baseTuning: TuningConfig, outputDirectory: String) {
        self.backbone = backbone
        self.train = train
        self.eval = eval
        self.classes = classes
        self.baseTuning = baseTuning
        self.outputDirectory = outputDirectory
    }

    /// The tuning configuration of one point.
    public func tuning(keepRate: Double, tsLayers: [Int]?) -> TuningConfig {
        var t = baseTuning
        t.keepRate = keepRate
        t.tsLayers = tsLayers ?? t.reductionBlocks(depth: backbone.config.depth)
        return t
    }

    /// The folder of a point.
    public func pointDirectory(_ tuning: TuningConfig) -> String {
        let blocks = SweepPoint.text(tuning.reductionBlocks(depth: backbone.config.depth))
        let name = "k" + String(format: "%.4g", tuning.keepRate) + "_ts" + blocks
        return ((outputDirectory as NSString).appendingPathComponent("points") as NSString).appendingPathComponent(name)
    }

    /// Checks the settings before anything runs.
    /// - Throws: ``SparseTuningError`` naming the setting at fault.
    public func validate() throws {
        guard !keepRates.isEmpty, !tsLayersList.isEmpty else { throw SparseTuningError("the sweep has no points (give --keep-rates)") }
        for k in keepRates where !(k > 0 && k <= 1) {
            throw SparseTuningError("--keep-rates: \(k) is not in (0, 1]")
        }
        for k in keepRates { for ts in tsLayersList { try tuning(keepRate: k, tsLayers: ts).validate(depth: backbone.config.depth) } }
        guard baseTuning.reduction == .evit else {
            throw SparseTuningError("the sweep varies the EViT keep rate; --reduction tome has no keep rate")
        }
        if trainedTensors == nil {
            guard let train else { throw SparseTuningError("the sweep needs training data, or a task file to evaluate with --no-train") }
            if let bad = train.labels.first(where: { $0 >= classes }) {
                throw SparseTuningError("the training data has label \(bad) but the task has \(classes) classes")
            }
            try options.validate()
        }
        try throughput.validate()
    }

    /// Runs every point (training or evaluating it), then writes the CSV and the charts.
    /// - Returns: the report of all points, in sweep order (ts-layers settings outer, keep rates inner).
    @discardableResult
    public func run() throws -> SweepReport {
        try validate()
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        if collective.size > 1 { try trainSharedPoints() }
        var points: [SweepPoint] = []
        var shared: [String: SweepPoint] = [:]
        let total = keepRates.count * tsLayersList.count
        for ts in tsLayersList {
            for keepRate in keepRates {
                let t = tuning(keepRate: keepRate, tsLayers: ts)
                let label = "[\(points.count + 1)/\(total)] keep rate \(keepRate), ts-layers "
                    + SweepPoint.text(t.reductionBlocks(depth: backbone.config.depth))
                // Without sparsification the blocks matter only to the released-code adapters' stage sums.
                var key = t
                if !t.reducesTokens && t.adapter != .official { key.tsLayers = [] }
                let keyText = TaskConfig(vit: backbone.config, tuning: key).encoded()
                if var same = shared[keyText] {
                    same.tsLayers = t.reductionBlocks(depth: backbone.config.depth)
                    log("\(label): same model as an earlier point (no token is dropped), reusing its figures")
                    points.append(same)
                    continue
                }
                let point = try runPoint(t, label: label)
                log("\(label): top-1 " + String(format: "%.2f%%, %.3f GFLOPs, %.1f img/s", 100 * point.top1, point.gflops,
                                                 point.imagesPerSecond))
                shared[keyText] = point
                points.append(point)
            }
        }
        let report = SweepReport(points: points, method: baseTuning.method.rawValue)
        if collective.isLeader { try report.write(to: outputDirectory, chartFormats: chartFormats) }
        return report
    }

    /// Under mpirun: the ranks train the points to train, each point by the rank that claims it (``RunQueue``), and
    /// wait for each other; the sweep loop then finds every point done (its point.json). Evaluating a given task
    /// (no training) is left to the sweep loop on every rank.
    private func trainSharedPoints() throws {
        if trainedTensors == nil {
            let queue = try RunQueue(collective: collective)
            var seen = Set<String>()
            for ts in tsLayersList {
                for keepRate in keepRates {
                    let t = tuning(keepRate: keepRate, tsLayers: ts)
                    var key = t
                    if !t.reducesTokens && t.adapter != .official { key.tsLayers = [] }
                    guard seen.insert(TaskConfig(vit: backbone.config, tuning: key).encoded()).inserted else { continue }
                    let dir = pointDirectory(t)
                    guard !FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("point.json")),
                          try queue.claim(dir) else { continue }
                    _ = try runPoint(t, label: "keep rate \(keepRate), ts-layers " + SweepPoint.text(t.reductionBlocks(depth: backbone.config.depth)))
                }
            }
        }
        try collective.barrier()
    }

    /// Trains (or loads) and measures one point.
    func runPoint(_ tuning: TuningConfig, label: String) throws -> SweepPoint {
        let dir = pointDirectory(tuning)
        let pointFile = (dir as NSString).appendingPathComponent("point.json")
        if trainedTensors == nil, FileManager.default.fileExists(atPath: pointFile),
           let data = FileManager.default.contents(atPath: pointFile),
           let done = try? JSONCoding.decode(SweepPoint.self, from: data, source: pointFile) {
            log("\(label): done earlier (\(pointFile))")
            return done
        }
        let model: TunedViT
        var seconds = 0.0
        if let trainedTensors {
            model = try backbone.makeModel(tuning: tuning, classes: classes, trained: trainedTensors)
        } else {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            model = try backbone.makeModel(tuning: tuning, classes: classes, seed: options.seed)
            let taskFile = (dir as NSString).appendingPathComponent("task.safetensors")
            let resume = FileManager.default.fileExists(atPath: TrainingCheckpoint.resumePath(forTask: taskFile))
            log("\(label): " + (resume ? "resuming training" : "training on \(train!.count) images for \(options.epochs) epochs"))
            var o = options
            o.evalEvery = o.epochs
            let trainer = try Trainer(model: model, options: o, train: train!, eval: nil, normalization: normalization,
                                      evalResize: evalResize, output: taskFile,
                                      metricsPath: (dir as NSString).appendingPathComponent("metrics.jsonl"),
                                      classNames: train!.classNames)
            seconds = try trainer.run(resume: resume, progress: progress?(o.epochs, trainer.stepsPerEpoch)).seconds
            if o.ema != nil {
                try model.load(try TrainingCheckpoint.loadTask(taskFile).tensors.merging(backbone.tensors) { own, _ in own },
                               sources: backbone.sources)
            }
        }
        let evaluation = try Evaluator.evaluate(model, source: eval, batchSize: options.batchSize,
                                                augmentation: .eval(size: model.config.imageSize, mode: evalResize),
                                                normalization: normalization, workers: options.workers,
                                                skipBadImages: options.skipBadImages)
        let point = SweepPoint(keepRate: tuning.keepRate, tsLayers: tuning.reductionBlocks(depth: model.config.depth),
                               top1: evaluation.top1, top5: evaluation.top5, samples: evaluation.samples,
                               gflops: FLOPCounter.count(model.config, tuning: model.tuning).gflops,
                               imagesPerSecond: try throughput.measure(model), trainableParameters: model.trainableCount,
                               trainSeconds: seconds, trained: trainedTensors == nil)
        if trainedTensors == nil {
            try AtomicFileWriter.write([UInt8](JSONCoding.encode(point, pretty: true)), to: pointFile)
            try? FileManager.default.removeItem(atPath: TrainingCheckpoint.resumePath(
                forTask: (dir as NSString).appendingPathComponent("task.safetensors")))
        }
        return point
    }
}
