// UPerNetHead: the segmentation decoder of BEiT-style ViT segmentation in mmseg — the Feature2Pyramid neck
// (rescales 4, 2, 1, ½) and UPerHead (PSP pooling on the coarsest level, FPN laterals with a top-down path, fusion
// of all levels at the finest one, a 1×1 classifier) — forward and backward on NCHW fp32, with mmseg's parameter
// names. Dropout before the classifier is left out (inference semantics; see docs/SEGMENTATION.md, "Heads").

/// Four same-size ViT feature maps (B, C, h, w) to logits (B, K, 4h, 4w).
public final class UPerNetHead: Sendable {
    public let inChannels: Int, channels: Int, classes: Int
    /// PSP pooling scales (mmseg's default).
    public static let poolScales = [1, 2, 3, 6]

    let neck: Feature2Pyramid
    let psp: [ConvModule]  // decode_head.psp_modules.<i>.1: C → ch, 1×1
    let bottleneck: ConvModule  // decode_head.bottleneck: C + 4ch → ch, 3×3
    let laterals: [ConvModule]  // decode_head.lateral_convs.<i>: C → ch, 1×1, i = 0, 1, 2
    let fpn: [ConvModule]  // decode_head.fpn_convs.<i>: ch → ch, 3×3, i = 0, 1, 2
    let fpnBottleneck: ConvModule  // decode_head.fpn_bottleneck: 4ch → ch, 3×3
    let convSeg: Conv2D  // decode_head.conv_seg: ch → K, 1×1 with bias

    /// Random initialisation as mmseg's: ConvModule convolutions Kaiming-normal (fan_out, ReLU gain), BatchNorm
    /// γ = 1 and β = 0, conv_seg N(0, 0.01²) with zero bias, the neck's transposed convolutions PyTorch's default.
    public init(inChannels: Int, channels: Int = 512, classes: Int, seed: UInt64) {
        self.inChannels = inChannels
        self.channels = channels
        self.classes = classes
        var rng = SeededGenerator(seed: seed)
        neck = Feature2Pyramid(channels: inChannels, rng: &rng)
        func module(_ name: String, _ i: Int, _ o: Int, _ k: Int) -> ConvModule {
            let m = ConvModule(name: "decode_head.\(name)", inChannels: i, outChannels: o, kernel: k, rng: &rng)
            let std = (2 / Float(o * k * k)).squareRoot()
            for j in 0..<m.conv.weight.value.count { m.conv.weight.value[j] = rng.normal() * std }
            return m
        }
        let c = inChannels, ch = channels
        let seg = Conv2D(name: "decode_head.conv_seg", inChannels: ch, outChannels: classes, kernel: 1, bias: true, rng: &rng)
        for j in 0..<seg.weight.value.count { seg.weight.value[j] = rng.normal() * 0.01 }
        seg.bias!.value.data.update(repeating: 0, count: classes)
        convSeg = seg
        psp = Self.poolScales.indices.map { module("psp_modules.\($0).1", c, ch, 1) }
        bottleneck = module("bottleneck", c + Self.poolScales.count * ch, ch, 3)
        laterals = (0..<3).map { module("lateral_convs.\($0)", c, ch, 1) }
        fpn = (0..<3).map { module("fpn_convs.\($0)", ch, ch, 3) }
        fpnBottleneck = module("fpn_bottleneck", 4 * ch, ch, 3)
    }

    /// Every trainable tensor, in mmseg's order (neck, then decode_head: conv_seg, psp_modules, bottleneck,
    /// lateral_convs, fpn_convs, fpn_bottleneck).
    public func parameters() -> [Parameter] {
        var ps = neck.parameters + [convSeg.weight, convSeg.bias!]
        for m in psp + [bottleneck] + laterals + fpn + [fpnBottleneck] { ps += m.parameters }
        return ps
    }

