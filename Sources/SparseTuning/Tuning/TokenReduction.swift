// Token reductions as per-sample linear maps on the token axis: EViT selection with fusion (docs/METHOD.md §2) and ToMe
// merging (docs/METHOD.md §10). The P prefix tokens (class, distillation, registers) pass through unchanged and stay
// first (docs/BACKBONES.md, "Prefix tokens"). The same map moves the residual stream and, for the Dense Adapters' S_l, earlier
// adapter outputs; its transpose carries gradients back, and EViT's fusion weights pass gradients to the class
// attention.

/// One block's token reduction, applied to (B, nIn, C) rows to give (B, nOut, C).
public final class TokenReduction: Sendable {
    public let batch: Int
    public let tokensIn: Int
    public let tokensOut: Int
    /// Prefix tokens P: the first P rows pass through unchanged.
    public let prefix: Int
    /// Per sample, per output row: the input rows and weights it sums.
    let rows: [[[(index: Int, weight: Float)]]]
    /// EViT: kept token indices (B, k) in descending score order (0-based among the tokens P…N−1).
    public let kept: [[Int]]
    /// EViT with fusion: the dropped indices (B, N−P−k) whose score-weighted sum is the last row.
    let dropped: [[Int]]
    /// EViT: the class-attention scores s (B, N−P) the fusion weights come from (nil for ToMe).
    let scores: Tensor?
    /// ToMe: token sizes after this reduction (B, nOut).
    public let sizes: Tensor?

    init(batch: Int, tokensIn: Int, tokensOut: Int, prefix: Int, rows: [[[(index: Int, weight: Float)]]], kept: [[Int]] = [],
         dropped: [[Int]] = [], scores: Tensor? = nil, sizes: Tensor? = nil) {
        self.batch = batch
        self.tokensIn = tokensIn
        self.tokensOut = tokensOut
        self.prefix = prefix
        self.rows = rows
        self.kept = kept
        self.dropped = dropped
        self.scores = scores
        self.sizes = sizes
    }

    /// `y (B, nOut, C) = M x (B, nIn, C)`.
    func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, channels c: Int) {
        let nIn = tokensIn, nOut = tokensOut
        parallelFor(batch) { b0, b1 in
            for b in b0..<b1 {
                for (r, sources) in self.rows[b].enumerated() {
                    let dst = y + (b * nOut + r) * c
                    dst.update(repeating: 0, count: c)
                    for (i, w) in sources {
                        let src = x + (b * nIn + i) * c
                        if w == 1 { for j in 0..<c { dst[j] += src[j] } } else { for j in 0..<c { dst[j] += w * src[j] } }
                    }
                }
            }
        }
    }

    /// `dx (B, nIn, C) += Mᵀ dy`. For EViT fusion, also `dScores (B, N−P) += ∂/∂s` using the map's input `x`.
    func applyTranspose(_ dy: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>, channels c: Int,
                        input x: UnsafePointer<Float>? = nil, dScores: UnsafeMutablePointer<Float>? = nil) {
        let nIn = tokensIn, nOut = tokensOut
        parallelFor(batch) { b0, b1 in
            for b in b0..<b1 {
                for (r, sources) in self.rows[b].enumerated() {
                    let g = dy + (b * nOut + r) * c
                    for (i, w) in sources {
                        let d = dx + (b * nIn + i) * c
                        for j in 0..<c { d[j] += w * g[j] }
                    }
                }
                // The fused row's weights are the scores of the dropped tokens: ds_j = <dy_fused, x[P+j]>.
                if let x, let dScores, !self.dropped.isEmpty {
                    let g = dy + (b * nOut + nOut - 1) * c, p = self.prefix
                    for j in self.dropped[b] {
                        let src = x + (b * nIn + p + j) * c
                        var dot: Float = 0
                        for t in 0..<c { dot += g[t] * src[t] }
                        dScores[b * (nIn - p) + j] += dot
                    }
                }
            }
        }
    }

    /// Whether the map's weights depend on the model (EViT fusion) so that `applyTranspose` needs `input`.
    var hasWeightGradient: Bool { !dropped.isEmpty }
}

enum EViTSelection {
    /// Tokens kept among the N−P tokens after the P prefix tokens: k = ⌈κ·(N−P)⌉ in double precision, or nil when
    /// the block would keep every token (k = N−P) or none.
    static func keptCount(keepRate: Double, tokens n: Int, prefix: Int) -> Int? {
        let others = n - prefix
        let k = Int((keepRate * Double(others)).rounded(.up))
        return k < others && k >= 1 ? k : nil
    }

