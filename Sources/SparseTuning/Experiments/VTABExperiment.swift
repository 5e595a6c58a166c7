// VTABExperiment: docs/METHOD.md §8's VTAB-1K protocol, task by task and method by method — train on train800val200,
// test top-1 on test, measure the model's cost — with every finished (task, method) kept on disk and never rerun, an
// interrupted one resumed from its resume state, and the result tables rewritten after each run.
import Foundation

/// The VTAB-1K benchmark of one backbone with one or more methods.
///
/// Layout of ``outputDirectory``: `<method>/<task>/` holds `task.safetensors` (the trained tensors and the task
/// configuration), `metrics.jsonl` (one line per epoch), `run.json` (the training options and tuning used) and,
/// once finished, `result.json` (``VTABRunResult``); while a run is unfinished, `task.resume.safetensors` lets
/// the next invocation continue it exactly (it is deleted when the run finishes). `results.csv` and `results.md`
/// (``VTABReport``) cover every `result.json` under the folder, including those of earlier invocations.
///
/// Settings of a run, later layers winning: ``TrainingOptions/init()`` and ``TuningConfig/defaults(for:)``
/// (docs/METHOD.md §5, §4), the task's configuration file (its VPT-deep prompt count, `recipe`, `methods.<method>`),
/// ``overrides``, then ``adjustTuning``. Images are resized straight to the backbone's image size (bicubic, no
/// crop) and normalised with ``normalization``; there is no augmentation unless a configuration asks for it.
public struct VTABExperiment {
    /// The VTAB-1K folder: one subfolder per task (or a `vtab-1k/` subfolder holding them).
    public var root: String
    /// Where runs and tables are written.
    public var outputDirectory: String
    /// The pretrained backbone.
    public var backbone: ExperimentBackbone
    /// The task configurations.
    public var configs: VTABConfigSet
    /// Methods to run, in order.
    public var methods: [TuningMethod] = [.sparseTuning]
    /// Tasks to run (canonical names or aliases), in docs/METHOD.md §8 order whatever the order given; nil = all 19.
    public var tasks: [String]?
    /// Settings over every task's configuration (the command line's training flags).
    public var overrides = RecipeOverrides()
    /// A last change to each run's tuning configuration (the command line's model flags), or nil.
    public var adjustTuning: ((TuningConfig) throws -> TuningConfig)?
    /// Input normalisation (Google's in21k ViT-B/16: inception, mean/std 0.5).
    public var normalization: Normalization = .inception
    /// Image-decoding threads, and whether undecodable images are skipped (counted) rather than fatal.
    public var workers = 2
    public var skipBadImages = false
    /// How inference throughput is measured.
    public var throughput = ThroughputProbe()
    /// Receives one line per event (task started, resumed, finished, skipped).
    public var log: (String) -> Void = { _ in }
    /// Makes the live progress display of a training run (epochs, steps per epoch), or nil for none.
    public var progress: ((Int, Int) -> ProgressLine?)?
    /// The processes sharing the suite under mpirun (docs/DISTRIBUTED.md): each takes whole runs from the queue of
    /// unfinished (task, method) pairs, in order; rank 0 writes the tables once every rank is done.
    public var collective: any Collective = SingleProcess()

    /// An experiment with the default method (sparse-tuning) on all 19 tasks.
    public init(root: String, outputDirectory: String, backbone: ExperimentBackbone, configs: VTABConfigSet) {
        self.root = root
        self.outputDirectory = outputDirectory
        self.backbone = backbone
        self.configs = configs
    }

    /// What ``run()`` did.
    public struct Outcome {
        /// The tables over every result in the output folder.
        public var report: VTABReport
        /// `task/method` of the runs trained (or finished) now, of those resumed from a resume state, and of those
        /// skipped because their result already existed.
        public var trained: [String] = []
        public var resumed: [String] = []
        public var skipped: [String] = []
    }

    /// The settings a run was started with, stored as `run.json` so that resuming with other settings is refused.
    public struct RunPlan: Codable, Equatable, Sendable {
        public var options: TrainingOptions
        public var tuning: TuningConfig
        public var imageSize: Int
        public var normalization: String
    }

    // MARK: Planning