    /// The BatchNorm running statistics (`….running_mean`, `….running_var`): saved with the model, not trained.
    public func buffers() -> [(name: String, tensor: Tensor)] {
        var bs = neck.buffers
        for m in psp + [bottleneck] + laterals + fpn + [fpnBottleneck] { bs += m.buffers }
        return bs
    }

    /// Logits (B, K, 4h, 4w) of four maps (B, C, h, w) (h and w even), and the tape for `backward`. `training`
    /// selects batch statistics in every BatchNorm (and updates the running ones) or the running statistics.
    public func forward(_ levels: [Tensor], training: Bool) throws -> (logits: Tensor, tape: UPerNetTape) {
        guard levels.count == 4 else { throw SparseTuningError("UPerNetHead: expected 4 feature maps, got \(levels.count)") }
        let s = levels[0].shape
        guard s.count == 4, s[1] == inChannels, s[2] >= 2, s[3] >= 2, s[2] % 2 == 0, s[3] % 2 == 0,
              levels.allSatisfy({ $0.shape == s }) else {
            throw SparseTuningError("UPerNetHead: feature maps must all be (B, \(inChannels), h, w) with h, w even, got \(levels.map(\.shape))")
        }
        let (p, neckTape) = neck.forward(levels, training: training)  // (B, C, L_i) for i = 0…3
        let sizes = p.map { (h: $0.shape[2], w: $0.shape[3]) }

        // PSP module on level 3, then the bottleneck: laterals[3].
        let top = p[3]  // (B, C, L3)
        var pspTapes: [ConvModule.Tape] = []
        var pspParts = [top]  // (B, C, L3), then (B, ch, L3) per scale
        for (i, scale) in Self.poolScales.enumerated() {
            let pooled = AdaptiveAvgPool2D.forward(top, out: scale)  // (B, C, s, s)
            let (m, t) = psp[i].forward(pooled, training: training)  // (B, ch, s, s)
            pspTapes.append(t)
            pspParts.append(bilinearResize(m, height: sizes[3].h, width: sizes[3].w))  // (B, ch, L3)
        }
        let (lat3, bottleneckTape) = bottleneck.forward(ChannelConcat.forward(pspParts), training: training)  // (B, ch, L3)

        // Laterals and the top-down path: sums[i] = laterals[i] + resize(sums[i + 1]).
        var lateralTapes: [ConvModule.Tape] = []
        var sums = [Tensor](repeating: lat3, count: 4)  // (B, ch, L_i)
        var lats: [Tensor] = []
        for i in 0..<3 {
            let (l, t) = laterals[i].forward(p[i], training: training)  // (B, ch, L_i)
            lats.append(l)
            lateralTapes.append(t)
        }
        for i in stride(from: 2, through: 0, by: -1) {
            let sum = bilinearResize(sums[i + 1], height: sizes[i].h, width: sizes[i].w)  // (B, ch, L_i)
            Elementwise.add(lats[i].data, into: sum.data, count: sum.count)  // not in place: the tape keeps lats[i]
            sums[i] = sum
        }

        // FPN convolutions, every level resized to level 0 and fused.
        var fpnTapes: [ConvModule.Tape] = []
        var outs: [Tensor] = []  // (B, ch, L0) each
        for i in 0..<3 {
            let (f, t) = fpn[i].forward(sums[i], training: training)  // (B, ch, L_i)
            fpnTapes.append(t)
            outs.append(bilinearResize(f, height: sizes[0].h, width: sizes[0].w))
        }
        outs.append(bilinearResize(sums[3], height: sizes[0].h, width: sizes[0].w))
        let (features, fbTape) = fpnBottleneck.forward(ChannelConcat.forward(outs), training: training)  // (B, ch, L0)
        let logits = convSeg.forward(features)  // (B, K, L0)
        let tape = UPerNetTape(neck: neckTape, sizes: sizes, psp: pspTapes, bottleneck: bottleneckTape,
                               laterals: lateralTapes, fpn: fpnTapes, fpnBottleneck: fbTape, features: features,
                               inChannels: inChannels)
        return (logits, tape)
    }

