// Read-only public views of an EViT TokenReduction for visualisation and reports: whether the dropped tokens
// were fused, which tokens were dropped, the class-attention scores, and the fusion weights s_j.

extension TokenReduction {
    /// True for an EViT selection (``kept`` is set); false for ToMe merging.
    public var isEViT: Bool { !kept.isEmpty && scores != nil }

    /// EViT: whether the dropped tokens were fused into one extra last output token.
    public var fusesDropped: Bool { isEViT && tokensOut == prefix + (kept.first?.count ?? 0) + 1 }

    /// EViT: per sample, the dropped token indices (0-based among the input tokens P…N−1 after the prefix tokens),
    /// in descending score order — the complement of ``kept``, with or without fusion. Empty for ToMe.
    public var droppedTokens: [[Int]] {
        guard isEViT else { return [] }
        if !dropped.isEmpty { return dropped }
        let others = tokensIn - prefix
        return kept.indices.map { b in
            var isKept = [Bool](repeating: false, count: others)
            for j in kept[b] { isKept[j] = true }
            let rest = (0..<others).filter { !isKept[$0] }
            let s = classAttentionScores[b]
            return rest.sorted { s[$0] > s[$1] || (s[$0] == s[$1] && $0 < $1) }
        }
    }

    /// EViT: the class-attention scores s (B, N−P), the mean over heads of the class token's attention to every
    /// input token after the prefix tokens. Empty for ToMe.
    public var classAttentionScores: [[Float]] {
        guard let scores, scores.shape.count == 2 else { return [] }
        let b = scores.shape[0], n = scores.shape[1]
        return (0..<b).map { Array(UnsafeBufferPointer(start: scores.data + $0 * n, count: n)) }
    }

    /// EViT with fusion: per sample, the weights s_j of the dropped tokens in the fused token, aligned with
    /// ``droppedTokens`` (not renormalised, docs/METHOD.md §2). Empty without fusion and for ToMe.
    public var fusionWeights: [[Float]] {
        guard fusesDropped else { return [] }
        let s = classAttentionScores
        return droppedTokens.enumerated().map { b, tokens in tokens.map { s[b][$0] } }
    }
}
