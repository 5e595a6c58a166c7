// SparsificationTrace: follows every image patch through a forward pass's successive EViT reductions — which
// patches each sparsifying block dropped, with what fusion weight, and where earlier fused tokens went.

/// What a non-class token stands for after zero or more EViT reductions.
public enum TokenOrigin: Sendable, Hashable {
    /// The token of image patch `index` (row-major on the patch grid).
    case patch(Int)
    /// The fused token appended by the sparsifying block `block`.
    case fused(block: Int)
}

/// The patches behind each token through the EViT reductions of one forward pass, for one sample.
///
/// A reduction keeps the class token and, as output tokens 1…k, the input tokens `1 + kept[i − 1]`; with fusion a
/// last token is the score-weighted sum of the dropped ones. So after the reduction, output token i (1…k) is
/// whatever input token `1 + kept[i − 1]` was, and the fused token is no patch at all — a later block may keep it
/// (it then competes like any token) or drop it into its own fused token.
public struct SparsificationTrace: Sendable {
    /// An earlier fused token that a block kept.
    public struct KeptFusedToken: Sendable, Equatable {
        /// The block that made the fused token.
        public var block: Int
        /// Its place among the kept tokens, 1 = highest score.
        public var rank: Int
    }

    /// One sparsifying block.
    public struct Stage: Sendable {
        /// The block (0-based, as `--ts-layers`).
        public let block: Int
        /// Tokens entering the block's reduction, class token included.
        public let tokensIn: Int
        /// Tokens leaving the block's reduction, class token (and fused token) included.
        public let tokensOut: Int
        /// Prefix tokens (class, distillation, registers) passing through unchanged.
        public let prefix: Int
        /// How many non-class tokens were kept (k).
        public let keptCount: Int
        /// Whether the dropped tokens were fused into one extra token.
        public let fused: Bool
        /// The non-class tokens leaving the block, in order (the fused token last when ``fused``).
        public let outputs: [TokenOrigin]
        /// Patches dropped by this block, in descending score order.
        public let droppedPatches: [Int]
        /// The fusion weight s_j of each of ``droppedPatches`` (empty without fusion).
        public let droppedPatchWeights: [Float]
        /// Earlier fused tokens dropped by this block (so merged into this block's fused token), by their block.
        public let droppedFusedTokens: [Int]
        /// Earlier fused tokens this block kept.
        public let keptFusedTokens: [KeptFusedToken]
        /// Σ s_j over every token this block dropped: the total weight of its fused token (0 without fusion).
        public let fusedWeight: Float
        /// Patches still present as their own token after this block, ascending.
        public let remainingPatches: [Int]
    }

    /// Patches on the image's grid (the input has 1 + patchCount tokens).
    public let patchCount: Int
    /// The sparsifying blocks in order.
    public let stages: [Stage]

    /// Traces sample `sample` of `reductions` (``ForwardResult/reductions``) for an input of `patchCount` patches.
    ///
    /// - Throws: ``SparseTuningError`` when there are no reductions, a reduction is not EViT (ToMe), the sample is
    ///   out of range, or the token counts do not chain up from `1 + patchCount`.
    public init(reductions: [Int: TokenReduction], sample: Int = 0, patchCount: Int) throws {
        guard patchCount > 0 else { throw SparseTuningError("an image of \(patchCount) patches has nothing to trace") }
        guard !reductions.isEmpty else {
            throw SparseTuningError("the forward pass dropped no tokens (no EViT token sparsification was applied)")
        }
        self.patchCount = patchCount
        var tokens = (0..<patchCount).map { TokenOrigin.patch($0) }
        var removed = [Bool](repeating: false, count: patchCount)
        var stages: [Stage] = []
        for block in reductions.keys.sorted() {
            let red = reductions[block]!
            guard red.isEViT else {
                throw SparseTuningError("block \(block) merges tokens (ToMe); only EViT token sparsification can be traced to patches")
            }
            guard sample >= 0, sample < red.batch else {
                throw SparseTuningError("sample \(sample) is outside the batch of \(red.batch)")
            }
            guard red.tokensIn == tokens.count + red.prefix else {
                throw SparseTuningError("block \(block) reduces \(red.tokensIn) tokens, expected \(tokens.count + red.prefix) "
                    + "(\(red.prefix) prefix tokens + \(patchCount) patches after the earlier reductions)")
            }
            let kept = red.kept[sample]
            let dropped = red.droppedTokens[sample]
            let scores = red.classAttentionScores[sample]
            let fused = red.fusesDropped
            var outputs = kept.map { tokens[$0] }
            var keptFused: [KeptFusedToken] = []
            for (rank, origin) in outputs.enumerated() {
                if case .fused(let b) = origin { keptFused.append(KeptFusedToken(block: b, rank: rank + 1)) }
            }
            if fused { outputs.append(.fused(block: block)) }
            var droppedPatches: [Int] = [], weights: [Float] = [], droppedFused: [Int] = []
            var total: Float = 0
            for j in dropped {
                if fused { total += scores[j] }
                switch tokens[j] {
                case .patch(let p):
                    droppedPatches.append(p)
                    if fused { weights.append(scores[j]) }
                    removed[p] = true
                case .fused(let b):
                    droppedFused.append(b)
                }
            }
            stages.append(Stage(block: block, tokensIn: red.tokensIn, tokensOut: red.tokensOut, prefix: red.prefix, keptCount: kept.count,
                                fused: fused, outputs: outputs, droppedPatches: droppedPatches,
                                droppedPatchWeights: weights, droppedFusedTokens: droppedFused,
                                keptFusedTokens: keptFused, fusedWeight: total,
                                remainingPatches: (0..<patchCount).filter { !removed[$0] }))
            tokens = outputs
        }
        self.stages = stages
    }

    /// The stage (0-based among ``stages``) at which `patch` was dropped, or nil when it was never dropped.
    public func stageDropping(patch: Int) -> Int? {
        stages.firstIndex { $0.droppedPatches.contains(patch) }
    }
}
