// FLOPs of an adapted model (fvcore's rules, docs/METHOD.md §9): the token schedule that token reduction produces, plus
// the adapters', LoRA's and prompts' multiply-accumulates, counted at each block's actual token count.

extension FLOPCounter {
    /// Tokens after each block for one image of `config.imageSize` (or of `tokens` input tokens, prefix tokens
    /// included) under `tuning`'s reduction (and prompts).
    public static func tokenSchedule(_ config: ViTConfig, _ tuning: TuningConfig, tokens: Int? = nil) -> [Int] {
        var n = (tokens ?? config.tokens) + (tuning.method == .vptDeep ? tuning.prompts : 0)
        let ts = tuning.reducesTokens ? Set(tuning.reductionBlocks(depth: config.depth)) : []
        return (0..<config.depth).map { l in
            if ts.contains(l) {
                switch tuning.reduction {
                case .evit:
                    if let k = EViTSelection.keptCount(keepRate: tuning.keepRate, tokens: n, prefix: config.prefixTokens) {
                        n = config.prefixTokens + k + (tuning.fuse ? 1 : 0)
                    }
                case .tome:
                    n -= ToMeMerge.mergeCount(requested: tuning.tomeR, tokens: n, prefix: config.prefixTokens)
                }
            }
            return n
        }
    }

    /// The count for one image through the backbone adapted by `tuning`.
    public static func count(_ config: ViTConfig, tuning: TuningConfig) -> FLOPReport {
        let c = config.dim
        let prompts = tuning.method == .vptDeep ? tuning.prompts : 0
        let schedule = tokenSchedule(config, tuning)
        let withAF = tuning.method == .adaptformer || (tuning.method == .evit && tuning.evitWithAdaptformer)
        let extra: (Int, Int) -> FLOPBreakdown = { l, tokens in
            var f = FLOPBreakdown()
            switch tuning.adapter {
            case .dense: f.linear += tokens * (c * tuning.rank * (1 + (l >= 1 ? 1 : 0) + (l >= 3 ? 1 : 0)) + tuning.rank * c)
            case .official:
                let h = tuning.officialDims[0], b = tuning.officialDims[1]
                f.linear += tokens * (c * h + h * b + b * h + (h + b) * h + h * c)
            case .none: break
            }
            if withAF { f.linear += tokens * 2 * c * tuning.adaptformerDim }
            if tuning.method == .adapter { f.linear += tokens * 2 * c * tuning.houlsbyDim }
            if tuning.method == .lora {
                let nIn = l == 0 ? config.tokens + prompts : schedule[l - 1]
                f.linear += nIn * (c * tuning.loraRank + tuning.loraRank * 3 * c)
            }
            return f
        }
        return count(config, tokensAfter: schedule, extraTokens: prompts, extraPerBlock: extra)
    }
}
