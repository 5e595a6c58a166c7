// The released code's adapter (docs/METHOD.md §3b): h = ReLU(down1 x); s1 = down2 h; s2 = up1 s1;
// o = down3 [s1; s2] + h; a = up2 o (widths 64 and 32 by default) — forward and backward. Cross-block sums are
// applied by the model.

final class OfficialAdapter: Sendable {
    let block: Int
    /// Widths h (64 in the released code) and b (32).
    let h: Int, b: Int
    let down1: Linear  // C → h
    let down2: Linear  // h → b
    let up1: Linear    // b → h
    let down3: Linear  // h+b → h
    let up2: Linear    // h → C

    /// Downs Kaiming-uniform (a=√5), up1 and up2 zero, all biases zero (as the released code).
    init(block: Int, dim: Int, widths: [Int] = [64, 32], rng: inout SeededGenerator) {
        self.block = block
        h = widths[0]
        b = widths[1]
        down1 = Linear(inFeatures: dim, outFeatures: h)
        down2 = Linear(inFeatures: h, outFeatures: b)
        up1 = Linear(inFeatures: b, outFeatures: h)
        down3 = Linear(inFeatures: h + b, outFeatures: h)
        up2 = Linear(inFeatures: h, outFeatures: dim)
        down1.weight.fillKaimingUniform(fanIn: dim, using: &rng)
        down2.weight.fillKaimingUniform(fanIn: h, using: &rng)
        down3.weight.fillKaimingUniform(fanIn: h + b, using: &rng)
    }

    var linears: [Linear] { [down1, down2, up1, down3, up2] }

    /// `blocks.{l}.adaptmlp.down1|down2|up1|down3|up2.{weight,bias}`, in that order.
    func parameters() -> [Parameter] {
        zip(["down1", "down2", "up1", "down3", "up2"], linears).flatMap { name, l in
            [Parameter(name: "blocks.\(block).adaptmlp.\(name).weight", value: l.weight),
             Parameter(name: "blocks.\(block).adaptmlp.\(name).bias", value: l.bias!)]
        }
    }

    /// The output and the intermediates kept for the backward pass.
    struct Saved {
        let h: Tensor    // (rows, h) ReLU(down1 x)
        let s1: Tensor   // (rows, b)
        let cat: Tensor  // (rows, b + h) [s1; s2]
        let o: Tensor    // (rows, h)
        let a: Tensor    // (rows, C) the adapter output
    }

    /// a (rows, C) from x (rows, C).
    func forward(_ x: UnsafePointer<Float>, rows: Int, arena: Arena) -> Saved {
        let hb = self.h, bb = self.b
        let h = arena.tensor([rows, hb])  // (rows, h)
        down1.forward(x, rows: rows, into: h.data, arena: arena)
        ReLU.forward(h.data, into: h.data, count: h.count)
        let s1 = arena.tensor([rows, bb])  // (rows, b)
        down2.forward(h.data, rows: rows, into: s1.data, arena: arena)
        let s2 = arena.tensor([rows, hb])  // (rows, h)
        up1.forward(s1.data, rows: rows, into: s2.data, arena: arena)
        let cat = arena.tensor([rows, hb + bb])  // (rows, b + h) [s1; s2]
        for r in 0..<rows {
            (cat.data + r * (hb + bb)).update(from: s1.data + r * bb, count: bb)
            (cat.data + r * (hb + bb) + bb).update(from: s2.data + r * hb, count: hb)
        }
        let o = arena.copy(h)  // (rows, h)
        down3.forward(cat.data, rows: rows, into: o.data, accumulate: true, arena: arena)
        let a = arena.tensor([rows, up2.outFeatures])  // (rows, C)
        up2.forward(o.data, rows: rows, into: a.data, arena: arena)
        return Saved(h: h, s1: s1, cat: cat, o: o, a: a)
    }

    /// From d(a): weight gradients into `grads` (order of ``parameters()``) and `dx += ∂/∂x`.
    func backward(_ da: UnsafePointer<Float>, x: UnsafePointer<Float>, saved: Saved, rows: Int, grads: [Parameter],
                  dx: UnsafeMutablePointer<Float>, arena: Arena) {
        func gw(_ i: Int) -> UnsafeMutablePointer<Float> { grads[2 * i].grad.data }
        func gb(_ i: Int) -> UnsafeMutablePointer<Float> { grads[2 * i + 1].grad.data }
        let hb = self.h, bb = self.b
        up2.backwardWeights(da, saved.o.data, rows: rows, dWeight: gw(4), dBias: gb(4))
        let dOut = arena.tensor([rows, hb])  // (rows, h) d o
        up2.backwardInput(da, rows: rows, into: dOut.data, arena: arena)
        down3.backwardWeights(dOut.data, saved.cat.data, rows: rows, dWeight: gw(3), dBias: gb(3))
        let dCat = arena.tensor([rows, hb + bb])  // (rows, b + h)
        down3.backwardInput(dOut.data, rows: rows, into: dCat.data, arena: arena)
        let dS2 = arena.tensor([rows, hb]), dS1 = arena.tensor([rows, bb])  // (rows, h), (rows, b)
        for r in 0..<rows {
            (dS1.data + r * bb).update(from: dCat.data + r * (hb + bb), count: bb)
            (dS2.data + r * hb).update(from: dCat.data + r * (hb + bb) + bb, count: hb)
        }
        up1.backwardWeights(dS2.data, saved.s1.data, rows: rows, dWeight: gw(2), dBias: gb(2))
        up1.backwardInput(dS2.data, rows: rows, into: dS1.data, accumulate: true, arena: arena)
        let dH = dOut  // o = down3(cat) + h
        down2.backwardWeights(dS1.data, saved.h.data, rows: rows, dWeight: gw(1), dBias: gb(1))
        down2.backwardInput(dS1.data, rows: rows, into: dH.data, accumulate: true, arena: arena)
        ReLU.backward(dH.data, output: saved.h.data, count: dH.count)
        down1.backwardWeights(dH.data, x, rows: rows, dWeight: gw(0), dBias: gb(0))
        down1.backwardInput(dH.data, rows: rows, into: dx, accumulate: true, arena: arena)
    }
}
