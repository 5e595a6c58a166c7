// VTABTaskConfig: one `configs/vtab/<task>.json` file — the task's name, classes, group, folder aliases, VPT-deep
// prompt count, its training recipe and per-method overrides — parsed strictly, every error naming file and key.
import Foundation

/// The configuration of one VTAB-1K task, as kept in `configs/vtab/<task>.json`.
///
/// ```json
/// {
///   "name": "cifar", "classes": 100, "group": "Natural", "aliases": ["cifar100"], "vpt_prompts": 10,
///   "recipe": {"optimizer": "adamw", "lr": 0.001, "weight_decay": 0.0001, "batch_size": 64, "epochs": 100,
///              "warmup_epochs": 10, "augment": false, "label_smoothing": 0, "drop_path": 0},
///   "methods": {"full": {"lr": 0.0001}}
/// }
/// ```
///
/// `name`, `classes`, `group` and `vpt_prompts` are required; `aliases` (other folder names), `recipe` and
/// `methods` are optional. `recipe` and each `methods.<method>` entry take the keys of
/// ``RecipeOverrides/jsonKeys`` (plus `"optimizer": "adamw"` in `recipe`, the only optimiser there is); a method
/// entry applies on top of the recipe for that method only. Unknown keys are errors, so a typo never silently
/// falls back to a default.
public struct VTABTaskConfig: Sendable, Equatable {
    /// Canonical task name (the folder name of docs/METHOD.md §8).
    public var name: String
    /// Number of classes.
    public var classes: Int
    /// Natural, Specialized or Structured.
    public var group: VTABGroup
    /// Other accepted folder names.
    public var aliases: [String]
    /// Prompt tokens per block for VPT-deep on this task.
    public var vptPrompts: Int
    /// The task's recipe (over docs/METHOD.md §5's VTAB-1K defaults).
    public var recipe: RecipeOverrides
    /// Per-method overrides (over the recipe).
    public var methods: [TuningMethod: RecipeOverrides]

    /// A configuration with the given fields.
    public init(name: String, classes: Int, group: VTABGroup, aliases: [String] = [], vptPrompts: Int,
                recipe: RecipeOverrides = RecipeOverrides(), methods: [TuningMethod: RecipeOverrides] = [:]) {
        self.name = name
        self.classes = classes
        self.group = group
        self.aliases = aliases
        self.vptPrompts = vptPrompts
        self.recipe = recipe
        self.methods = methods
    }

    /// The overrides that apply to `method`: the recipe, then the method's entry.
    public func overrides(for method: TuningMethod) -> RecipeOverrides {
        recipe.overriding(with: methods[method] ?? RecipeOverrides())
    }

    /// The training options for `method`: docs/METHOD.md §5's VTAB-1K recipe (``TrainingOptions/init()``), then this
    /// task's recipe and method entry.
    public func trainingOptions(for method: TuningMethod) -> TrainingOptions {
        var o = TrainingOptions()
        overrides(for: method).apply(to: &o)
        return o
    }

    /// The tuning configuration for `method`: its defaults (``TuningConfig/defaults(for:)``) with this task's
    /// VPT-deep prompt count, then the tuning keys of the recipe and method entry.
    public func tuning(for method: TuningMethod) -> TuningConfig {
        var t = TuningConfig.defaults(for: method)
        t.prompts = vptPrompts
        overrides(for: method).apply(to: &t)
        return t
    }

    // MARK: Parsing