    /// The tasks to run, in docs/METHOD.md §8 order.
    /// - Throws: ``SparseTuningError`` for an unknown task name (listing the valid ones) or an empty list.
    public func plannedTasks() throws -> [VTABTaskConfig] {
        guard let requested = tasks else { return VTABDataset.tasks.compactMap { configs.tasks[$0.name] } }
        var names = Set<String>()
        for name in requested {
            guard let task = VTABDataset.task(named: name) else {
                throw SparseTuningError("unknown VTAB-1K task '\(name)'; expected some of "
                    + VTABDataset.tasks.map(\.name).joined(separator: ", ") + " (cifar100 and oxford_pet are accepted too)")
            }
            names.insert(task.name)
        }
        guard !names.isEmpty else { throw SparseTuningError("no VTAB-1K task given") }
        return VTABDataset.tasks.filter { names.contains($0.name) }.compactMap { configs.tasks[$0.name] }
    }

    /// The folder of one run.
    public func runDirectory(task: String, method: TuningMethod) -> String {
        ((outputDirectory as NSString).appendingPathComponent(method.rawValue) as NSString).appendingPathComponent(task)
    }

    /// The settings of `method` on `task`, every layer applied.
    public func plan(task: VTABTaskConfig, method: TuningMethod) throws -> RunPlan {
        var options = task.trainingOptions(for: method)
        overrides.apply(to: &options)
        options.workers = workers
        options.skipBadImages = skipBadImages
        options.evalEvery = options.epochs  // the test split is scored once, after training
        try options.validate()
        var tuning = task.tuning(for: method)
        overrides.apply(to: &tuning)
        if let adjustTuning { tuning = try adjustTuning(tuning) }
        try tuning.validate(depth: backbone.config.depth)
        return RunPlan(options: options, tuning: tuning, imageSize: backbone.config.imageSize,
                       normalization: normalization == .imagenet ? "imagenet" : "inception")
    }

    /// Checks that the root and every task folder of `tasks` exist before anything is trained (nothing to check
    /// when `tasks` is empty: finished runs only need their results).
    /// - Throws: ``SparseTuningError`` listing the missing task folders and the subfolders the root has.
    public func checkFolders(_ tasks: [VTABTaskConfig]) throws {
        guard !tasks.isEmpty else { return }
        guard DatasetFiles.isDirectory(root) else {
            let parent = ((root as NSString).deletingLastPathComponent as NSString).standardizingPath
            let there = DatasetFiles.directoryEntries(parent.isEmpty ? "." : parent)
            throw SparseTuningError("VTAB-1K root folder '\(root)' not found (expected the vtab-1k folder with one "
                + "subfolder per task; '\(parent.isEmpty ? "." : parent)' has "
                + (there.isEmpty ? "nothing" : DatasetFiles.summarise(there)) + ")")
        }
        let nested = (root as NSString).appendingPathComponent("vtab-1k")
        let missing = tasks.filter { task in
            let names = VTABDataset.task(named: task.name)?.folderNames ?? [task.name]
            return !names.contains { DatasetFiles.isDirectory((root as NSString).appendingPathComponent($0))
                || DatasetFiles.isDirectory((nested as NSString).appendingPathComponent($0)) }
        }
        guard missing.isEmpty else {
            let present = DatasetFiles.directoryEntries(root).filter { DatasetFiles.isDirectory((root as NSString).appendingPathComponent($0)) }
            let names = missing.map { t in ([t.name] + t.aliases).joined(separator: "/") }
            throw SparseTuningError("VTAB-1K root '\(root)' lacks the task folder(s) \(names.joined(separator: ", ")); it has "
                + (present.isEmpty ? "no subfolders" : "subfolders: \(DatasetFiles.summarise(present))")
                + " (run only the tasks present with --tasks)")
        }
    }

    // MARK: Running

    /// Checks everything that can be checked before training: the task and method lists, every run's settings, and
    /// the folders of the tasks that still have runs to do. Returns the planned tasks.
    /// - Throws: ``SparseTuningError`` naming the problem (see ``plannedTasks()``, ``plan(task:method:)``,
    ///   ``checkFolders(_:)``).
    @discardableResult
    public func validate() throws -> [VTABTaskConfig] {
        let tasks = try plannedTasks()
        guard !methods.isEmpty else { throw SparseTuningError("no method given") }
        guard Set(methods).count == methods.count else { throw SparseTuningError("a method is listed twice") }
        try throughput.validate()
        for task in tasks { for method in methods { _ = try plan(task: task, method: method) } }
        try checkFolders(tasks.filter { t in methods.contains { !isFinished(task: t.name, method: $0) } })
        return tasks
    }

