// LayerNorm layer (PyTorch nn.LayerNorm over the last dim): parameters `weight`, `bias`; eps 1e-6 as timm's ViT.

/// LayerNorm over the channel dimension with affine `weight` and `bias` (C).
public final class LayerNorm: Sendable {
    public let dim: Int
    public let eps: Float
    /// (C), initialised to ones.
    public let weight: Tensor
    /// (C), initialised to zeros.
    public let bias: Tensor

    public init(dim: Int, eps: Float = 1e-6) {
        self.dim = dim
        self.eps = eps
        weight = Tensor(shape: [dim], values: [Float](repeating: 1, count: dim))
        bias = Tensor(zeros: [dim])
    }

    /// `y (rows, C) = LN(x (rows, C))`; saves `mean`/`rstd` (rows) when given, for the backward pass.
    func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                 mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil) {
        LayerNormKernel.forward(x, y, weight: weight.data, bias: bias.data, rows: rows, c: dim, eps: eps,
                                mean: mean, rstd: rstd)
    }
}
