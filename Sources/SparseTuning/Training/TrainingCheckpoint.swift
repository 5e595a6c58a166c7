// Files a training run writes (docs/METHOD.md §7): the task file — only the trained tensors plus the configuration JSON
// in its safetensors metadata — and, next to it, the resume state that lets an interrupted run continue
// exactly as if it had never stopped (parameters, optimizer moments, EMA, buffers, progress, trainer metadata).

/// Where a training run is in its schedule, saved in the resume state.
public struct ResumeProgress: Sendable, Equatable {
    /// The epoch in progress (0-based).
    public var epoch: Int
    /// Batches of `epoch` already consumed (0: the epoch has not started).
    public var batchInEpoch: Int
    /// Optimizer steps taken over the whole run (what the learning-rate schedule is evaluated at).
    public var step: Int
    /// The best validation metric so far, if any.
    public var bestMetric: Double?
    /// The epoch that reached ``bestMetric``.
    public var bestEpoch: Int?

    /// Progress at the given point (the defaults describe a run that has not started).
    public init(epoch: Int = 0, batchInEpoch: Int = 0, step: Int = 0, bestMetric: Double? = nil, bestEpoch: Int? = nil) {
        self.epoch = epoch
        self.batchInEpoch = batchInEpoch
        self.step = step
        self.bestMetric = bestMetric
        self.bestEpoch = bestEpoch
    }
}

/// What ``TrainingCheckpoint/loadResume(from:optimizer:ema:buffers:expectedConfigJSON:ignoringConfigKeys:)``
/// returns besides the tensors it restored.
public struct ResumeState: Sendable, Equatable {
    /// The file read.
    public let path: String
    /// Where the run stopped.
    public let progress: ResumeProgress
    /// The configuration JSON the run was started with.
    public let configJSON: String
    /// The trainer's own entries (RNG seeds or states, data order, …), exactly as given to `saveResume`.
    public let metadata: [String: String]
}

/// Writing and reading task files and resume states.
///
/// **Task file** (`<output>`, safetensors): exactly the tensors given — the trained ones under their docs/METHOD.md §4
/// names — and `__metadata__["sparse_tuning.config"]` = the run's configuration (a JSON object), plus
/// `"sparse_tuning.kind": "task"`.
///
/// **Resume state** (``resumePath(forTask:)``, safetensors): tensors `param.<name>` (current values of the
/// optimizer's parameters), `optim.exp_avg.<name>`, `optim.exp_avg_sq.<name>`, `optim.step` (AdamW),
/// `ema.avg.<name>`, `ema.updates` (when an EMA is kept) and `buffer.<name>` (non-trainable state that changes
/// during training, e.g. BatchNorm running statistics); metadata `sparse_tuning.kind` = `resume`,
/// `sparse_tuning.config` (the configuration), `sparse_tuning.resume` (JSON: `format`, `epoch`,
/// `batch_in_epoch`, `step`, `best_metric`, `best_epoch`) and `trainer.<key>` for each trainer entry. Being
/// self-contained, it never depends on the task file being up to date. Both files are written atomically.
public enum TrainingCheckpoint {
    /// Metadata key of the configuration JSON (docs/METHOD.md §7).
    public static let configKey = "sparse_tuning.config"
    /// Metadata key telling task files (`task`) from resume states (`resume`).
    public static let kindKey = "sparse_tuning.kind"
    /// Metadata key of the progress JSON in a resume state.
    public static let progressKey = "sparse_tuning.resume"
    /// Prefix of the trainer's own metadata entries in a resume state.
    public static let trainerPrefix = "trainer."
    /// Version of the resume layout written (and the newest one read).
    public static let formatVersion = 1

    /// The resume state next to task file `path`: `run.safetensors` → `run.resume.safetensors`
    /// (a path without the `.safetensors` extension just gets `.resume.safetensors` appended).
    public static func resumePath(forTask path: String) -> String {
        let ext = ".safetensors"
        let stem = path.hasSuffix(ext) && path.count > ext.count ? String(path.dropLast(ext.count)) : path
        return stem + ".resume" + ext
    }

    // MARK: Task files

