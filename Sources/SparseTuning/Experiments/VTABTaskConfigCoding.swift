// The JSON form of a VTAB task file (`configs/vtab/<task>.json`): strict objects at every level (an unknown key is
// an error naming it), values checked for type and range, errors naming the file and the key path.

extension VTABTaskConfig: Decodable {
    private enum CodingKeys: String, CodingKey, CaseIterable {
        case name, classes, group, aliases, methods, recipe
        case vptPrompts = "vpt_prompts"
    }

    /// Parses the JSON text of a task file; `file` names it in errors.
    /// - Throws: ``SparseTuningError`` `<file>: at "<key path>": <problem>`: invalid JSON, a missing or unknown
    ///   key, a value of the wrong type or out of range, an unknown group or method.
    public static func parse(_ text: String, file: String) throws -> VTABTaskConfig {
        try JSONCoding.decode(VTABTaskConfig.self, from: text, source: file)
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .name)
        guard !name.isEmpty, !name.contains("/") else { throw c.invalid(.name, "must be a folder name (got '\(name)')") }
        let groupName = try c.decode(String.self, forKey: .group)
        guard let group = VTABGroup(rawValue: groupName) else {
            throw c.invalid(.group, "'\(groupName)' is not a group; expected one of "
                + VTABGroup.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let aliases = try c.decodeIfPresent([String].self, forKey: .aliases) ?? []
        if aliases.contains("") { throw c.invalid(.aliases, "expected non-empty folder names") }
        var methods: [TuningMethod: RecipeOverrides] = [:]
        if c.contains(.methods) {
            let entries = try c.nestedContainer(keyedBy: AnyCodingKey.self, forKey: .methods)
            for key in entries.allKeys {
                guard let method = TuningMethod(rawValue: key.stringValue) else {
                    throw DecodingError.dataCorrupted(DecodingError.Context(
                        codingPath: entries.codingPath + [key], debugDescription: "not a method; expected one of "
                            + TuningMethod.allCases.map(\.rawValue).joined(separator: ", ")))
                }
                methods[method] = try entries.decode(MethodRecipe.self, forKey: key).overrides
            }
        }
        self.init(name: name, classes: try c.count(.classes, min: 2), group: group, aliases: aliases,
                  vptPrompts: try c.count(.vptPrompts, min: 1),
                  recipe: try c.decodeIfPresent(TaskRecipe.self, forKey: .recipe)?.overrides ?? RecipeOverrides(),
                  methods: methods)
    }
}

extension RecipeOverrides {
    /// The JSON keys of the overrides in task files, in documentation order.
    enum JSONKey: String, CodingKey, CaseIterable {
        case lr, weightDecay = "weight_decay", batchSize = "batch_size", epochs, warmupEpochs = "warmup_epochs"
        case labelSmoothing = "label_smoothing", augment, seed, dropPath = "drop_path", keepRate = "keep_rate"
        case tsLayers = "ts_layers", prompts, rank, loraRank = "lora_rank"
    }
}

private typealias RecipeKey = RecipeOverrides.JSONKey

/// A task file's `recipe` object: the override keys plus `"optimizer": "adamw"`.
private struct TaskRecipe: Decodable {
    let overrides: RecipeOverrides

    private enum OptimizerKey: String, CodingKey { case optimizer }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(RecipeKey.self, extra: [OptimizerKey.optimizer.stringValue])
        let c = try decoder.container(keyedBy: OptimizerKey.self)
        if let optimizer = try c.decodeIfPresent(String.self, forKey: .optimizer), optimizer.lowercased() != "adamw" {
            throw c.invalid(.optimizer, "'\(optimizer)', but the only optimiser is adamw")
        }
        overrides = try RecipeOverrides(taskFile: decoder)
    }
}

/// A task file's `methods.<method>` object: the override keys.
private struct MethodRecipe: Decodable {
    let overrides: RecipeOverrides

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(RecipeKey.self)
        overrides = try RecipeOverrides(taskFile: decoder)
    }
}

extension RecipeOverrides {
    /// Reads the ``jsonKeys`` of a task file's recipe object, range-checked.
    fileprivate init(taskFile decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: RecipeKey.self)
        self.init()
        lr = try c.number(.lr, .positive).map { Float($0) }
        weightDecay = try c.number(.weightDecay, .nonNegative).map { Float($0) }
        batchSize = try c.optionalCount(.batchSize, min: 1)
        epochs = try c.optionalCount(.epochs, min: 1)
        warmupEpochs = try c.number(.warmupEpochs, .nonNegative)
        labelSmoothing = try c.number(.labelSmoothing, .unitOpen)
        augment = try c.decodeIfPresent(Bool.self, forKey: .augment)
        seed = try c.optionalCount(.seed, min: 0).map { UInt64($0) }
        dropPath = try c.number(.dropPath, .unitOpen)
        keepRate = try c.number(.keepRate, .unitHalfOpenLeft)
        prompts = try c.optionalCount(.prompts, min: 1)
        rank = try c.optionalCount(.rank, min: 1)
        loraRank = try c.optionalCount(.loraRank, min: 1)
        if let layers = try c.decodeIfPresent([Int].self, forKey: .tsLayers) {
            guard layers.allSatisfy({ $0 >= 0 }), layers == layers.sorted(), Set(layers).count == layers.count else {
                throw c.invalid(.tsLayers, "expected block indices ≥ 0, increasing without repeats")
            }
            tsLayers = layers
        }
    }
}

/// The ranges a task file's numbers must lie in, written as in mathematics.
private enum Interval {
    case positive, nonNegative, unitOpen, unitHalfOpenLeft

    func contains(_ v: Double) -> Bool {
        switch self {
        case .positive: return v > 0
        case .nonNegative: return v >= 0
        case .unitOpen: return v >= 0 && v < 1
        case .unitHalfOpenLeft: return v > 0 && v <= 1
        }
    }

    var text: String {
        switch self {
        case .positive: return "> 0"
        case .nonNegative: return "≥ 0"
        case .unitOpen: return "in [0, 1)"
        case .unitHalfOpenLeft: return "in (0, 1]"
        }
    }
}

extension KeyedDecodingContainer {
    /// A range error at `key`, in the shape of every decoding error.
    fileprivate func invalid(_ key: Key, _ problem: String) -> DecodingError {
        DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: problem)
    }

    fileprivate func count(_ key: Key, min: Int) throws -> Int {
        try atLeast(min, try decodeWholeNumber(forKey: key), key)
    }

    fileprivate func optionalCount(_ key: Key, min: Int) throws -> Int? {
        try decodeWholeNumberIfPresent(forKey: key).map { try atLeast(min, $0, key) }
    }

    private func atLeast(_ min: Int, _ value: Int, _ key: Key) throws -> Int {
        guard value >= min else { throw invalid(key, "is \(value), expected a whole number ≥ \(min)") }
        return value
    }

    fileprivate func number(_ key: Key, _ interval: Interval) throws -> Double? {
        guard let value = try decodeIfPresent(Double.self, forKey: key) else { return nil }
        guard value.isFinite, interval.contains(value) else {
            throw invalid(key, "is \(value), expected a number \(interval.text)")
        }
        return value
    }
}
