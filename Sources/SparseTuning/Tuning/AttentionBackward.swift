// Backward of multi-head attention's core, softmax(q·kᵀ·scale)·v, over the fused qkv layout, plus the gradient of
// EViT's token scores (the fusion weights) added straight into d(probabilities): the class rows, or every row for a
// model without class token.
// Batched strided oneDNN matmuls; no copies of q, k, v.

enum AttentionBackward {
    /// Given d(context) (B, N, C) and `classScores` (B, N−P) = d(loss)/d(s) of the EViT scores s of the tokens after
    /// the P prefix tokens (may be nil),
    /// writes d(qkv) (B, N, 3C). `qkv` (the forward's, fp32 or its bf16 copy: every product then runs in that
    /// precision) and `probs` (B, H, N, N) are the forward's values; `dProbs` (B, H, N, N) is scratch.
    static func run(dContext: Tensor, qkv: MatrixInput, probs: Tensor, classScores: UnsafePointer<Float>?, prefix: Int,
                    batch b: Int, tokens n: Int, dim c: Int, heads h: Int,
                    dProbs: Tensor, dqkv: UnsafeMutablePointer<Float>, arena: Arena) {
        let d = c / h, half = qkv.bf16
        let headsView = (dims: [b, h, n, d], qkvStrides: [n * 3 * c, d, 3 * c, 1], ctxStrides: [n * c, d, c, 1])
        let probsStrides = [h * n * n, n * n, n, 1], probsT = [h * n * n, n * n, 1, n]
        let dctx = MatrixInput(dContext, bf16: half, arena: arena), p = MatrixInput(probs, bf16: half, arena: arena)
        // dP (B,H,N,N) = dctx (B,H,N,D) · vᵀ (B,H,D,N)
        MatmulCache.primitive(MatmulSpec(aDims: headsView.dims, aStrides: headsView.ctxStrides,
                                         bDims: [b, h, d, n], bStrides: [n * 3 * c, d, 1, 3 * c],
                                         cDims: [b, h, n, n], cStrides: probsStrides, bf16: half))
            .run(a: dctx.base, b: qkv.at(2 * c), c: dProbs.data)
        // s = mean over heads of probs[:, :, 0, P:], so dP[b, h, 0, P + j] += ds[b, j] / H; without a class token
        // (P = 0) s is the mean over heads and queries, so every row gets dP[b, h, i, j] += ds[b, j] / (H·N).
        if let classScores {
            let others = n - prefix, queries = prefix > 0 ? 1 : n, norm = Float(h * queries)
            for bi in 0..<b {
                for hi in 0..<h {
                    for qi in 0..<queries {
                        let row = dProbs.data + ((bi * h + hi) * n + qi) * n + prefix
                        for j in 0..<others { row[j] += classScores[bi * others + j] / norm }
                    }
                }
            }
        }
        // dv (B,H,N,D) = Pᵀ · dctx
        MatmulCache.primitive(MatmulSpec(aDims: [b, h, n, n], aStrides: probsT,
                                         bDims: headsView.dims, bStrides: headsView.ctxStrides,
                                         cDims: headsView.dims, cStrides: headsView.qkvStrides, bf16: half))
            .run(a: p.base, b: dctx.base, c: dqkv + 2 * c)
        // dS = softmax backward (in place on dP)
        Softmax.backward(dx: dProbs.data, dy: dProbs.data, y: probs.data, rows: b * h * n, n: n)
        let scale = 1 / Float(d).squareRoot()
        let dS = MatrixInput(dProbs, bf16: half, arena: arena)
        // dq = scale · dS · k ; dk = scale · dSᵀ · q
        MatmulCache.primitive(MatmulSpec(aDims: [b, h, n, n], aStrides: probsStrides,
                                         bDims: headsView.dims, bStrides: headsView.qkvStrides,
                                         cDims: headsView.dims, cStrides: headsView.qkvStrides, scale: scale, bf16: half))
            .run(a: dS.base, b: qkv.at(c), c: dqkv)
        MatmulCache.primitive(MatmulSpec(aDims: [b, h, n, n], aStrides: probsT,
                                         bDims: headsView.dims, bStrides: headsView.qkvStrides,
                                         cDims: headsView.dims, cStrides: headsView.qkvStrides, scale: scale, bf16: half))
            .run(a: dS.base, b: qkv.base, c: dqkv + c)
    }
}