    /// Runs every (task, method) not finished yet, then writes `results.csv` and `results.md`.
    /// - Throws: ``SparseTuningError`` for missing data (before any training, see ``validate()``), settings that
    ///   differ from those an unfinished run was started with, or any failure of training, evaluation or writing.
    @discardableResult
    public func run() throws -> Outcome {
        let tasks = try validate()
        // Open (and check) the list files and images of every task still to run before training anything.
        var data: [String: (train: VTABDataset, test: VTABDataset)] = [:]
        for task in tasks where methods.contains(where: { !isFinished(task: task.name, method: $0) }) {
            data[task.name] = (try VTABDataset.open(root: root, task: task.name, split: "train800val200"),
                               try VTABDataset.open(root: root, task: task.name, split: "test"))
        }
        try makeDirectory(outputDirectory)
        let queue = try RunQueue(collective: collective)

        var outcome = Outcome(report: VTABReport(results: []))
        let total = tasks.count * methods.count
        var index = 0
        for task in tasks {
            for method in methods {
                index += 1
                let tag = "\(task.name)/\(method.rawValue)"
                let prefix = "[\(index)/\(total)] \(task.name) · \(method.rawValue)"
                let resultPath = (runDirectory(task: task.name, method: method) as NSString).appendingPathComponent("result.json")
                if FileManager.default.fileExists(atPath: resultPath) {
                    let done = try VTABRunResult.load(resultPath)
                    log("\(prefix): done earlier, top-1 " + String(format: "%.2f%%", 100 * done.top1) + " (\(resultPath))")
                    outcome.skipped.append(tag)
                    continue
                }
                guard let (train, test) = data[task.name] else { continue }  // finished while this ran elsewhere
                guard try queue.claim(runDirectory(task: task.name, method: method)) else { continue }  // another rank's
                let (result, resumed) = try runOne(task: task, method: method, train: train, test: test, prefix: prefix)
                if resumed { outcome.resumed.append(tag) }
                outcome.trained.append(tag)
                log("\(prefix): top-1 " + String(format: "%.2f%%", 100 * result.top1) + String(format: " on %d test images, ", result.testSamples)
                    + String(format: "%.2f GFLOPs, %.1f img/s, %.0f s of training", result.gflops, result.imagesPerSecond, result.trainSeconds))
                if collective.size == 1 { try VTABReport.collect(outputDirectory: outputDirectory).write(to: outputDirectory) }
            }
        }
        try collective.barrier()  // every rank's runs have their result.json
        outcome.report = try VTABReport.collect(outputDirectory: outputDirectory)
        if collective.isLeader { try outcome.report.write(to: outputDirectory) }
        return outcome
    }

    /// Whether `task`/`method` has its `result.json`.
    public func isFinished(task: String, method: TuningMethod) -> Bool {
        FileManager.default.fileExists(atPath: (runDirectory(task: task, method: method) as NSString).appendingPathComponent("result.json"))
    }

