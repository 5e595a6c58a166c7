// RecipeOverrides: a partial set of training and tuning settings (every field optional) that is layered over the
// docs/METHOD.md §5 defaults — a VTAB task's recipe, then its per-method entry, then the command line.

/// Settings that replace the corresponding defaults when present; absent (nil) fields leave them alone.
///
/// The same keys appear in the `recipe` and `methods.<method>` objects of the `configs/vtab/<task>.json` files
/// (JSON names in brackets) and in the experiment commands' flags. Layers combine with ``overriding(with:)``,
/// later layers winning key by key.
public struct RecipeOverrides: Sendable, Equatable, Codable {
    /// Peak learning rate (`lr`).
    public var lr: Float?
    /// AdamW weight decay (`weight_decay`).
    public var weightDecay: Float?
    /// Batch size (`batch_size`).
    public var batchSize: Int?
    /// Epochs (`epochs`).
    public var epochs: Int?
    /// Linear warm-up epochs before the cosine decay (`warmup_epochs`).
    public var warmupEpochs: Double?
    /// Label smoothing (`label_smoothing`).
    public var labelSmoothing: Double?
    /// Random-resized-crop and flip (`augment`).
    public var augment: Bool?
    /// Random seed (`seed`).
    public var seed: UInt64?
    /// Stochastic depth rate at the last block (`drop_path`); a tuning setting.
    public var dropPath: Double?
    /// EViT keep rate κ (`keep_rate`); a tuning setting.
    public var keepRate: Double?
    /// Blocks that reduce tokens, 0-based (`ts_layers`); a tuning setting.
    public var tsLayers: [Int]?
    /// VPT-deep prompts per block (`prompts`); a tuning setting.
    public var prompts: Int?
    /// Dense-adapter bottleneck r (`rank`); a tuning setting.
    public var rank: Int?
    /// LoRA rank (`lora_rank`); a tuning setting.
    public var loraRank: Int?

    /// No overrides.
    public init() {}

    /// The JSON keys accepted in configuration files, in documentation order.
    public static let jsonKeys = JSONKey.allCases.map(\.stringValue)

    /// True when no field is set.
    public var isEmpty: Bool { self == RecipeOverrides() }

    /// These overrides with every field that `later` sets replaced by its value.
    public func overriding(with later: RecipeOverrides) -> RecipeOverrides {
        var o = self
        o.lr = later.lr ?? lr
        o.weightDecay = later.weightDecay ?? weightDecay
        o.batchSize = later.batchSize ?? batchSize
        o.epochs = later.epochs ?? epochs
        o.warmupEpochs = later.warmupEpochs ?? warmupEpochs
        o.labelSmoothing = later.labelSmoothing ?? labelSmoothing
        o.augment = later.augment ?? augment
        o.seed = later.seed ?? seed
        o.dropPath = later.dropPath ?? dropPath
        o.keepRate = later.keepRate ?? keepRate
        o.tsLayers = later.tsLayers ?? tsLayers
        o.prompts = later.prompts ?? prompts
        o.rank = later.rank ?? rank
        o.loraRank = later.loraRank ?? loraRank
        return o
    }

    /// Writes the training fields that are set into `options`.
    public func apply(to options: inout TrainingOptions) {
        if let lr { options.lr = lr }
        if let weightDecay { options.weightDecay = weightDecay }
        if let batchSize { options.batchSize = batchSize }
        if let epochs { options.epochs = epochs }
        if let warmupEpochs { options.warmupEpochs = warmupEpochs }
        if let labelSmoothing { options.labelSmoothing = labelSmoothing }
        if let augment { options.augment = augment }
        if let seed { options.seed = seed }
    }

    /// Writes the tuning fields that are set into `tuning`. `prompts` only matters to VPT-deep, `rank` to Dense
    /// Adapters and `loraRank` to LoRA, but they are stored whatever the method (as the command-line flags are).
    public func apply(to tuning: inout TuningConfig) {
        if let dropPath { tuning.dropPath = dropPath }
        if let keepRate { tuning.keepRate = keepRate }
        if let tsLayers { tuning.tsLayers = tsLayers }
        if let prompts { tuning.prompts = prompts }
        if let rank { tuning.rank = rank }
        if let loraRank { tuning.loraRank = loraRank }
    }
}
