// FLOP counting with fvcore's rules (docs/METHOD.md §9): one multiply-accumulate = one "FLOP", biases free, LayerNorm 5
// per element, softmax/GELU/adds/gathers free. Each block is counted at its own token counts.

/// Multiply-accumulate counts by operator kind, as fvcore reports them.
public struct FLOPBreakdown: Sendable, Equatable {
    public var linear = 0
    public var matmul = 0
    public var conv = 0
    public var layerNorm = 0
    public var total: Int { linear + matmul + conv + layerNorm }

    static func + (a: FLOPBreakdown, b: FLOPBreakdown) -> FLOPBreakdown {
        FLOPBreakdown(linear: a.linear + b.linear, matmul: a.matmul + b.matmul,
                      conv: a.conv + b.conv, layerNorm: a.layerNorm + b.layerNorm)
    }

    static func * (a: FLOPBreakdown, k: Int) -> FLOPBreakdown {
        FLOPBreakdown(linear: a.linear * k, matmul: a.matmul * k, conv: a.conv * k, layerNorm: a.layerNorm * k)
    }
}

/// The count for one image (or clip) through a model. A per-frame video model's embedding and blocks run once per
/// frame: their counts here are per frame, and ``total`` multiplies them by ``sequences``.
public struct FLOPReport: Sendable {
    /// Per block: tokens entering attention, tokens after the block's reduction, and that block's count.
    public struct BlockCount: Sendable {
        public var tokensIn: Int
        public var tokensOut: Int
        public var flops: FLOPBreakdown
    }
    public var embedding: FLOPBreakdown
    public var blocks: [BlockCount]
    /// Final norm (per sequence) and head (per sample).
    public var head: FLOPBreakdown
    /// Sequences per sample: the frames of a per-frame video model, else 1.
    public var sequences = 1
    public var total: FLOPBreakdown {
        var finalNorm = FLOPBreakdown()
        finalNorm.layerNorm = head.layerNorm
        let perSequence = blocks.reduce(embedding + finalNorm) { $0 + $1.flops }
        return perSequence * sequences + FLOPBreakdown(linear: head.linear, matmul: head.matmul, conv: head.conv)
    }
    /// Total in GFLOPs (= GMACs, fvcore's convention).
    public var gflops: Double { Double(total.total) / 1e9 }
}

public enum FLOPCounter {
    /// Counts one image of `config.imageSize` through the dense model, or through one whose block `l` leaves
    /// `tokensAfter[l]` tokens (attention and its projection run at the incoming count, LN2 and the MLP at the new).
    /// `extraPerBlock(l, tokens)` adds per-block work such as adapters, counted at the block's outgoing tokens.
    /// `extraTokens` joins the sequence at block 0 without passing the patch embedding (deep prompts).
    public static func count(_ config: ViTConfig, tokensAfter: [Int]? = nil, extraTokens: Int = 0,
                             extraPerBlock: ((Int, Int) -> FLOPBreakdown)? = nil) -> FLOPReport {
        let c = config.dim, m = config.mlpDim, p = config.patch
        var embedding = FLOPBreakdown()
        let patches = config.patchTokens(frames: config.frames, height: config.imageSize, width: config.imageSize)
        embedding.conv = patches * 3 * (config.tubelet ?? 1) * p * p * c
        if config.preNorm { embedding.layerNorm = 5 * config.tokens * c }  // norm_pre
        var blocks: [FLOPReport.BlockCount] = []
        var n = config.tokens + extraTokens
        for l in 0..<config.depth {
            let out = tokensAfter?[l] ?? n
            var f = FLOPBreakdown()
            f.layerNorm = 5 * n * c + 5 * out * c
            f.linear = n * 3 * c * c + n * c * c + out * 2 * c * m
            f.matmul = 2 * n * n * c
            if let extra = extraPerBlock { f = f + extra(l, out) }
            blocks.append(.init(tokensIn: n, tokensOut: out, flops: f))
            n = out
        }
        var head = FLOPBreakdown()
        head.layerNorm = 5 * c * (config.pool == .token ? n : 1)
        head.linear = config.headWidth * config.classes
        return FLOPReport(embedding: embedding, blocks: blocks, head: head, sequences: config.sequencesPerSample)
    }
}