    /// Writes a task file: `tensors` (the trainable ones, under their checkpoint names) and the configuration.
    /// - Parameters:
    ///   - configJSON: the run's configuration, a JSON object.
    ///   - metadata: further `__metadata__` entries (must not use the `sparse_tuning.` keys above).
    /// - Throws: ``SparseTuningError`` naming `path` if `configJSON` is not a JSON object, a metadata key is
    ///   reserved, a tensor name repeats, or writing fails (the previous file, if any, is then left intact).
    public static func saveTask(_ tensors: [(name: String, tensor: Tensor)], configJSON: String, to path: String,
                                metadata: [String: String] = [:]) throws {
        _ = try parseConfig(configJSON, path: path, what: "the configuration to save")
        if let reserved = metadata.keys.filter({ [configKey, kindKey, progressKey].contains($0) }).sorted().first {
            throw SparseTuningError("\(path): metadata key '\(reserved)' is reserved for the task file itself")
        }
        var all = metadata
        all[configKey] = configJSON
        all[kindKey] = "task"
        try Safetensors.write(tensors, metadata: all, to: path)
    }

    /// Reads a task file: its tensors and its configuration JSON.
    /// - Throws: ``SparseTuningError`` naming `path` if the file is missing or malformed, is a resume state, has
    ///   no configuration, or its configuration is not a JSON object.
    public static func loadTask(_ path: String) throws -> (tensors: [String: Tensor], configJSON: String) {
        let file = try SafetensorsFile.open(path)
        if file.metadata[kindKey] == "resume" {
            throw SparseTuningError("\(path): is a resume state, not a task file (load the task file it sits next to)")
        }
        guard let config = file.metadata[configKey] else {
            throw SparseTuningError("\(path): has no '\(configKey)' metadata, so it is not a task file written by "
                + "this library (a plain checkpoint loads with Checkpoint.load)")
        }
        _ = try parseConfig(config, path: path, what: "metadata '\(configKey)'")
        return (try file.loadAll(), config)
    }

    // MARK: Resume states

    /// Writes the resume state: the optimizer's parameters and moments, the EMA, `buffers`, `progress`, the
    /// configuration and the trainer's `metadata` (stored as `trainer.<key>`).
    /// - Throws: ``SparseTuningError`` naming `path` if `configJSON` is not a JSON object, the progress is
    ///   negative, a buffer name repeats, or writing fails (the previous file is then left intact).
    public static func saveResume(to path: String, optimizer: AdamW, ema: ExponentialMovingAverage? = nil,
                                  buffers: [(name: String, tensor: Tensor)] = [], progress: ResumeProgress,
                                  configJSON: String, metadata: [String: String] = [:]) throws {
        _ = try parseConfig(configJSON, path: path, what: "the configuration to save")
        guard progress.epoch >= 0, progress.batchInEpoch >= 0, progress.step >= 0, (progress.bestEpoch ?? 0) >= 0 else {
            throw SparseTuningError("\(path): cannot save negative progress \(progress)")
        }
        var tensors: [(name: String, tensor: Tensor)] = optimizer.parameters.map { ("param." + $0.name, $0.value) }
        tensors += optimizer.stateTensors().map { ("optim." + $0.key, $0.value) }
        if let ema { tensors += ema.stateTensors().map { ("ema." + $0.key, $0.value) } }
        tensors += buffers.map { ("buffer." + $0.name, $0.tensor) }

        var all: [String: String] = [:]
        for (key, value) in metadata { all[trainerPrefix + key] = value }
        all[configKey] = configJSON
        all[kindKey] = "resume"
        all[progressKey] = try JSONCoding.string(ResumeProgressRecord(format: formatVersion, progress: progress))
        try Safetensors.write(tensors, metadata: all, to: path)
    }

