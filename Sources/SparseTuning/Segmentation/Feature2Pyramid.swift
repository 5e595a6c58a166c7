// Feature2Pyramid: mmseg's neck between a plain ViT and a pyramid head (BEiT's upernet configs, rescales
// [4, 2, 1, 0.5]): four same-size maps (B, C, h, w) become (B, C, 4h, 4w), (B, C, 2h, 2w), (B, C, h, w),
// (B, C, h/2, w/2). Parameter names as mmseg's `Feature2Pyramid` under `neck.`.

/// level 0: transposed Conv2D(C, C, 2, 2) → BatchNorm2D → GELU → transposed Conv2D(C, C, 2, 2) (`neck.upsample_4x.{0,1,3}`);
/// level 1: transposed Conv2D(C, C, 2, 2) (`neck.upsample_2x.0`); level 2: identity; level 3: MaxPool2D(2, 2).
final class Feature2Pyramid: Sendable {
    let up4a: Conv2D, up4bn: BatchNorm2D, up4b: Conv2D  // transposed
    let up2: Conv2D  // transposed
    let pool = MaxPool2D(kernel: 2, stride: 2)

    init(channels c: Int, rng: inout SeededGenerator) {
        up4a = Conv2D(name: "neck.upsample_4x.0", inChannels: c, outChannels: c, kernel: 2, stride: 2, transposed: true, rng: &rng)
        up4bn = BatchNorm2D(name: "neck.upsample_4x.1", channels: c)
        up4b = Conv2D(name: "neck.upsample_4x.3", inChannels: c, outChannels: c, kernel: 2, stride: 2, transposed: true, rng: &rng)
        up2 = Conv2D(name: "neck.upsample_2x.0", inChannels: c, outChannels: c, kernel: 2, stride: 2, transposed: true, rng: &rng)
    }

    var parameters: [Parameter] {
        [up4a.weight, up4a.bias!, up4bn.weight, up4bn.bias, up4b.weight, up4b.bias!, up2.weight, up2.bias!]
    }
    var buffers: [(name: String, tensor: Tensor)] { up4bn.buffers }

    /// What the backward pass needs.
    struct Tape: Sendable {
        let x0: Tensor, x1: Tensor  // (B, C, h, w) levels 0 and 1 as given
        let d1: Tensor  // (B, C, 2h, 2w) first deconvolution of level 0, before BN
        let bn: BatchNorm2D.Saved
        let n1: Tensor  // (B, C, 2h, 2w) after BN, before GELU
        let g1: Tensor  // (B, C, 2h, 2w) after GELU
        let pool: MaxPool2D.Saved
    }

    /// The four pyramid levels of four (B, C, h, w) maps.
    func forward(_ x: [Tensor], training: Bool) -> (levels: [Tensor], tape: Tape) {
        let d1 = up4a.forward(x[0])  // (B, C, 2h, 2w)
        let (n1, bn) = up4bn.forward(d1, training: training)  // (B, C, 2h, 2w)
        let g1 = Tensor(uninitialized: n1.shape)  // (B, C, 2h, 2w)
        Activation.gelu.forward(n1.data, g1.data, count: n1.count)
        let l0 = up4b.forward(g1)  // (B, C, 4h, 4w)
        let l1 = up2.forward(x[1])  // (B, C, 2h, 2w)
        let (l3, pooled) = pool.forward(x[3])  // (B, C, h/2, w/2)
        return ([l0, l1, x[2], l3], Tape(x0: x[0], x1: x[1], d1: d1, bn: bn, n1: n1, g1: g1, pool: pooled))
    }

    /// Gradients of the four input maps (B, C, h, w) from the gradients of the four levels.
    func backward(_ d: [Tensor], tape: Tape) -> [Tensor] {
        let dg1 = up4b.backward(d[0], input: tape.g1)!  // (B, C, 2h, 2w)
        let dn1 = Tensor(uninitialized: dg1.shape)  // (B, C, 2h, 2w)
        Activation.gelu.backward(dx: dn1.data, dy: dg1.data, x: tape.n1.data, count: dn1.count)
        let dd1 = up4bn.backward(dn1, input: tape.d1, saved: tape.bn)  // (B, C, 2h, 2w)
        let dx0 = up4a.backward(dd1, input: tape.x0)!  // (B, C, h, w)
        let dx1 = up2.backward(d[1], input: tape.x1)!  // (B, C, h, w)
        let dx3 = pool.backward(d[3], saved: tape.pool)  // (B, C, h, w)
        return [dx0, dx1, d[2], dx3]
    }

    /// Multiply-accumulates per image for input maps h × w.
    func macs(h: Int, w: Int) -> Int {
        up4a.macs(h: h, w: w) + up4b.macs(h: 2 * h, w: 2 * w) + up2.macs(h: h, w: w)
    }
}
