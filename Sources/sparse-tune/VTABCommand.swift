// `sparse-tune vtab`: the VTAB-1K benchmark (docs/METHOD.md §8) of one backbone with one or more methods, resumable,
// ending in results.csv and the papers' table in results.md. Also holds the training and benchmark flags the experiment
// commands (vtab, sweep) share.
import ArgumentParser
import Foundation
import SparseTuning
import SparseTuningMPI

struct VTABCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vtab",
        abstract: "Run the VTAB-1K benchmark: train on train800val200, report top-1 on test, task by task and method by method.",
        discussion: """
        Each finished (task, method) is kept under OUT/<method>/<task>/ (task file, metrics, run.json, result.json) and \
        is not rerun; an interrupted one resumes where it stopped. OUT/results.csv and OUT/results.md (the papers' \
        table: 19 tasks grouped Natural/Specialized/Structured, group means, the mean of group means as NOAH/VPT/SPT \
        and the mean of the 19 tasks as SSF, trainable parameters, GFLOPs, images/s) are rewritten after every run \
        and cover every result in OUT. Recipes come from the task configurations (the VTAB-1K recipe: AdamW, lr 1e-3, \
        weight decay 1e-4, batch 64, 100 epochs, 10 warm-up, no augmentation; docs/METHOD.md §5); flags override them. \
        --method takes a comma-separated list here; the other model flags (--keep-rate, --ts-layers, --rank, …) \
        apply to every method.
        """)

    @Option(help: "The VTAB-1K folder holding one subfolder per task (cifar or cifar100, oxford_iiit_pet or oxford_pet, …).")
    var root: String
    @Option(name: .customLong("weights"), help: "Backbone checkpoint (.safetensors, Google .npz, or a Hugging Face ViT directory such as ViT-B_16.npz); repeat to layer files.")
    var weights: [String] = []
    @OptionGroup var model: ModelOptions
    @Option(help: "Tasks, comma-separated (default: all 19).")
    var tasks: String?
    @Option(help: "Output folder.")
    var out: String = "vtab-results"
    @Option(help: "Read the task configurations from this folder of <task>.json files instead of the built-in copies of configs/vtab.")
    var configs: String?
    @OptionGroup var training: ExperimentTrainingFlags
    @OptionGroup var bench: ExperimentBenchmarkFlags
    @Option(help: "Normalisation: inception (mean/std 0.5, Google's ViT-B_16.npz) or imagenet.")
    var norm: String = "inception"
    @Option(help: "Background threads decoding images.")
    var workers: Int = 2
    @Flag(name: .customLong("skip-bad-images"), help: "Skip (and count) images that cannot be decoded instead of stopping.")
    var skipBadImages = false

    func run() throws {
        // Under mpirun the ranks share the suite's runs (docs/DISTRIBUTED.md).
        let world: any Collective = try MPICollective.fromEnvironment() ?? SingleProcess()
        if world.size > 1 { rankPrefix = "[rank \(world.rank)/\(world.size)] " }
        guard !weights.isEmpty else {
            throw SparseTuningError("vtab needs --weights BACKBONE (e.g. ViT-B_16.npz, Google's ImageNet-21k ViT-B/16)")
        }
        guard model.classes == nil else { throw SparseTuningError("--classes does not apply to vtab: each task sets its own") }
        guard let normalization = Normalization(name: norm) else {
            throw SparseTuningError("--norm '\(norm)' is not valid; expected inception or imagenet")
        }
        let methods = try parseMethods(model.method ?? TuningMethod.sparseTuning.rawValue)
        let configSet = try configs.map { try VTABConfigSet.load(directory: $0) } ?? VTABConfigSet.embedded()
        var modelFlags = model
        modelFlags.method = nil
        let backbone = try loadBackbone(modelFlags, weights: weights)

        var experiment = VTABExperiment(root: root, outputDirectory: out, backbone: backbone, configs: configSet)
        experiment.methods = methods
        experiment.tasks = try tasks.map { try parseNameList($0, flag: "--tasks") }
        experiment.overrides = training.overrides
        experiment.adjustTuning = { try modelFlags.tuning(base: $0) }
        experiment.normalization = normalization
        experiment.workers = workers
        experiment.skipBadImages = skipBadImages
        experiment.throughput = try bench.probe()
        experiment.log = note
        experiment.progress = world.isLeader ? { ProgressLine(epochs: $0, stepsPerEpoch: $1) } : nil
        experiment.collective = world

        let planned = try experiment.validate()
        note("VTAB-1K: \(planned.count) task(s) × \(methods.count) method(s) (\(methods.map(\.rawValue).joined(separator: ", "))) "
             + "on a \(backbone.config.dim)-wide, \(backbone.config.depth)-block ViT at \(backbone.config.imageSize)×\(backbone.config.imageSize); "
             + "configurations: \(configSet.source); output: \(out)")
        let outcome = try experiment.run()
        guard world.isLeader else { return }  // rank 0 reports the merged table

        print("VTAB-1K: \(outcome.trained.count) run(s) trained now (\(outcome.resumed.count) resumed), \(outcome.skipped.count) done earlier")
        for s in outcome.report.summaries {
            let means = [(VTABReport.groupMeanLabel, s.meanOfGroupMeans), (VTABReport.taskMeanLabel, s.meanOfTasks)]
                .map { label, m in "\(label) " + (m.value.map { String(format: "%.2f", $0) } ?? "–") }
                .joined(separator: ", ")
            print("  \(s.method): \(s.results.count)/\(VTABDataset.tasks.count) tasks; \(means)"
                  + (s.meanOfTasks.isComplete ? "" : " (over the tasks run)"))
        }
        print("wrote \((out as NSString).appendingPathComponent("results.md")) and \((out as NSString).appendingPathComponent("results.csv"))")
    }
}

