// The linear segmentation head (Segmenter's linear decoder): a LayerNorm and a per-token classifier on the restored
// final features, giving patch-resolution logits (B, K, h, w) that the model upsamples bilinearly to the image
// (docs/SEGMENTATION.md, "Heads"). Names as mmseg's decode heads: `decode_head.norm.*`, `decode_head.conv_seg.*`.

/// LayerNorm + Linear(C → K) per token.
final class LinearSegmentationHead: Sendable {
    let norm: LayerNorm
    let classifier: Linear
    let classes: Int

    init(dim: Int, classes: Int, seed: UInt64) {
        norm = LayerNorm(dim: dim, eps: 1e-6)
        classifier = Linear(inFeatures: dim, outFeatures: classes)
        self.classes = classes
        var rng = SeededGenerator(seed: seed &+ 0x5E6)
        classifier.weight.fillTruncatedNormal(std: 0.02, using: &rng)
    }

    /// Trainable tensors with their names.
    func parameters() -> [Parameter] {
        [Parameter(name: "decode_head.norm.weight", value: norm.weight), Parameter(name: "decode_head.norm.bias", value: norm.bias),
         Parameter(name: "decode_head.conv_seg.weight", value: classifier.weight),
         Parameter(name: "decode_head.conv_seg.bias", value: classifier.bias!)]
    }

    /// What the backward pass needs.
    struct Tape {
        let features: Tensor  // (B, G, C) restored features
        let normed: Tensor    // (B, G, C) LN output
        let mean: Tensor      // (B·G)
        let rstd: Tensor      // (B·G)
        let grid: (h: Int, w: Int)
    }

    /// Logits (B, K, h, w) from restored features (B, h·w, C).
    func forward(_ features: Tensor, grid: (h: Int, w: Int)) -> (logits: Tensor, tape: Tape) {
        let b = features.shape[0], g = features.shape[1], c = features.shape[2], k = classes
        let normed = Tensor(uninitialized: [b, g, c])  // (B, G, C)
        let mean = Tensor(uninitialized: [b * g]), rstd = Tensor(uninitialized: [b * g])  // (B·G)
        norm.forward(features.data, rows: b * g, into: normed.data, mean: mean.data, rstd: rstd.data)
        let tokens = Tensor(uninitialized: [b, g, k])  // (B, G, K)
        classifier.forward(normed.data, rows: b * g, into: tokens.data)
        let logits = Tensor(uninitialized: [b, k, grid.h, grid.w])  // (B, K, h, w)
        for bi in 0..<b {
            for p in 0..<g { for j in 0..<k { logits.data[(bi * k + j) * g + p] = tokens.data[(bi * g + p) * k + j] } }
        }
        return (logits, Tape(features: features, normed: normed, mean: mean, rstd: rstd, grid: grid))
    }

    /// d(features) (B, G, C) from d(logits) (B, K, h, w); parameter gradients accumulated into `grads`.
    func backward(_ dLogits: Tensor, tape: Tape, grads: [String: Parameter]) -> Tensor {
        let b = tape.features.shape[0], g = tape.features.shape[1], c = tape.features.shape[2], k = classes
        let dTokens = Tensor(uninitialized: [b, g, k])  // (B, G, K)
        for bi in 0..<b {
            for p in 0..<g { for j in 0..<k { dTokens.data[(bi * g + p) * k + j] = dLogits.data[(bi * k + j) * g + p] } }
        }
        if let w = grads["decode_head.conv_seg.weight"] {
            classifier.backwardWeights(dTokens.data, tape.normed.data, rows: b * g, dWeight: w.grad.data,
                                       dBias: grads["decode_head.conv_seg.bias"]?.grad.data)
        }
        let dNormed = Tensor(uninitialized: [b, g, c])  // (B, G, C)
        classifier.backwardInput(dTokens.data, rows: b * g, into: dNormed.data)
        let dFeatures = Tensor(uninitialized: [b, g, c])  // (B, G, C)
        LayerNormKernel.backward(dx: dFeatures.data, dy: dNormed.data, x: tape.features.data, weight: norm.weight.data,
                                 mean: tape.mean.data, rstd: tape.rstd.data, rows: b * g, c: c,
                                 dweight: grads["decode_head.norm.weight"]?.grad.data, dbias: grads["decode_head.norm.bias"]?.grad.data)
        return dFeatures
    }
}