    /// Gradients of the four input maps (B, C, h, w) of d(logits) (B, K, 4h, 4w); every parameter's gradient is
    /// accumulated into its `grad`. BatchNorms backpropagate through the statistics the forward used (batch
    /// statistics after a training forward, constants after an inference one).
    public func backward(_ dLogits: Tensor, tape: UPerNetTape) -> [Tensor] {
        let sizes = tape.sizes, ch = channels
        let dFeatures = convSeg.backward(dLogits, input: tape.features)!  // (B, ch, L0)
        let dFused = fpnBottleneck.backward(dFeatures, tape: tape.fpnBottleneck)!  // (B, 4ch, L0)
        let dOuts = ChannelConcat.split(dFused, channels: [ch, ch, ch, ch])  // (B, ch, L0) each
        var dSums: [Tensor] = []  // (B, ch, L_i)
        for i in 0..<3 {
            let df = bilinearResizeBackward(dOuts[i], inputHeight: sizes[i].h, inputWidth: sizes[i].w)  // (B, ch, L_i)
            dSums.append(fpn[i].backward(df, tape: tape.fpn[i])!)
        }
        dSums.append(bilinearResizeBackward(dOuts[3], inputHeight: sizes[3].h, inputWidth: sizes[3].w))  // (B, ch, L3)
        // Top-down adjoint: sums[i] = laterals[i] + resize(sums[i + 1]).
        for i in 0..<3 {
            let up = bilinearResizeBackward(dSums[i], inputHeight: sizes[i + 1].h, inputWidth: sizes[i + 1].w)  // (B, ch, L_{i+1})
            Elementwise.add(up.data, into: dSums[i + 1].data, count: up.count)
        }
        var dp: [Tensor] = []  // (B, C, L_i)
        for i in 0..<3 { dp.append(laterals[i].backward(dSums[i], tape: tape.laterals[i])!) }
        let dCat = bottleneck.backward(dSums[3], tape: tape.bottleneck)!  // (B, C + 4ch, L3)
        let parts = ChannelConcat.split(dCat, channels: [tape.inChannels] + Self.poolScales.map { _ in ch })
        let dTop = parts[0]  // (B, C, L3)
        for (i, scale) in Self.poolScales.enumerated() {
            let dm = bilinearResizeBackward(parts[i + 1], inputHeight: scale, inputWidth: scale)  // (B, ch, s, s)
            let dPooled = psp[i].backward(dm, tape: tape.psp[i])!  // (B, C, s, s)
            let dIn = AdaptiveAvgPool2D.backward(dPooled, inH: sizes[3].h, inW: sizes[3].w)  // (B, C, L3)
            Elementwise.add(dIn.data, into: dTop.data, count: dIn.count)
        }
        dp.append(dTop)
        return neck.backward(dp, tape: tape.neck)
    }

    /// FLOPs of one image's forward pass at feature-map size h × w (fvcore's convention: one multiply-accumulate
    /// of a convolution, transposed convolution or linear layer is one FLOP; BatchNorm, pooling, resizing,
    /// activations and additions are free).
    public func flops(h: Int, w: Int) -> Int {
        let l = [(4 * h, 4 * w), (2 * h, 2 * w), (h, w), (h / 2, w / 2)]
        var total = neck.macs(h: h, w: w)
        for (i, s) in Self.poolScales.enumerated() { total += psp[i].conv.macs(h: s, w: s) }
        total += bottleneck.conv.macs(h: l[3].0, w: l[3].1)
        for i in 0..<3 {
            total += laterals[i].conv.macs(h: l[i].0, w: l[i].1) + fpn[i].conv.macs(h: l[i].0, w: l[i].1)
        }
        total += fpnBottleneck.conv.macs(h: l[0].0, w: l[0].1) + convSeg.macs(h: l[0].0, w: l[0].1)
        return total
    }
}
