// Multi-head self-attention as timm's `Attention`: fused qkv Linear, per-head softmax(q·kᵀ·d^-½)·v, output `proj`.

/// timm `Attention`: `qkv` Linear C→3C with bias, `heads` heads of C/heads, `proj` Linear C→C.
public final class Attention: @unchecked Sendable {
    public let dim: Int
    public let heads: Int
    public var headDim: Int { dim / heads }
    public let qkv: Linear
    public let proj: Linear

    public init(dim: Int, heads: Int) {
        self.dim = dim
        self.heads = heads
        qkv = Linear(inFeatures: dim, outFeatures: 3 * dim)
        proj = Linear(inFeatures: dim, outFeatures: dim)
    }

    /// From the normalised tokens `h` (B, N, C): fills `qkvOut` (B, N, 3C), the attention probabilities `probs`
    /// (B, heads, N, N) and `context` (B, N, C), then adds `proj(context)` into the residual stream `x` (B, N, C).
    func forward(_ h: UnsafePointer<Float>, batch b: Int, tokens n: Int,
                 qkvOut: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                 context: UnsafeMutablePointer<Float>, residual x: UnsafeMutablePointer<Float>) {
        let c = dim, d = headDim
        qkv.forward(h, rows: b * n, into: qkvOut)
        // scores (B, H, N, N) = scale · q (B, H, N, D) · kᵀ (B, H, D, N); q, k are strided views into qkvOut.
        let scores = MatmulSpec(aDims: [b, heads, n, d], aStrides: [n * 3 * c, d, 3 * c, 1],
                                bDims: [b, heads, d, n], bStrides: [n * 3 * c, d, 1, 3 * c],
                                cDims: [b, heads, n, n], cStrides: [heads * n * n, n * n, n, 1],
                                scale: 1 / Float(d).squareRoot())
        MatmulCache.primitive(scores).run(a: qkvOut, b: qkvOut + c, c: probs)
        Softmax.forward(probs, rows: b * heads * n, n: n)
        // context (B, N, H, D) = probs (B, H, N, N) · v (B, H, N, D), written head-interleaved as (B, N, C).
        let mix = MatmulSpec(aDims: [b, heads, n, n], aStrides: [heads * n * n, n * n, n, 1],
                             bDims: [b, heads, n, d], bStrides: [n * 3 * c, d, 3 * c, 1],
                             cDims: [b, heads, n, d], cStrides: [n * c, d, c, 1])
        MatmulCache.primitive(mix).run(a: probs, b: qkvOut + 2 * c, c: context)
        proj.forward(context, rows: b * n, into: x, accumulate: true)
    }
}
