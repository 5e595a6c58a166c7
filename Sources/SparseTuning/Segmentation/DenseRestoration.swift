// Dense restoration after token sparsification (docs/SEGMENTATION.md, "Dense restoration"): a segmentation map needs a
// feature at every patch, but EViT removed some. Kept tokens go back to their grid positions; a pruned position is
// filled by a rule — `copy`, the feature its token had when it was pruned (the pruning block's reduction input), or
// `nearest`, the feature of the kept token nearest to it in feature space at the pruning block (the Expediting paper's
// rule), followed to wherever that token ends. The prefix tokens (class, …) and EViT's fused token have no grid
// position and are not restored. The map is a gather (every position reads one row), so its backward is a scatter-add.

/// How a pruned patch position gets its feature.
public enum RestoreRule: String, Sendable, Codable, CaseIterable {
    /// The feature the token had when it was pruned (the pruning block's input to the reduction).
    case copy
    /// The restored feature of the kept token nearest to it (squared L2 distance of the pruning block's reduction
    /// inputs, as one matrix product; the first in kept order on ties).
    case nearest
}

/// Where one restored position reads its feature.
enum RestoredSource: Equatable {
    /// Row `row` of the level's block output (B, N_L, C).
    case output(row: Int)
    /// Row `row` of block `block`'s reduction input (B, N_l, C).
    case reductionInput(block: Int, row: Int)
}

/// For one feature level (the output of block `level`): per sample, per grid position, its source row.
struct RestorationMap {
    let level: Int
    /// (B, G) sources.
    let sources: [[RestoredSource]]

    /// The map of level `level` from the reductions of blocks ≤ `level` (EViT reductions only), their inputs
    /// (B, N_l, C) for the `nearest` rule, `prefix` tokens and `patches` grid positions.
    static func build(level: Int, reductions: [Int: TokenReduction], inputs: [Int: Tensor], prefix: Int, patches g: Int,
                      batch b: Int, channels c: Int, rule: RestoreRule) -> RestorationMap {
        let blocks = reductions.keys.filter { $0 <= level }.sorted()
        var all: [[RestoredSource]] = []
        for bi in 0..<b {
            var tokenPatch: [Int?] = (0..<g).map { $0 }  // patch behind each token after the prefix (nil: fused)
            enum State { case alive, copied(block: Int, row: Int), alias(Int) }
            var state = [State](repeating: .alive, count: g)
            for l in blocks {
                let red = reductions[l]!
                let kept = red.kept[bi]
                let keptSet = Set(kept)
                let pruned = (0..<tokenPatch.count).filter { !keptSet.contains($0) && tokenPatch[$0] != nil }  // a fused token has no position
                switch rule {
                case .copy:
                    for j in pruned { state[tokenPatch[j]!] = .copied(block: l, row: prefix + j) }
                case .nearest:
                    let candidates = kept.filter { tokenPatch[$0] != nil }
                    let nearest = nearestKept(pruned: pruned, candidates: candidates, x: inputs[l]!.data + bi * red.tokensIn * c,
                                              prefix: prefix, channels: c)
                    for (j, k) in zip(pruned, nearest) {
                        state[tokenPatch[j]!] = k.map { .alias(tokenPatch[$0]!) } ?? .copied(block: l, row: prefix + j)
                    }
                }
                tokenPatch = kept.map { tokenPatch[$0] } + (red.tokensOut > prefix + kept.count ? [nil] : [])
            }
            var rowOf = [Int: Int]()  // alive patch → row of the level's output
            for (i, p) in tokenPatch.enumerated() { if let p { rowOf[p] = prefix + i } }
            func resolve(_ p: Int) -> RestoredSource {
                switch state[p] {
                case .alive: return .output(row: rowOf[p]!)
                case .copied(let l, let r): return .reductionInput(block: l, row: r)
                case .alias(let q): return resolve(q)  // q was kept when p was pruned: no cycle
                }
            }
            all.append((0..<g).map { resolve($0) })
        }
        return RestorationMap(level: level, sources: all)
    }

    /// For each pruned token, the candidate (kept token) nearest to it by squared L2 distance of their rows of `x`
    /// (N, C) — |a|² + |b|² − 2a·b with the dot products as one matrix product — the first in candidate order on
    /// ties; nil without candidates.
    static func nearestKept(pruned: [Int], candidates: [Int], x: UnsafePointer<Float>, prefix: Int, channels c: Int) -> [Int?] {
        guard !candidates.isEmpty else { return pruned.map { _ in nil } }
        guard !pruned.isEmpty else { return [] }
        let a = Tensor(uninitialized: [pruned.count, c]), b = Tensor(uninitialized: [candidates.count, c])  // (d, C), (k, C)
        for (i, j) in pruned.enumerated() { (a.data + i * c).update(from: x + (prefix + j) * c, count: c) }
        for (i, k) in candidates.enumerated() { (b.data + i * c).update(from: x + (prefix + k) * c, count: c) }
        let dots = Tensor(uninitialized: [pruned.count, candidates.count])  // (d, k) a·bᵀ
        Matmul.abT(a.data, b.data, dots.data, m: pruned.count, n: candidates.count, k: c)
        func squaredNorms(_ t: Tensor, _ rows: Int) -> [Float] {
            (0..<rows).map { r in var s: Float = 0; for j in 0..<c { s += t.data[r * c + j] * t.data[r * c + j] }; return s }
        }
        let nb = squaredNorms(b, candidates.count)
        return (0..<pruned.count).map { i in
            var best = 0, bestDistance = Float.infinity
            for k in 0..<candidates.count {
                let d = nb[k] - 2 * dots.data[i * candidates.count + k]  // |a|² is the same for every candidate
                if d < bestDistance { bestDistance = d; best = k }
            }
            return candidates[best]
        }
    }

    /// `dense (B, G, C)` gathered from the level's output (B, N_L, C) and the reduction inputs.
    func gather(output: Tensor, inputs: [Int: Tensor], channels c: Int, into dense: UnsafeMutablePointer<Float>) {
        let g = sources.first?.count ?? 0, nOut = output.shape[1]
        for (bi, row) in sources.enumerated() {
            for (p, s) in row.enumerated() {
                let src: UnsafePointer<Float>
                switch s {
                case .output(let r): src = UnsafePointer(output.data + (bi * nOut + r) * c)
                case .reductionInput(let l, let r): src = UnsafePointer(inputs[l]!.data + (bi * inputs[l]!.shape[1] + r) * c)
                }
                (dense + (bi * g + p) * c).update(from: src, count: c)
            }
        }
    }

    /// The adjoint of ``gather``: `dDense (B, G, C)` added into `dOutput` (B, N_L, C) and `dInputs[l]` (B, N_l, C).
    func scatter(_ dDense: UnsafePointer<Float>, channels c: Int, dOutput: Tensor, dInputs: [Int: Tensor]) {
        let g = sources.first?.count ?? 0, nOut = dOutput.shape[1]
        for (bi, row) in sources.enumerated() {
            for (p, s) in row.enumerated() {
                let dst: UnsafeMutablePointer<Float>
                switch s {
                case .output(let r): dst = dOutput.data + (bi * nOut + r) * c
                case .reductionInput(let l, let r): dst = dInputs[l]!.data + (bi * dInputs[l]!.shape[1] + r) * c
                }
                let d = dDense + (bi * g + p) * c
                for t in 0..<c { dst[t] += d[t] }
            }
        }
    }
}