    /// Parses the JSON text of a task file; `file` names it in errors.
    /// - Throws: ``SparseTuningError`` naming `file` and the key at fault: invalid JSON, a missing or unknown key,
    ///   a value of the wrong type or out of range, an unknown group or method.
    public static func parse(_ text: String, file: String) throws -> VTABTaskConfig {
        let root: JSONValue
        switch TrainingCheckpoint.parseJSON(text) {
        case .success(let v): root = v
        case .failure(let error): throw SparseTuningError("\(file): not valid JSON (\(error.description))")
        }
        guard case .object(let fields) = root else {
            throw SparseTuningError("\(file): is \(root.kind), expected a JSON object with name, classes, group, vpt_prompts")
        }
        let allowed = ["name", "classes", "group", "aliases", "vpt_prompts", "recipe", "methods"]
        try rejectUnknown(fields, allowed: allowed, file: file, path: "")
        let reader = FieldReader(file: file)

        let name = try reader.string(fields, "name")
        guard !name.isEmpty, !name.contains("/") else { throw SparseTuningError("\(file): key 'name' must be a folder name (got '\(name)')") }
        let classes = try reader.int(fields, "classes", min: 2)
        let groupName = try reader.string(fields, "group")
        guard let group = VTABGroup(rawValue: groupName) else {
            throw SparseTuningError("\(file): key 'group' is '\(groupName)', expected one of "
                + VTABGroup.allCases.map(\.rawValue).joined(separator: ", "))
        }
        var aliases: [String] = []
        switch fields["aliases"] {
        case nil: break
        case .array(let items)?:
            for (i, item) in items.enumerated() {
                guard case .string(let s) = item, !s.isEmpty else {
                    throw SparseTuningError("\(file): key 'aliases[\(i)]' is \(item.kind), expected a non-empty string")
                }
                aliases.append(s)
            }
        case let other?: throw SparseTuningError("\(file): key 'aliases' is \(other.kind), expected an array of strings")
        }
        let prompts = try reader.int(fields, "vpt_prompts", min: 1)

        var recipe = RecipeOverrides()
        if let value = fields["recipe"] {
            recipe = try parseOverrides(value, file: file, path: "recipe", allowOptimizer: true)
        }
        var methods: [TuningMethod: RecipeOverrides] = [:]
        switch fields["methods"] {
        case nil: break
        case .object(let entries)?:
            for key in entries.keys.sorted() {
                guard let method = TuningMethod(rawValue: key) else {
                    throw SparseTuningError("\(file): key 'methods.\(key)' is not a method; expected one of "
                        + TuningMethod.allCases.map(\.rawValue).joined(separator: ", "))
                }
                methods[method] = try parseOverrides(entries[key]!, file: file, path: "methods.\(key)", allowOptimizer: false)
            }
        case let other?: throw SparseTuningError("\(file): key 'methods' is \(other.kind), expected an object of method names")
        }
        return VTABTaskConfig(name: name, classes: classes, group: group, aliases: aliases, vptPrompts: prompts,
                              recipe: recipe, methods: methods)
    }

    /// Reads a `recipe` or `methods.<m>` object.
    static func parseOverrides(_ value: JSONValue, file: String, path: String, allowOptimizer: Bool) throws -> RecipeOverrides {
        guard case .object(let fields) = value else {
            throw SparseTuningError("\(file): key '\(path)' is \(value.kind), expected an object")
        }
        try rejectUnknown(fields, allowed: RecipeOverrides.jsonKeys + (allowOptimizer ? ["optimizer"] : []), file: file, path: path)
        let r = FieldReader(file: file, prefix: path + ".")
        if fields["optimizer"] != nil {
            let opt = try r.string(fields, "optimizer")
            guard opt.lowercased() == "adamw" else {
                throw SparseTuningError("\(file): key '\(path).optimizer' is '\(opt)', but the only optimiser is adamw")
            }
        }
        var o = RecipeOverrides()
        o.lr = try r.optionalNumber(fields, "lr", .positive).map { Float($0) }
        o.weightDecay = try r.optionalNumber(fields, "weight_decay", .nonNegative).map { Float($0) }
        o.batchSize = try r.optionalInt(fields, "batch_size", min: 1)
        o.epochs = try r.optionalInt(fields, "epochs", min: 1)
        o.warmupEpochs = try r.optionalNumber(fields, "warmup_epochs", .nonNegative)
        o.labelSmoothing = try r.optionalNumber(fields, "label_smoothing", .unitOpen)
        o.augment = try r.optionalBool(fields, "augment")
        o.seed = try r.optionalInt(fields, "seed", min: 0).map { UInt64($0) }
        o.dropPath = try r.optionalNumber(fields, "drop_path", .unitOpen)
        o.keepRate = try r.optionalNumber(fields, "keep_rate", .unitHalfOpenLeft)
        o.prompts = try r.optionalInt(fields, "prompts", min: 1)
        o.rank = try r.optionalInt(fields, "rank", min: 1)
        o.loraRank = try r.optionalInt(fields, "lora_rank", min: 1)
        switch fields["ts_layers"] {
        case nil: break
        case .array(let items)?:
            var layers: [Int] = []
            for (i, item) in items.enumerated() {
                guard case .integer(let l) = item, l >= 0 else {
                    throw SparseTuningError("\(file): key '\(path).ts_layers[\(i)]' is \(item.kind), expected a block index ≥ 0")
                }
                layers.append(l)
            }
            guard layers == layers.sorted(), Set(layers).count == layers.count else {
                throw SparseTuningError("\(file): key '\(path).ts_layers' must be increasing without repeats")
            }
            o.tsLayers = layers
        case let other?:
            throw SparseTuningError("\(file): key '\(path).ts_layers' is \(other.kind), expected an array of block indices")
        }
        return o
    }

