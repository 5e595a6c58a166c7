// One transformer block's weights as timm's `Block`: x += attn(norm1(x)); x += mlp(norm2(x)). The pass itself is
// in `TunedViT+Forward.swift`, where token reduction and adapters run between and beside the two halves.

/// timm `Block` (pre-norm): `norm1`, `attn`, `norm2`, `mlp`.
public final class Block: Sendable {
    public let norm1: LayerNorm
    public let attn: Attention
    public let norm2: LayerNorm
    public let mlp: MLP

    public init(dim: Int, heads: Int, mlpHidden: Int, eps: Float = 1e-6, activation: Activation = .gelu) {
        norm1 = LayerNorm(dim: dim, eps: eps)
        attn = Attention(dim: dim, heads: heads)
        norm2 = LayerNorm(dim: dim, eps: eps)
        mlp = MLP(dim: dim, hidden: mlpHidden, activation: activation)
    }
}
