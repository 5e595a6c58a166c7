// What is trained and how tokens are reduced: the method (docs/METHOD.md §4), token sparsification (§2) or ToMe (§10),
// adapter kind and sizes (§3), head options — everything a task file records in its metadata.

/// The fine-tuning methods offered side by side on the same backbone (docs/METHOD.md §4).
public enum TuningMethod: String, Sendable, Codable, CaseIterable {
    /// Dense Adapters + head, with token sparsification (the paper's method; the default).
    case sparseTuning = "sparse-tuning"
    /// The released code's adapters + head, with token sparsification.
    case sparseTuningOfficial = "sparse-tuning-official"
    /// Every backbone tensor and the head (token reduction optional).
    case full
    /// The head only.
    case linear
    /// AdaptFormer: a scaled bottleneck parallel to each MLP.
    case adaptformer
    /// Houlsby-style sequential bottleneck after each MLP.
    case adapter
    /// Low-rank updates of every fused qkv weight.
    case lora
    /// Deep visual prompts: learned tokens replaced at every block.
    case vptDeep = "vpt-deep"
    /// The head with token sparsification (optionally with AdaptFormer).
    case evit
}

/// How tokens are reduced inside the chosen blocks.
public enum TokenReductionKind: String, Sendable, Codable, CaseIterable {
    /// EViT top-k by class attention, dropped tokens fused (docs/METHOD.md §2).
    case evit
    /// ToMe bipartite merging with size-weighted averages and proportional attention (docs/METHOD.md §10).
    case tome
}

/// Which adapters the blocks carry.
public enum AdapterKind: String, Sendable, Codable, CaseIterable {
    case none
    /// docs/METHOD.md §3a: per-block bottleneck fed by the block's tokens and earlier adapters' outputs.
    case dense
    /// docs/METHOD.md §3b: the released code's single-input adapter with stage-wise cross-block sums.
    case official
}

/// The complete description of a fine-tuning setup. Stored as JSON in task files
/// (`__metadata__["sparse_tuning.config"]` together with the backbone's ``ViTConfig``).
public struct TuningConfig: Sendable, Codable, Equatable {
    public var method: TuningMethod = .sparseTuning
    /// Token keep rate κ for EViT sparsification (1 = no sparsification).
    public var keepRate: Double = 0.7
    /// Blocks (0-based) that reduce tokens; also the stage boundaries of the official adapters' sums.
    /// Nil means the default for the depth: {3, 6, 9} for 12 blocks, in general {D/4, D/2, 3D/4}.
    public var tsLayers: [Int]?
    /// Fuse the dropped tokens into one extra token (EViT).
    public var fuse = true
    public var reduction: TokenReductionKind = .evit
    /// ToMe: merges per reducing block.
    public var tomeR = 0
    public var adapter: AdapterKind = .dense
    /// Dense-adapter bottleneck r.
    public var rank = 32
    /// Released-code adapter widths [h, b]: down1 C→h, down2 h→b, up1 b→h, down3 (h+b)→h, up2 h→C.
    public var officialDims = [64, 32]
    /// BatchNorm1d (no affine) before the head Linear (released code).
    public var bnHead = false
    /// LoRA rank and the q,v-only variant.
    public var loraRank = 8
    public var loraQVOnly = false
    /// VPT-deep prompts per block.
    public var prompts = 10
    /// AdaptFormer bottleneck width and scale; with `method == .evit`, also add AdaptFormer.
    public var adaptformerDim = 64
    public var adaptformerScale: Float = 0.1
    public var evitWithAdaptformer = false
    /// Houlsby adapter bottleneck width.
    public var houlsbyDim = 8
    /// Stochastic depth rate at the last block (linearly increasing from 0), timm's rule.
    public var dropPath: Double = 0
    /// How a per-frame video model pools its frames (nil: the mean; see ``TemporalPooling``).
    public var temporalPool: TemporalPooling?

    public init() {}

    /// The defaults of `method`: sparsification for sparse-tuning and evit, adapters for the sparse-tuning kinds.
    public static func defaults(for method: TuningMethod) -> TuningConfig {
        var c = TuningConfig()
        c.method = method
        switch method {
        case .sparseTuning: c.adapter = .dense
        case .sparseTuningOfficial: c.adapter = .official
        case .evit: c.adapter = .none
        default:
            c.adapter = .none
            c.keepRate = 1
        }
        return c
    }

    /// A plain ViT: no method, no token reduction (the head is the only trainable tensor).
    public static var plain: TuningConfig { defaults(for: .linear) }

    /// The reducing blocks for a model of `depth` blocks.
    public func reductionBlocks(depth: Int) -> [Int] {
        tsLayers ?? Array(Set([depth / 4, depth / 2, 3 * depth / 4])).sorted()
    }

    /// True when some block reduces tokens.
    public var reducesTokens: Bool {
        tsLayers?.isEmpty != true && (reduction == .evit ? keepRate < 1 : tomeR > 0)
    }

    /// Whether the backbone's own tensors are trained.
    public var trainsBackbone: Bool { method == .full }

    /// Throws a message naming the option when the combination is impossible for `depth` blocks.
    public func validate(depth: Int) throws {
        func need(_ ok: Bool, _ message: String) throws { if !ok { throw SparseTuningError(message) } }
        try need(keepRate > 0 && keepRate <= 1, "--keep-rate must be in (0, 1] (got \(keepRate))")
        if let ts = tsLayers {
            let text = ts.map(String.init).joined(separator: ",")
            try need(ts.allSatisfy { (0..<depth).contains($0) }, "--ts-layers \(text) must name blocks 0…\(depth - 1)")
            try need(Set(ts).count == ts.count && ts == ts.sorted(), "--ts-layers must be increasing without repeats (got \(text))")
        }
        try need(rank > 0 && rank <= 4096, "--rank must be in 1…4096 (got \(rank))")
        try need(officialDims.count == 2 && officialDims.allSatisfy { $0 > 0 && $0 <= 4096 },
                 "official adapter widths must be two positive numbers (got \(officialDims))")
        try need(adaptformerDim > 0 && houlsbyDim > 0, "bottleneck widths must be positive")
        try need(tomeR >= 0, "--tome-r must be 0 or more (got \(tomeR))")
        try need(loraRank > 0, "--lora-rank must be positive (got \(loraRank))")
        try need(prompts > 0, "--prompts must be positive (got \(prompts))")
        try need(dropPath >= 0 && dropPath < 1, "--drop-path must be in [0, 1) (got \(dropPath))")
        try need(!(method == .vptDeep && reducesTokens), "vpt-deep cannot be combined with token reduction (--keep-rate 1)")
    }
}
