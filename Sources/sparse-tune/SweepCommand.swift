// `sparse-tune sweep`: accuracy against cost over token-sparsification settings — keep rates × sparsifying blocks —
// written as sweep.csv and accuracy-vs-GFLOPs / accuracy-vs-images/s charts (PNG, SVG and/or PDF).
import ArgumentParser
import Foundation
import SparseTuning
import SparseTuningMPI

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Sweep the keep rate (and the sparsifying blocks): accuracy, GFLOPs and images/s per setting, with charts.",
        discussion: """
        For every --ts-layers-list setting and every --keep-rates value the method is trained on the training split \
        and scored on the evaluation split (or, with --no-train --task FILE, the trained task is only evaluated at \
        each setting). Writes OUT/sweep.csv, OUT/accuracy_vs_gflops.{png,svg} and OUT/accuracy_vs_images_per_s.{png,svg} \
        (one line per ts-layers setting; --chart-formats picks png, svg and/or pdf); trained points are kept under OUT/points/ and not retrained. GFLOPs follow \
        fvcore (1 multiply-accumulate = 1 FLOP); images/s is measured on this machine.
        """)

    @Option(name: .customLong("weights"), help: "Backbone checkpoint (.safetensors, Google .npz, or a Hugging Face ViT directory); repeat to layer files.")
    var weights: [String] = []
    @OptionGroup var model: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .customLong("keep-rates"), help: "Keep rates κ to sweep, comma-separated, each in (0, 1].")
    var keepRates: String = "1,0.9,0.8,0.7,0.6,0.5"
    @Option(name: .customLong("ts-layers-list"), help: "Settings of the sparsifying blocks (0-based), separated by ';', e.g. \"3,6,9;2,5,8\" (default: --ts-layers, else the depth's default).")
    var tsLayersList: String?
    @Option(help: "Recipe defaults: vtab (no augmentation) or complete (mixup, cutmix, smoothing, crop+flip, 20 warm-up epochs).")
    var recipe: String = "vtab"
    @OptionGroup var training: ExperimentTrainingFlags
    @OptionGroup var bench: ExperimentBenchmarkFlags
    @Flag(name: .customLong("no-train"), help: "Do not train: evaluate the task file given with --task at every setting.")
    var noTrain = false
    @Option(help: "Task file (trained adapters and head) to evaluate with --no-train.")
    var task: String?
    @Option(help: "Output folder.")
    var out: String = "sweep"
    @Option(name: .customLong("chart-formats"), help: "Chart file formats, comma-separated: png, svg and/or pdf.")
    var chartFormats: String = "png,svg"

    func run() throws {
        // Under mpirun the ranks share the points to train (docs/DISTRIBUTED.md).
        let world: any Collective = try MPICollective.fromEnvironment() ?? SingleProcess()
        if world.size > 1 { rankPrefix = "[rank \(world.rank)/\(world.size)] " }
        guard !weights.isEmpty else { throw SparseTuningError("sweep needs --weights BACKBONE (a .safetensors, Google .npz or Hugging Face ViT directory)") }
        guard noTrain == (task != nil) else {
            throw SparseTuningError(noTrain ? "--no-train needs --task FILE (the trained task to evaluate)"
                                            : "--task is only used with --no-train (evaluate instead of training)")
        }
        let rates = try parseKeepRates(keepRates)
        let formats = try FigureFormat.list(chartFormats, flag: "--chart-formats")
        let tsList: [[Int]?] = try tsLayersList.map(parseTSLayersList) ?? [model.tsLayers.map { try parseIntList($0, flag: "--ts-layers") }]
        let format = try dataOptions.parsedFormat()
        guard let eval = try dataOptions.evalSource(format) else {
            throw SparseTuningError("the sweep needs an evaluation split: '\(dataOptions.data)' has no "
                + "'\(dataOptions.evalSplit ?? DatasetLocator.defaultSplits(format).eval)' subfolder (give --eval-split)")
        }

        var options: TrainingOptions
        switch recipe {
        case "vtab": options = TrainingOptions()
        case "complete": options = .completeDataset
        default: throw SparseTuningError("--recipe '\(recipe)' is not valid; expected vtab or complete")
        }
        training.overrides.apply(to: &options)
        options.workers = dataOptions.workers
        options.skipBadImages = dataOptions.skipBadImages

        let backbone: ExperimentBackbone
        var experiment: SweepExperiment
        if let task {
            // The task file names its method, classes and normalisation; the flags may still change the tuning.
            let built = try buildModel(model, weights: weights + [task], forTraining: false)
            backbone = try experimentBackbone(built, weights: weights)
            experiment = SweepExperiment(backbone: backbone, train: nil, eval: eval, classes: built.model.config.classes,
                                         baseTuning: built.model.tuning, outputDirectory: out)
            experiment.trainedTensors = Dictionary(built.model.taskStateDict().map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
            experiment.normalization = try dataOptions.normalization(task: built.task)
        } else {
            let train = try dataOptions.trainSource(format)
            var flags = model
            if flags.method == nil { flags.method = TuningMethod.sparseTuning.rawValue }
            let base = try flags.tuning(base: nil)
            backbone = try loadBackbone(model, weights: weights)
            experiment = SweepExperiment(backbone: backbone, train: train, eval: eval,
                                         classes: model.classes ?? train.classNames.count, baseTuning: base, outputDirectory: out)
            experiment.normalization = try dataOptions.normalization(task: nil)
        }
        experiment.keepRates = rates
        experiment.chartFormats = formats
        experiment.tsLayersList = tsList
        experiment.options = options
        experiment.evalResize = try dataOptions.resizeMode(format)
        experiment.throughput = try bench.probe()
        experiment.log = note
        experiment.progress = world.isLeader ? { ProgressLine(epochs: $0, stepsPerEpoch: $1) } : nil
        experiment.collective = world

        note("sweep: \(experiment.baseTuning.method.rawValue), \(rates.count) keep rate(s) × \(tsList.count) ts-layers setting(s), "
             + (noTrain ? "evaluating \(task!)" : "training \(options.epochs) epoch(s) per point") + " on \(eval.count) evaluation images")
        let report = try experiment.run()
        guard world.isLeader else { return }  // rank 0 reports
        print(SweepReport.csvHeader)
        print(report.csv().split(separator: "\n").dropFirst().joined(separator: "\n"))
        let extensions = "{" + formats.map(\.rawValue).joined(separator: ",") + "}"
        print("wrote \((out as NSString).appendingPathComponent(SweepReport.csvName)), "
              + "\(SweepReport.gflopsChart).\(extensions) and \(SweepReport.throughputChart).\(extensions) in \(out)")
    }
}

/// `"1,0.9,0.7"` → keep rates, each in (0, 1].
func parseKeepRates(_ text: String) throws -> [Double] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    let rates = parts.compactMap(Double.init)
    guard !parts.isEmpty, rates.count == parts.count else {
        throw SparseTuningError("--keep-rates '\(text)' is not a comma-separated list of numbers")
    }
    if let bad = rates.first(where: { !($0 > 0 && $0 <= 1) }) {
        throw SparseTuningError("--keep-rates: \(bad) is not in (0, 1]")
    }
    return rates
}

/// `"3,6,9;2,5,8"` → block lists.
func parseTSLayersList(_ text: String) throws -> [[Int]?] {
    let groups = text.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard !groups.contains(where: \.isEmpty) else {
        throw SparseTuningError("--ts-layers-list '\(text)' has an empty setting (separate settings with ';', blocks with ',')")
    }
    return try groups.map { try parseIntList($0, flag: "--ts-layers-list") }
}
