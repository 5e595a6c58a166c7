// The transformer MLP as timm's `Mlp`: fc1 C→hidden, exact GELU, fc2 hidden→C.

/// timm `Mlp`: `fc1` Linear C→hidden, GELU (erf), `fc2` Linear hidden→C.
public final class MLP: Sendable {
    public let fc1: Linear
    public let fc2: Linear

    public init(dim: Int, hidden: Int) {
        fc1 = Linear(inFeatures: dim, outFeatures: hidden)
        fc2 = Linear(inFeatures: hidden, outFeatures: dim)
    }
}