    /// Trains (or resumes) one run, tests it, measures it and writes its `result.json`. Returns the result and
    /// whether a resume state was continued.
    func runOne(task: VTABTaskConfig, method: TuningMethod, train: VTABDataset, test: VTABDataset,
                prefix: String) throws -> (VTABRunResult, Bool) {
        let dir = runDirectory(task: task.name, method: method)
        try makeDirectory(dir)
        let taskFile = (dir as NSString).appendingPathComponent("task.safetensors")
        let resumePath = TrainingCheckpoint.resumePath(forTask: taskFile)
        let planPath = (dir as NSString).appendingPathComponent("run.json")
        let plan = try self.plan(task: task, method: method)

        let resume = FileManager.default.fileExists(atPath: resumePath)
        if resume {
            if let data = FileManager.default.contents(atPath: planPath),
               var saved = try? JSONCoding.decode(RunPlan.self, from: data, source: planPath) {
                saved.options.workers = plan.options.workers  // decoding threads do not change the result
                guard saved == plan else {
                    throw SparseTuningError("\(dir) was started with other settings (\(Self.differences(saved, plan))); "
                        + "rerun with the same settings to continue it, or delete the folder to start it afresh")
                }
            }
            let done = try Self.resumeEpoch(resumePath)
            guard done <= plan.options.epochs else {
                throw SparseTuningError("\(resumePath) has already trained \(done) epochs, more than the \(plan.options.epochs) "
                    + "asked for; rerun with --epochs \(done) or delete the folder")
            }
            log("\(prefix): resuming after epoch \(done) of \(plan.options.epochs)")
        } else {
            try AtomicFileWriter.write([UInt8](JSONCoding.encode(plan, pretty: true)), to: planPath)
            log("\(prefix): training on \(train.count) images for \(plan.options.epochs) epochs, testing on \(test.count)")
        }

        let model = try backbone.makeModel(tuning: plan.tuning, classes: task.classes, seed: plan.options.seed)
        let trainer = try Trainer(model: model, options: plan.options, train: train, eval: nil, normalization: normalization,
                                  evalResize: .squash, output: taskFile,
                                  metricsPath: (dir as NSString).appendingPathComponent("metrics.jsonl"),
                                  classNames: train.classNames)
        let summary = try trainer.run(resume: resume, progress: progress?(plan.options.epochs, trainer.stepsPerEpoch))
        if plan.options.ema != nil {
            // The task file holds the averaged tensors; evaluate those.
            try model.load(try TrainingCheckpoint.loadTask(taskFile).tensors.merging(backbone.tensors) { own, _ in own },
                           sources: backbone.sources)
        }
        let evaluation = try Evaluator.evaluate(model, source: test, batchSize: plan.options.batchSize,
                                                augmentation: .eval(size: model.config.imageSize, mode: .squash),
                                                normalization: normalization, workers: workers, skipBadImages: skipBadImages)
        let imagesPerSecond = try throughput.measure(model)
        let result = VTABRunResult(
            task: task.name, group: task.group.rawValue, method: method.rawValue, top1: evaluation.top1, top5: evaluation.top5,
            trainSamples: train.count, testSamples: evaluation.samples, trainableParameters: model.trainableCount,
            trainableParametersWithoutHead: model.trainableCountWithoutHead,
            gflops: FLOPCounter.count(model.config, tuning: model.tuning).gflops, imagesPerSecond: imagesPerSecond,
            benchmarkBatch: throughput.enabled ? throughput.batch : 0, trainImagesPerSecond: summary.imagesPerSecond,
            trainSeconds: summary.seconds, finalLoss: summary.finalLoss, options: plan.options, tuning: plan.tuning,
            taskFile: "task.safetensors", finishedAt: ISO8601DateFormatter().string(from: Date()))
        try result.write(to: (dir as NSString).appendingPathComponent("result.json"))
        try? FileManager.default.removeItem(atPath: resumePath)
        return (result, resume)
    }

    /// Epochs finished according to a resume state's progress record.
    static func resumeEpoch(_ path: String) throws -> Int {
        let file = try SafetensorsFile.open(path)
        guard let text = file.metadata[TrainingCheckpoint.progressKey],
              let record = try? JSONCoding.decode(ResumeProgressRecord.self, from: text, source: path) else {
            throw SparseTuningError("\(path): has no readable '\(TrainingCheckpoint.progressKey)' progress; delete it to start afresh")
        }
        return record.progress.epoch
    }

    /// The fields (dotted JSON paths) in which two plans differ, for messages.
    static func differences(_ a: RunPlan, _ b: RunPlan) -> String {
        func leaves(_ plan: RunPlan) -> [String: JSONTree] {
            guard let data = try? JSONCoding.encode(plan),
                  let tree = try? JSONCoding.decode(JSONTree.self, from: data, source: "run plan") else { return [:] }
            return tree.leaves
        }
        let x = leaves(a), y = leaves(b)
        let keys = Set(x.keys).union(y.keys).filter { x[$0] != y[$0] }.sorted()
        return keys.isEmpty ? "settings" : "differs in " + keys.map { "\($0): \(x[$0]?.text ?? "absent") → \(y[$0]?.text ?? "absent")" }
            .joined(separator: ", ")
    }

    private func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw SparseTuningError("cannot create folder '\(path)': \(error.localizedDescription)")
        }
    }
}
