// The one model: a backbone plus what a fine-tuning method adds (docs/METHOD.md): token reduction between
// attention and MLP, Dense or released-code adapters, AdaptFormer, Houlsby adapters, LoRA, deep prompts, a
// BatchNorm head; and which tensors train. A plain ViT is this model with ``TuningConfig/plain`` (nothing added).
// The forward pass is in `TunedViT+Forward.swift`, the backward pass in `TunedViT+Backward.swift`.

import Synchronization

/// A Vision Transformer adapted by one of the methods of ``TuningMethod`` (or by none: ``TuningConfig/plain``).
///
/// The backbone's tensors keep their timm names; the added tensors use the authors' names (docs/METHOD.md), so
/// a state_dict saved by their PyTorch code loads unchanged.
///
/// Forward passes are safe to run from several threads at once: each call plans its activations in an arena of
/// its own (docs/ENGINE.md). Changing settings (``precision``, ``prepackWeights``) or training steps must not
/// overlap with other calls.
public final class TunedViT: Sendable {
    public let backbone: VisionTransformer
    public let tuning: TuningConfig
    public var config: ViTConfig { backbone.config }

    let dense: [DenseAdapter?]
    let official: [OfficialAdapter?]
    let adaptformer: [Bottleneck?]
    let houlsby: [Bottleneck?]
    let lora: [LoRA?]
    /// (depth, P, C) deep prompts.
    let prompts: Tensor?
    let bnHead: BatchNormHead?
    /// A per-frame video model's pooling over frames (nil for images and space-time video models).
    let temporalPool: TemporalPool?

    /// The tensors this method trains, with gradient buffers.
    public let trainable: [Parameter]

    /// Blocks that reduce tokens (empty when nothing is reduced).
    let tsBlocks: Set<Int>
    /// The reduction blocks as configured, which also bound the official adapters' stages.
    let stageStarts: [Int]
    let moduleParameters: [String: [Parameter]]
    /// The lowest block holding a trainable tensor (`depth` when only the head trains): the backward pass stops
    /// there, and blocks below it keep no tape.
    let firstTrainableBlock: Int
    /// Activation arenas, one per concurrent call and step shape.
    let arenas = ArenaPool()
    /// Blocks whose MLP activation (fc1's output, the largest tape entry) is recomputed in the backward pass instead
    /// of kept: by default the blocks before the first token reduction, which see the most tokens (about 10% more
    /// compute per ViT-B step for about a fifth less activation memory). Set before training.
    public var recomputedMLPBlocks: Set<Int> {
        get { recomputed.withLock { $0 } }
        set { recomputed.withLock { $0 = newValue } }
    }
    private let recomputed: Mutex<Set<Int>>

    /// Adds `tuning`'s modules to `backbone`, initialised from `seed` as docs/METHOD.md §3/§4 prescribe (a fresh model
    /// computes exactly the backbone's function). The backbone's pos_embed is resampled to `config.imageSize`.
    public init(backbone: VisionTransformer, tuning: TuningConfig, seed: UInt64 = 0) throws {
        try tuning.validate(depth: backbone.config.depth)
        self.backbone = backbone
        self.tuning = tuning
        let cfg = backbone.config, c = cfg.dim, depth = cfg.depth
        var rng = SeededGenerator(seed: seed &+ 0x5EED)
        let m = tuning.method
        dense = (0..<depth).map { l in tuning.adapter == .dense ? DenseAdapter(block: l, dim: c, rank: tuning.rank, rng: &rng) : nil }
        official = (0..<depth).map { l in tuning.adapter == .official ? OfficialAdapter(block: l, dim: c, widths: tuning.officialDims, rng: &rng) : nil }
        let withAF = m == .adaptformer || (m == .evit && tuning.evitWithAdaptformer)
        adaptformer = (0..<depth).map { _ in
            withAF ? Bottleneck(dim: c, hidden: tuning.adaptformerDim, scale: tuning.adaptformerScale, rng: &rng) : nil
        }
        houlsby = (0..<depth).map { _ in m == .adapter ? Bottleneck(dim: c, hidden: tuning.houlsbyDim, scale: 1, rng: &rng) : nil }
        lora = (0..<depth).map { l in
            m == .lora ? LoRA(block: l, dim: c, rank: tuning.loraRank, qvOnly: tuning.loraQVOnly, rng: &rng) : nil
        }
        if m == .vptDeep {
            let p = Tensor(zeros: [depth, tuning.prompts, c])
            p.fillUniform(bound: (6 / Float(3 * cfg.patch * cfg.patch + c)).squareRoot(), using: &rng)
            prompts = p
        } else {
            prompts = nil
        }
        bnHead = tuning.bnHead ? BatchNormHead(dim: cfg.headWidth) : nil
        if tuning.temporalPool != nil && cfg.sequencesPerSample == 1 {
            throw SparseTuningError("--temporal-pool applies to per-frame video models only (\(cfg.isVideo ? "this one has space-time tokens" : "this is an image model"))")
        }
        temporalPool = cfg.sequencesPerSample > 1 ? TemporalPool(tuning.temporalPool ?? .mean, width: cfg.headWidth) : nil
        stageStarts = tuning.reductionBlocks(depth: depth)
        tsBlocks = tuning.reducesTokens ? Set(stageStarts) : []
        recomputed = Mutex(tuning.reducesTokens ? Set(0..<(stageStarts.first ?? 0)) : [])
        let modules: [[Any?]] = [dense, official, adaptformer, houlsby, lora]
        let perBlock = (0..<depth).map { l in modules.contains { $0[l] != nil } }
        firstTrainableBlock = tuning.trainsBackbone || m == .vptDeep ? 0 : perBlock.firstIndex(of: true) ?? depth
        let grid = (cfg.imageSize / cfg.patch, cfg.imageSize / cfg.patch)
        if backbone.posEmbedGrid != grid && !cfg.sinusoidalPositions {
            backbone.setPositionEmbedding(backbone.positionEmbedding(grid: grid, tokens: grid.0 * grid.1).copy(), grid: grid)
        }
        (trainable, moduleParameters) = Self.trainableTensors(backbone: backbone, tuning: tuning, dense: dense, official: official,
                                                              adaptformer: adaptformer, houlsby: houlsby, lora: lora,
                                                              prompts: prompts, bnHead: bnHead != nil,
                                                              temporalQuery: temporalPool?.query)
    }

