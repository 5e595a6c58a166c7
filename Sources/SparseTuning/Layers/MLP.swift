// The transformer MLP as timm's `Mlp`: fc1 C→hidden, exact GELU, fc2 hidden→C.

/// timm `Mlp`: `fc1` Linear C→hidden, GELU (erf), `fc2` Linear hidden→C.
public final class MLP: @unchecked Sendable {
    public let fc1: Linear
    public let fc2: Linear

    public init(dim: Int, hidden: Int) {
        fc1 = Linear(inFeatures: dim, outFeatures: hidden)
        fc2 = Linear(inFeatures: hidden, outFeatures: dim)
    }

    /// `x (rows, C) += fc2(gelu(fc1(h)))`, using `hidden` (rows, hidden) as scratch (it ends holding gelu(fc1(h))).
    func forward(_ h: UnsafePointer<Float>, rows: Int, hidden: UnsafeMutablePointer<Float>,
                 residual x: UnsafeMutablePointer<Float>) {
        fc1.forward(h, rows: rows, into: hidden)
        GELU.forward(hidden, hidden, count: rows * fc1.outFeatures)
        fc2.forward(hidden, rows: rows, into: x, accumulate: true)
    }
}