/// The backbone an experiment command fine-tunes: the architecture from the model flags or the checkpoint (as every
/// command resolves it), the weights taken from the loaded model, so the files are read once.
func loadBackbone(_ options: ModelOptions, weights: [String]) throws -> ExperimentBackbone {
    var flags = options
    flags.method = nil
    if flags.classes == nil { flags.classes = 0 }
    return try experimentBackbone(try buildModel(flags, weights: weights, forTraining: true), weights: weights)
}

/// The backbone part of an already built model (its head and method tensors are left out).
func experimentBackbone(_ built: BuiltModel, weights: [String]) throws -> ExperimentBackbone {
    var config = built.model.config
    config.classes = 0
    let tensors = Dictionary(built.model.backbone.stateDict().map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
    let origin = weights.joined(separator: " + ")
    let backbone = try ExperimentBackbone(config: config, tensors: tensors,
                                          sources: Dictionary(uniqueKeysWithValues: tensors.keys.map { ($0, origin) }))
    backbone.precision = built.model.precision
    return backbone
}

/// `"a,b"` → methods, checked.
func parseMethods(_ text: String) throws -> [TuningMethod] {
    let methods = try parseNameList(text, flag: "--method").map { name in
        guard let m = TuningMethod(rawValue: name) else {
            throw SparseTuningError("--method '\(name)' is not valid; expected one or more of "
                + TuningMethod.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return m
    }
    guard Set(methods).count == methods.count else { throw SparseTuningError("--method lists a method twice ('\(text)')") }
    return methods
}

/// A comma-separated list of non-empty names.
func parseNameList(_ text: String, flag: String) throws -> [String] {
    let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard !names.isEmpty, !names.contains(where: \.isEmpty) else {
        throw SparseTuningError("\(flag) '\(text)' is not a comma-separated list of names")
    }
    return names
}

/// Training flags of the experiment commands: each replaces the recipe's value for every run.
struct ExperimentTrainingFlags: ParsableArguments {
    @Option(help: "Epochs (recipe: 100).") var epochs: Int?
    @Option(name: .customLong("batch"), help: "Batch size (recipe: 64).") var batchSize: Int?
    @Option(help: "Peak learning rate (recipe: 1e-3).") var lr: Float?
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay (recipe: 1e-4; not on biases, norms, tokens).") var weightDecay: Float?
    @Option(name: .customLong("warmup-epochs"), help: "Linear warm-up epochs before the cosine decay (recipe: 10).") var warmupEpochs: Double?
    @Option(name: .customLong("label-smoothing"), help: "Label smoothing (recipe: 0).") var labelSmoothing: Double?
    @Option(help: "Random seed (same seed and thread count ⇒ same result).") var seed: UInt64?
    @Flag(help: "Random-resized-crop and horizontal flip (VTAB-1K: none).") var augment = false

    /// The flags given, as overrides.
    var overrides: RecipeOverrides {
        var o = RecipeOverrides()
        o.epochs = epochs
        o.batchSize = batchSize
        o.lr = lr
        o.weightDecay = weightDecay
        o.warmupEpochs = warmupEpochs
        o.labelSmoothing = labelSmoothing
        o.seed = seed
        if augment { o.augment = true }
        return o
    }
}

/// Inference-throughput flags of the experiment commands.
struct ExperimentBenchmarkFlags: ParsableArguments {
    @Option(name: .customLong("bench-batch"), help: "Batch of the images/s measurement.") var benchBatch: Int = 8
    @Option(name: .customLong("bench-seconds"), help: "Minimum seconds of timed forward passes per measurement.") var benchSeconds: Double = 2
    @Flag(name: .customLong("no-bench"), help: "Do not measure images/s (reported as 0).") var noBench = false

    func probe() throws -> ThroughputProbe {
        let p = ThroughputProbe(batch: benchBatch, minSeconds: benchSeconds, enabled: !noBench)
        guard benchBatch > 0 else { throw SparseTuningError("--bench-batch must be positive (got \(benchBatch))") }
        guard benchSeconds >= 0 else { throw SparseTuningError("--bench-seconds must be 0 or more (got \(benchSeconds))") }
        return p
    }
}
