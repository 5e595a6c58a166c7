// VTABTaskConfig: one `configs/vtab/<task>.json` file — the task's name, classes, group, folder aliases, VPT-deep
// prompt count, its training recipe and per-method overrides (read by VTABTaskConfigCoding.swift).

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
}
