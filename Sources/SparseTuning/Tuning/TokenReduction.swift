// Token reductions as per-sample linear maps on the token axis: EViT selection with fusion (docs/METHOD.md §2) and ToMe
// merging (docs/METHOD.md §10). The same map moves the residual stream and, for the Dense Adapters' S_l, earlier
// adapter outputs; its transpose carries gradients back, and EViT's fusion weights pass gradients to the class
// attention.

/// One block's token reduction, applied to (B, nIn, C) rows to give (B, nOut, C).
public final class TokenReduction: Sendable {
    public let batch: Int
    public let tokensIn: Int
    public let tokensOut: Int
    /// Per sample, per output row: the input rows and weights it sums.
    let rows: [[[(index: Int, weight: Float)]]]
    /// EViT: kept non-class token indices (B, k) in descending score order (0-based among the tokens 1…N−1).
    public let kept: [[Int]]
    /// EViT with fusion: the dropped indices (B, N−1−k) whose score-weighted sum is the last row.
    let dropped: [[Int]]
    /// EViT: the class-attention scores s (B, N−1) the fusion weights come from (nil for ToMe).
    let scores: Tensor?
    /// ToMe: token sizes after this reduction (B, nOut).
    public let sizes: Tensor?

    init(batch: Int, tokensIn: Int, tokensOut: Int, rows: [[[(index: Int, weight: Float)]]], kept: [[Int]] = [],
         dropped: [[Int]] = [], scores: Tensor? = nil, sizes: Tensor? = nil) {
        self.batch = batch
        self.tokensIn = tokensIn
        self.tokensOut = tokensOut
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

    /// `dx (B, nIn, C) += Mᵀ dy`. For EViT fusion, also `dScores (B, N−1) += ∂/∂s` using the map's input `x`.
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
                // The fused row's weights are the scores of the dropped tokens: ds_j = <dy_fused, x[1+j]>.
                if let x, let dScores, !self.dropped.isEmpty {
                    let g = dy + (b * nOut + nOut - 1) * c
                    for j in self.dropped[b] {
                        let src = x + (b * nIn + 1 + j) * c
                        var dot: Float = 0
                        for t in 0..<c { dot += g[t] * src[t] }
                        dScores[b * (nIn - 1) + j] += dot
                    }
                }
            }
        }
    }

    /// Whether the map's weights depend on the model (EViT fusion) so that `applyTranspose` needs `input`.
    var hasWeightGradient: Bool { !dropped.isEmpty }
}

enum EViTSelection {
    /// Tokens kept among the N−1 non-class tokens: k = ⌈κ·(N−1)⌉ in double precision, or nil when the block
    /// would keep every token (k = N−1) or none.
    static func keptCount(keepRate: Double, tokens n: Int) -> Int? {
        let others = n - 1
        let k = Int((keepRate * Double(others)).rounded(.up))
        return k < others && k >= 1 ? k : nil
    }

    /// The EViT reduction for attention probabilities `probs` (B, H, N, N): scores s = mean over heads of the class
    /// row (B, N−1); k = ⌈κ·(N−1)⌉ highest kept (descending score, ties to the lower index); with `fuse` the rest
    /// summed with weights s into one last token. Nil when k = N−1.
    static func select(probs: UnsafePointer<Float>, batch b: Int, heads h: Int, tokens n: Int,
                       keepRate: Double, fuse: Bool) -> TokenReduction? {
        let others = n - 1
        guard let k = keptCount(keepRate: keepRate, tokens: n) else { return nil }
        let scores = Tensor(zeros: [b, others])  // (B, N−1)
        for bi in 0..<b {
            let s = scores.data + bi * others
            for hi in 0..<h {
                let row = probs + ((bi * h + hi) * n) * n + 1  // probs[b, h, 0, 1...]
                for j in 0..<others { s[j] += row[j] }
            }
            for j in 0..<others { s[j] /= Float(h) }
        }
        var kept: [[Int]] = [], dropped: [[Int]] = [], rows: [[[(index: Int, weight: Float)]]] = []
        for bi in 0..<b {
            let s = scores.data + bi * others
            let order = (0..<others).sorted { s[$0] > s[$1] || (s[$0] == s[$1] && $0 < $1) }
            let keep = Array(order[..<k]), drop = Array(order[k...])
            var r: [[(index: Int, weight: Float)]] = [[(0, 1)]]
            r += keep.map { [(1 + $0, 1)] }
            if fuse { r.append(drop.map { (1 + $0, s[$0]) }) }
            kept.append(keep)
            dropped.append(fuse ? drop : [])
            rows.append(r)
        }
        return TokenReduction(batch: b, tokensIn: n, tokensOut: k + (fuse ? 2 : 1), rows: rows, kept: kept,
                              dropped: fuse ? dropped : [], scores: scores)
    }
}

enum ToMeMerge {
    /// Merges actually made in a block of `n` tokens: at most ⌊(N−1)/2⌋, the class token never merging.
    static func mergeCount(requested: Int, tokens n: Int) -> Int { min(requested, (n - 1) / 2) }

    /// ToMe bipartite soft matching on the attention keys `qkv` (B, N, 3C; keys at offset C) averaged over heads:
    /// A = even positions (class token included, never merged), B = odd; the `r` A tokens most similar (cosine) to
    /// their best B partner merge into it by size-weighted average. Output: unmerged A in original order, then B.
    static func merge(qkv: UnsafePointer<Float>, batch b: Int, tokens n: Int, dim c: Int, heads h: Int,
                      sizes: UnsafePointer<Float>?, r requested: Int) -> TokenReduction? {
        let r = mergeCount(requested: requested, tokens: n)
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
            for ai in 1..<na {
                for bj in 0..<nb {
                    var dot: Float = 0
                    for j in 0..<d { dot += metric[(2 * ai) * d + j] * metric[(2 * bj + 1) * d + j] }
                    if dot > best[ai] { best[ai] = dot; partner[ai] = bj }
                }
            }
            let order = (0..<na).sorted { best[$0] > best[$1] || (best[$0] == best[$1] && $0 < $1) }
            let merged = Array(order[..<r]), unmerged = order[r...].sorted()
            func size(_ t: Int) -> Float { sizes.map { $0[bi * n + t] } ?? 1 }
            var out: [[(index: Int, weight: Float)]] = unmerged.map { [(2 * $0, 1)] }
            var groups = (0..<nb).map { [2 * $0 + 1] }
            for ai in merged { groups[partner[ai]].append(2 * ai) }
            for g in groups {
                let total = g.reduce(Float(0)) { $0 + size($1) }
                out.append(g.map { ($0, size($0) / total) })
            }
            for (row, sources) in out.enumerated() {
                newSizes.data[bi * (n - r) + row] = sources.reduce(Float(0)) { $0 + size($1.index) }
            }
            rows.append(out)
        }
        return TokenReduction(batch: b, tokensIn: n, tokensOut: n - r, rows: rows, sizes: newSizes)
    }
}
