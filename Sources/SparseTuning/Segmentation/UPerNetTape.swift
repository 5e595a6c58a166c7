// UPerNetTape: what `UPerNetHead.forward` keeps for `UPerNetHead.backward` (heap tensors; one tape per forward).

/// The activations of one forward pass of the neck and head. Shapes for inputs (B, C, h, w), head width ch and
/// levels L0 = 4h × 4w, L1 = 2h × 2w, L2 = h × w, L3 = h/2 × w/2.
public struct UPerNetTape: Sendable {
    let neck: Feature2Pyramid.Tape
    /// (h/2, w/2) of level 3 and the sizes of levels 0–2.
    let sizes: [(h: Int, w: Int)]
    let psp: [ConvModule.Tape]  // inputs (B, C, s, s), outputs (B, ch, s, s) for s in 1, 2, 3, 6
    let bottleneck: ConvModule.Tape  // input (B, C + 4ch, L3), output (B, ch, L3)
    let laterals: [ConvModule.Tape]  // level i: (B, C, Li) → (B, ch, Li), i = 0, 1, 2
    let fpn: [ConvModule.Tape]  // level i: (B, ch, Li) → (B, ch, Li), i = 0, 1, 2
    let fpnBottleneck: ConvModule.Tape  // (B, 4ch, L0) → (B, ch, L0)
    let features: Tensor  // (B, ch, L0) conv_seg's input
    /// The input channel count C (for splitting the PSP concatenation's gradient).
    let inChannels: Int
}