    /// The tensors the method trains, in order, and the same grouped by module (`dense.3`, `head` …).
    private static func trainableTensors(backbone: VisionTransformer, tuning: TuningConfig, dense: [DenseAdapter?],
                                         official: [OfficialAdapter?], adaptformer: [Bottleneck?], houlsby: [Bottleneck?],
                                         lora: [LoRA?], prompts: Tensor?, bnHead: Bool, temporalQuery: Tensor?)
        -> ([Parameter], [String: [Parameter]]) {
        var t: [Parameter] = [], moduleParameters: [String: [Parameter]] = [:]
        func add(_ key: String, _ ps: [Parameter]) { moduleParameters[key] = ps; t += ps }
        if tuning.trainsBackbone {
            let ps = backbone.parameters().filter { !$0.name.hasPrefix("head.") }
                .map { Parameter(name: $0.name, value: $0.tensor) }
            add("backbone", ps)
        }
        for (l, a) in dense.enumerated() { if let a { add("dense.\(l)", a.parameters()) } }
        for (l, a) in official.enumerated() { if let a { add("official.\(l)", a.parameters()) } }
        for (l, a) in adaptformer.enumerated() {
            if let a { add("adaptformer.\(l)", a.parameters("blocks.\(l).adaptmlp", down: "down_proj", up: "up_proj")) }
        }
        for (l, a) in houlsby.enumerated() { if let a { add("houlsby.\(l)", a.parameters("blocks.\(l).houlsby", down: "down", up: "up")) } }
        for (l, a) in lora.enumerated() { if let a { add("lora.\(l)", a.parameters()) } }
        if let prompts { add("prompts", [Parameter(name: "vpt.prompts", value: prompts, weightDecay: false)]) }
        if let temporalQuery { add("temporal_pool", [Parameter(name: "temporal_pool.query", value: temporalQuery, weightDecay: false)]) }
        if let head = backbone.head {
            let prefix = bnHead ? "head.1" : "head"
            add("head", [Parameter(name: "\(prefix).weight", value: head.weight), Parameter(name: "\(prefix).bias", value: head.bias!)])
        }
        return (t, moduleParameters)
    }

    /// Number of trainable values (the figure papers report, head included).
    public var trainableCount: Int { trainable.reduce(0) { $0 + $1.value.count } }

    /// Trainable values excluding the head.
    public var trainableCountWithoutHead: Int {
        trainable.filter { !$0.name.hasPrefix("head") }.reduce(0) { $0 + $1.value.count }
    }

    /// Every Linear whose weights the optimiser changes (re-packed after each step).
    var trainableLinears: [Linear] {
        var out: [Linear] = dense.compactMap { $0 }.flatMap(\.linears) + official.compactMap { $0 }.flatMap(\.linears)
        out += (adaptformer + houlsby).compactMap { $0 }.flatMap { [$0.down, $0.up] }
        if tuning.trainsBackbone { out += backbone.linears() } else if let h = backbone.head { out.append(h) }
        return out
    }

    /// Call after changing trainable tensors in place (optimiser step, loading): re-packs their matrices.
    public func parametersUpdated() {
        for l in trainableLinears { l.weightsChanged() }
    }

    /// Whether frozen matrices keep a packed copy (see ``Linear/prepack``); training turns it off to save memory.
    public var prepackWeights: Bool {
        get { backbone.linears().first?.prepack ?? true }
        set { for l in backbone.linears() + trainableLinears { l.prepack = newValue } }
    }

    /// Precision of the frozen matrix products and of attention (see ``Precision``). The tensors that train —
    /// adapters, LoRA, the head, or the whole backbone in full fine-tuning — keep fp32 products: their updates are
    /// small corrections that bf16 inputs would blur (measured: docs/ENGINE.md, "Precision").
    public var precision: Precision {
        get { backbone.precision }
        set {
            backbone.precision = newValue
            for l in trainableLinears { l.precision = .fp32 }
        }
    }
}