    /// The EViT reduction for attention probabilities `probs` (B, H, N, N) with P prefix tokens: scores s = mean
    /// over heads of the class token's attention to tokens P…N−1 (B, N−P) — or, for a model without class token
    /// (P = 0, VideoMAE), the attention each token receives averaged over all queries and heads (docs/VIDEO.md,
    /// "Token importance without a class token"); the prefix tokens always kept first;
    /// k = ⌈κ·(N−P)⌉ highest kept (descending score, ties to the lower index); with `fuse` the rest summed with
    /// weights s into one last token. Nil when k = N−P.
    static func select(probs: UnsafePointer<Float>, batch b: Int, heads h: Int, tokens n: Int, prefix: Int,
                       keepRate: Double, fuse: Bool) -> TokenReduction? {
        let others = n - prefix
        guard let k = keptCount(keepRate: keepRate, tokens: n, prefix: prefix) else { return nil }
        let scores = Tensor(zeros: [b, others])  // (B, N−P)
        for bi in 0..<b {
            let s = scores.data + bi * others
            let queries = prefix > 0 ? 1 : n  // the class token's row, or every query's
            for hi in 0..<h {
                for qi in 0..<queries {
                    let row = probs + ((bi * h + hi) * n + qi) * n + prefix  // probs[b, h, qi, P...]
                    for j in 0..<others { s[j] += row[j] }
                }
            }
            for j in 0..<others { s[j] /= Float(h * queries) }
        }
        var kept: [[Int]] = [], dropped: [[Int]] = [], rows: [[[(index: Int, weight: Float)]]] = []
        for bi in 0..<b {
            let s = scores.data + bi * others
            let order = (0..<others).sorted { s[$0] > s[$1] || (s[$0] == s[$1] && $0 < $1) }
            let keep = Array(order[..<k]), drop = Array(order[k...])
            var r: [[(index: Int, weight: Float)]] = (0..<prefix).map { [($0, 1)] }
            r += keep.map { [(prefix + $0, 1)] }
            if fuse { r.append(drop.map { (prefix + $0, s[$0]) }) }
            kept.append(keep)
            dropped.append(fuse ? drop : [])
            rows.append(r)
        }
        return TokenReduction(batch: b, tokensIn: n, tokensOut: prefix + k + (fuse ? 1 : 0), prefix: prefix, rows: rows,
                              kept: kept, dropped: fuse ? dropped : [], scores: scores)
    }
}

enum ToMeMerge {
    /// Merges actually made in a block of `n` tokens with P prefix tokens: at most the number of mergeable A tokens
    /// (even positions ≥ P), and none without a B partner (odd positions ≥ P). For P = 1: ⌊(N−1)/2⌋.
    static func mergeCount(requested: Int, tokens n: Int, prefix: Int) -> Int {
        let mergeableA = (n + 1) / 2 - (prefix + 1) / 2, partners = n / 2 - prefix / 2
        return partners > 0 ? max(0, min(requested, mergeableA)) : 0
    }

    /// ToMe bipartite soft matching on the attention keys `qkv` (B, N, 3C; keys at offset C) averaged over heads:
    /// A = even positions, B = odd; prefix tokens (positions < P) neither merge (in A) nor receive a merge (in B).
    /// The `r` A tokens most similar (cosine) to their best B partner merge into it by size-weighted average.
    /// Output: the prefix tokens, then unmerged A in original order, then B (for P = 1 exactly ToMe's order).
    static func merge(qkv: UnsafePointer<Float>, batch b: Int, tokens n: Int, prefix: Int, dim c: Int, heads h: Int,
                      sizes: UnsafePointer<Float>?, r requested: Int) -> TokenReduction? {
        let r = mergeCount(requested: requested, tokens: n, prefix: prefix)
        guard r > 0 else { return nil }
        let d = c / h, na = (n + 1) / 2, nb = n / 2
        var rows: [[[(index: Int, weight: Float)]]] = []
        let newSizes = Tensor(zeros: [b, n - r])  // (B, N − r)
        for bi in 0..<b {
            // metric (N, D): keys averaged over heads, L2-normalised.
            var metric = [Float](repeating: 0, count: n * d)
            for t in 0..<n {
                let key = qkv + (bi * n + t) * 3 * c + c
                for hi in 0..<h { for j in 0..<d { metric[t * d + j] += key[hi * d + j] } }
                var norm: Float = 0
                for j in 0..<d { metric[t * d + j] /= Float(h); norm += metric[t * d + j] * metric[t * d + j] }
                let inv = 1 / max(norm.squareRoot(), 1e-12)
                for j in 0..<d { metric[t * d + j] *= inv }
            }
            var best = [Float](repeating: -.infinity, count: na), partner = [Int](repeating: 0, count: na)
            for ai in 0..<na where 2 * ai >= prefix {
                for bj in 0..<nb where 2 * bj + 1 >= prefix {
                    var dot: Float = 0
                    for j in 0..<d { dot += metric[(2 * ai) * d + j] * metric[(2 * bj + 1) * d + j] }
                    if dot > best[ai] { best[ai] = dot; partner[ai] = bj }
                }
            }
            let candidates = (0..<na).filter { 2 * $0 >= prefix }
            let order = candidates.sorted { best[$0] > best[$1] || (best[$0] == best[$1] && $0 < $1) }
            let merged = Array(order[..<r]), unmerged = order[r...].sorted()
            func size(_ t: Int) -> Float { sizes.map { $0[bi * n + t] } ?? 1 }
            var out: [[(index: Int, weight: Float)]] = (0..<prefix).map { [($0, 1)] }
            out += unmerged.map { [(2 * $0, 1)] }
            var groups = (0..<nb).filter { 2 * $0 + 1 >= prefix }.map { [2 * $0 + 1] }
            let firstB = prefix / 2  // B index of the first group (B tokens below P are prefix tokens)
            for ai in merged { groups[partner[ai] - firstB].append(2 * ai) }
            for g in groups {
                let total = g.reduce(Float(0)) { $0 + size($1) }
                out.append(g.map { ($0, size($0) / total) })
            }
            for (row, sources) in out.enumerated() {
                newSizes.data[bi * (n - r) + row] = sources.reduce(Float(0)) { $0 + size($1.index) }
            }
            rows.append(out)
        }
        return TokenReduction(batch: b, tokensIn: n, tokensOut: n - r, prefix: prefix, rows: rows, sizes: newSizes)
    }
}
