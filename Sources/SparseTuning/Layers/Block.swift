// One transformer block as timm's `Block`: x += attn(norm1(x)); x += mlp(norm2(x)). Split in two halves so that
// token reduction can run between them.

/// timm `Block` (pre-norm): `norm1`, `attn`, `norm2`, `mlp`.
public final class Block: @unchecked Sendable {
    public let norm1: LayerNorm
    public let attn: Attention
    public let norm2: LayerNorm
    public let mlp: MLP

    public init(dim: Int, heads: Int, mlpHidden: Int, eps: Float = 1e-6) {
        norm1 = LayerNorm(dim: dim, eps: eps)
        attn = Attention(dim: dim, heads: heads)
        norm2 = LayerNorm(dim: dim, eps: eps)
        mlp = MLP(dim: dim, hidden: mlpHidden)
    }

    /// `x (B, N, C) += attn(norm1(x))`; leaves the attention probabilities (B, heads, N, N) in `ws.probs`.
    func forwardAttention(_ x: UnsafeMutablePointer<Float>, batch b: Int, tokens n: Int, ws: Workspace) {
        norm1.forward(x, rows: b * n, into: ws.normed.data)
        attn.forward(ws.normed.data, batch: b, tokens: n, qkvOut: ws.qkv.data, probs: ws.probs.data,
                     context: ws.context.data, residual: x)
    }

    /// `x (B, N, C) += mlp(norm2(x))`.
    func forwardMLP(_ x: UnsafeMutablePointer<Float>, batch b: Int, tokens n: Int, ws: Workspace) {
        norm2.forward(x, rows: b * n, into: ws.normed.data)
        mlp.forward(ws.normed.data, rows: b * n, hidden: ws.hidden.data, residual: x)
    }
}

/// Scratch buffers for an inference forward pass, sized for a batch and the largest token count.
final class Workspace {
    let batch: Int, tokens: Int
    let normed: Tensor   // (B, N, C) LayerNorm output
    let qkv: Tensor      // (B, N, 3C)
    let probs: Tensor    // (B, heads, N, N) attention probabilities
    let context: Tensor  // (B, N, C) attention output before proj
    let hidden: Tensor   // (B, N, mlp)

    init(batch b: Int, tokens n: Int, config: ViTConfig) {
        batch = b
        tokens = n
        let c = config.dim
        normed = Tensor(zeros: [b, n, c])
        qkv = Tensor(zeros: [b, n, 3 * c])
        probs = Tensor(zeros: [b, config.heads, n, n])
        context = Tensor(zeros: [b, n, c])
        hidden = Tensor(zeros: [b, n, config.mlpDim])
    }
}
