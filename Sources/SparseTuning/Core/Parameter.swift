// A trainable tensor with its gradient accumulator and optimiser settings; the unit optimisers and checkpoints use.

/// A named trainable tensor: `value` and the gradient `grad` accumulated by backward passes (same shape).
public final class Parameter: Sendable {
    /// The checkpoint name (timm / docs/METHOD.md §4 naming).
    public let name: String
    /// The tensor the model computes with (shared, not copied).
    public let value: Tensor
    /// d(loss)/d(value), accumulated with `+=` by backward passes; zeroed by the optimiser.
    public let grad: Tensor
    /// Whether AdamW applies weight decay (off for biases, norms, tokens, position embeddings).
    public let weightDecay: Bool

    public init(name: String, value: Tensor, weightDecay: Bool? = nil) {
        self.name = name
        self.value = value
        self.grad = Tensor(zeros: value.shape)
        self.weightDecay = weightDecay ?? Parameter.defaultWeightDecay(name: name, shape: value.shape)
    }

    /// The common rule (timm / NOAH): no decay on 1-D tensors (biases, norm scales), tokens and position embeddings.
    public static func defaultWeightDecay(name: String, shape: [Int]) -> Bool {
        if shape.count <= 1 { return false }
        let last = name.split(separator: ".").last.map(String.init) ?? name
        return !["cls_token", "pos_embed", "dist_token", "prompts"].contains(last) && !name.hasSuffix(".bias")
    }

    /// Sets the gradient to zero.
    public func zeroGrad() { grad.data.update(repeating: 0, count: grad.count) }
}
