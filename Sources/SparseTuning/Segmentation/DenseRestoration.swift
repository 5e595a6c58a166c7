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
    /// inputs; ties to the lower index).
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
                for j in 0..<tokenPatch.count where !keptSet.contains(j) {
                    guard let p = tokenPatch[j] else { continue }  // a fused token has no position
                    switch rule {
                    case .copy:
                        state[p] = .copied(block: l, row: prefix + j)
                    case .nearest:
                        let x = inputs[l]!.data + bi * red.tokensIn * c
                        let me = x + (prefix + j) * c
                        var best: (distance: Float, patch: Int)?
                        for k in kept {
                            guard let q = tokenPatch[k] else { continue }
                            let other = x + (prefix + k) * c
                            var d: Float = 0
                            for t in 0..<c { let e = me[t] - other[t]; d += e * e }
                            if best == nil || d < best!.distance { best = (d, q) }
                        }
                        state[p] = best.map { .alias($0.patch) } ?? .copied(block: l, row: prefix + j)
                    }
                }
                tokenPatch = kept.map { tokenPatch[$0] } + (red.tokensOut > prefix + kept.count ? [nil] : [])
            }
            var rowOf = [Int: Int]()  // alive patch → row of the level's output
            for (i, p) in tokenPatch.enumerated() { if let p { rowOf[p] = prefix + i } }
            func resolve(_ p: Int, depth: Int = 0) -> RestoredSource {
                switch state[p] {
                case .alive: return .output(row: rowOf[p]!)
                case .copied(let l, let r): return .reductionInput(block: l, row: r)
                case .alias(let q): return resolve(q, depth: depth + 1)  // q was kept when p was pruned: no cycle
                }
            }
            all.append((0..<g).map { resolve($0) })
        }
        return RestorationMap(level: level, sources: all)
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
