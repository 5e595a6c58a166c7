// The transformer MLP as timm's `Mlp`: fc1 C→hidden, the activation (exact GELU, or QuickGELU for CLIP), fc2
// hidden→C.

/// timm `Mlp`: `fc1` Linear C→hidden, `activation`, `fc2` Linear hidden→C.
public final class MLP: Sendable {
    public let fc1: Linear
    public let fc2: Linear
    public let activation: Activation

    public init(dim: Int, hidden: Int, activation: Activation = .gelu) {
        fc1 = Linear(inFeatures: dim, outFeatures: hidden)
        fc2 = Linear(inFeatures: hidden, outFeatures: dim)
        self.activation = activation
    }
}