    /// Reads a resume state and restores it into `optimizer` (its parameters' values, moments and step count),
    /// `ema` and `buffers`; every parameter's gradient is zeroed.
    ///
    /// The file is validated completely before anything is changed, so on error the objects are untouched.
    /// EMA tensors in the file are ignored when `ema` is nil.
    /// - Parameters:
    ///   - expectedConfigJSON: this run's configuration; when given, the saved one must match it (compared as
    ///     JSON values, so key order and spacing do not matter).
    ///   - ignoringConfigKeys: configuration entries allowed to differ, as dotted paths (`"epochs"`,
    ///     `"train.threads"`); a path also covers everything below it.
    /// - Throws: ``SparseTuningError`` naming `path` (and the tensor or key at fault): not a resume state, a
    ///   newer or damaged progress record, a configuration that differs (listing the differing keys), a missing
    ///   parameter, optimizer, EMA or buffer tensor, a shape mismatch, or a tensor that belongs to nothing here.
    @discardableResult
    public static func loadResume(from path: String, optimizer: AdamW, ema: ExponentialMovingAverage? = nil,
                                  buffers: [(name: String, tensor: Tensor)] = [], expectedConfigJSON: String? = nil,
                                  ignoringConfigKeys: Set<String> = []) throws -> ResumeState {
        let file = try SafetensorsFile.open(path)
        guard file.metadata[kindKey] == "resume" else {
            let kind = file.metadata[kindKey].map { "'\($0)'" } ?? "absent"
            throw SparseTuningError("\(path): is not a resume state (metadata '\(kindKey)' is \(kind), expected 'resume')")
        }
        guard let config = file.metadata[configKey] else {
            throw SparseTuningError("\(path): resume state has no '\(configKey)' metadata")
        }
        let saved = try parseConfig(config, path: path, what: "metadata '\(configKey)'")
        if let expectedConfigJSON {
            let current = try parseConfig(expectedConfigJSON, path: path, what: "the current configuration")
            let differences = JSONTree.object(saved).differences(from: .object(current), ignoring: ignoringConfigKeys)
            if !differences.isEmpty {
                let shown = differences.prefix(8).joined(separator: ", ") + (differences.count > 8 ? ", …" : "")
                throw SparseTuningError("\(path): was saved with a different configuration (differs in: \(shown)); "
                    + "resume with the same settings, or delete the file to start afresh")
            }
        }
        let progress = try parseProgress(file.metadata[progressKey], path: path)

        let tensors = try file.loadAll()
        let knownPrefixes = ["param.", "optim.", "ema.", "buffer."]
        if let stray = tensors.keys.filter({ name in !knownPrefixes.contains { name.hasPrefix($0) } }).sorted().first {
            throw SparseTuningError("\(path): unexpected tensor '\(stray)' in a resume state")
        }
        try checkGroup(tensors, prefix: "param.", expected: optimizer.parameters.map { ($0.name, $0.value) },
                       what: "parameter", path: path)
        try checkGroup(tensors, prefix: "buffer.", expected: buffers, what: "buffer", path: path)
        try optimizer.validateState(tensors, source: path, prefix: "optim.")
        if let ema { try ema.validateState(tensors, source: path, prefix: "ema.") }

        // Everything is valid: restore.
        for p in optimizer.parameters {
            p.value.data.update(from: tensors["param." + p.name]!.data, count: p.value.count)
            p.zeroGrad()
        }
        for (name, tensor) in buffers { tensor.data.update(from: tensors["buffer." + name]!.data, count: tensor.count) }
        try optimizer.loadState(tensors, source: path, prefix: "optim.")
        if let ema { try ema.loadState(tensors, source: path, prefix: "ema.") }

        var trainer: [String: String] = [:]
        for (key, value) in file.metadata where key.hasPrefix(trainerPrefix) {
            trainer[String(key.dropFirst(trainerPrefix.count))] = value
        }
        return ResumeState(path: path, progress: progress, configJSON: config, metadata: trainer)
    }

    // MARK: Validation helpers

    /// Every `expected` tensor must be in `tensors` as `prefix + name` with the same shape, and nothing else may
    /// carry `prefix`.
    private static func checkGroup(_ tensors: [String: Tensor], prefix: String, expected: [(String, Tensor)],
                                   what: String, path: String) throws {
        var names = Set<String>()
        for (name, _) in expected where !names.insert(prefix + name).inserted {
            throw SparseTuningError("\(path): \(what) name '\(name)' is given more than once")
        }
        for (name, target) in expected {
            let key = prefix + name
            guard let saved = tensors[key] else {
                throw SparseTuningError("\(path): resume state has no tensor '\(key)' (\(what) '\(name)' of shape "
                    + "\(target.shape))")
            }
            guard saved.shape == target.shape else {
                throw SparseTuningError("\(path): tensor '\(key)' has shape \(saved.shape), but \(what) '\(name)' "
                    + "has shape \(target.shape)")
            }
        }
        if let stray = tensors.keys.filter({ $0.hasPrefix(prefix) && !names.contains($0) }).sorted().first {
            throw SparseTuningError("\(path): tensor '\(stray)' belongs to no \(what) of this run (the set of "
                + "\(what)s differs from the one that was saved)")
        }
    }

    /// `text` parsed as a JSON object; `what` says which text it is in errors.
    static func parseConfig(_ text: String, path: String, what: String) throws -> [String: JSONTree] {
        try JSONTree.object(text, source: "\(path): \(what)")
    }

    private static func parseProgress(_ text: String?, path: String) throws -> ResumeProgress {
        guard let text else { throw SparseTuningError("\(path): resume state has no '\(progressKey)' metadata") }
        let record = try JSONCoding.decode(ResumeProgressRecord.self, from: text,
                                           source: "\(path): metadata '\(progressKey)'")
        guard record.format <= formatVersion else {
            throw SparseTuningError("\(path): resume format \(record.format) is newer than this version reads "
                + "(\(formatVersion)); update sparse-tune")
        }
        return record.progress
    }
}