    private static func rejectUnknown(_ fields: [String: JSONValue], allowed: [String], file: String, path: String) throws {
        if let unknown = fields.keys.filter({ !allowed.contains($0) }).sorted().first {
            let shown = path.isEmpty ? unknown : "\(path).\(unknown)"
            throw SparseTuningError("\(file): unknown key '\(shown)' (allowed: \(allowed.joined(separator: ", ")))")
        }
    }
}

/// Typed access to JSON object members with errors naming the file and the dotted key.
private struct FieldReader {
    let file: String
    var prefix = ""

    func fail(_ key: String, _ found: JSONValue?, _ expected: String) -> SparseTuningError {
        SparseTuningError("\(file): key '\(prefix)\(key)' " + (found.map { "is \($0.kind)" } ?? "is missing") + ", expected \(expected)")
    }

    func string(_ f: [String: JSONValue], _ key: String) throws -> String {
        guard case .string(let s)? = f[key] else { throw fail(key, f[key], "a string") }
        return s
    }

    func int(_ f: [String: JSONValue], _ key: String, min: Int) throws -> Int {
        guard let v = try optionalInt(f, key, min: min) else { throw fail(key, nil, "a whole number ≥ \(min)") }
        return v
    }

    func optionalInt(_ f: [String: JSONValue], _ key: String, min: Int) throws -> Int? {
        switch f[key] {
        case nil: return nil
        case .integer(let i)? where i >= min: return i
        case .integer(let i)?: throw SparseTuningError("\(file): key '\(prefix)\(key)' is \(i), expected a whole number ≥ \(min)")
        case let other: throw fail(key, other, "a whole number ≥ \(min)")
        }
    }

    /// A number in `range`, written as in mathematics: "> 0", "≥ 0", "[0, 1)", "(0, 1]".
    enum Interval {
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

    func optionalNumber(_ f: [String: JSONValue], _ key: String, _ interval: Interval) throws -> Double? {
        let value: Double
        switch f[key] {
        case nil: return nil
        case .integer(let i)?: value = Double(i)
        case .number(let d)?: value = d
        case let other: throw fail(key, other, "a number \(interval.text)")
        }
        guard value.isFinite, interval.contains(value) else {
            throw SparseTuningError("\(file): key '\(prefix)\(key)' is \(value), expected a number \(interval.text)")
        }
        return value
    }

    func optionalBool(_ f: [String: JSONValue], _ key: String) throws -> Bool? {
        switch f[key] {
        case nil: return nil
        case .bool(let b)?: return b
        case let other: throw fail(key, other, "true or false")
        }
    }
}
