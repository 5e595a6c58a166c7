// Dense Adapter of one block (docs/METHOD.md §3a), forward and backward:
// a_l = up(ReLU(down1·x_l + [l≥1] down2·S_l(a_{l−1}) + [l≥3] down3·S_l(a_{l−3}))).
// The S_l mapping of earlier outputs is done by the model (it owns the token reductions).

final class DenseAdapter: Sendable {
    let block: Int
    let down1: Linear
    let down2: Linear?
    let down3: Linear?
    let up: Linear

    /// Down projections as nn.Linear's default (Kaiming-uniform a=√5), up projection zero, biases zero.
    init(block: Int, dim: Int, rank: Int, rng: inout SeededGenerator) {
        self.block = block
        down1 = Linear(inFeatures: dim, outFeatures: rank)
        down2 = block >= 1 ? Linear(inFeatures: dim, outFeatures: rank) : nil
        down3 = block >= 3 ? Linear(inFeatures: dim, outFeatures: rank) : nil
        up = Linear(inFeatures: rank, outFeatures: dim)
        for d in [down1, down2, down3].compactMap({ $0 }) { d.weight.fillKaimingUniform(fanIn: dim, using: &rng) }
    }

    /// `blocks.{l}.adapter.down1|down2|down3|up.{weight,bias}` — parameters in that order.
    func parameters() -> [Parameter] {
        let p = "blocks.\(block).adapter"
        var out: [Parameter] = []
        for (name, l) in [("down1", down1), ("down2", down2), ("down3", down3), ("up", up)] {
            guard let l else { continue }
            out.append(Parameter(name: "\(p).\(name).weight", value: l.weight))
            out.append(Parameter(name: "\(p).\(name).bias", value: l.bias!))
        }
        return out
    }

    var linears: [Linear] { [down1, down2, down3, up].compactMap { $0 } }
    var rank: Int { down1.outFeatures }

    /// `a (rows, C)` from x_l and the mapped earlier outputs s1 = S_l(a_{l−1}), s3 = S_l(a_{l−3}) (rows, C); also
    /// writes z, the pre-ReLU bottleneck (rows, r), for the backward pass.
    func forward(x: UnsafePointer<Float>, s1: UnsafePointer<Float>?, s3: UnsafePointer<Float>?, rows: Int,
                 z: UnsafeMutablePointer<Float>, a: UnsafeMutablePointer<Float>, arena: Arena) {
        down1.forward(x, rows: rows, into: z, arena: arena)
        if let s1, let down2 { down2.forward(s1, rows: rows, into: z, accumulate: true, arena: arena) }
        if let s3, let down3 { down3.forward(s3, rows: rows, into: z, accumulate: true, arena: arena) }
        let hidden = arena.tensor([rows, rank])  // (rows, r) ReLU(z)
        ReLU.forward(z, into: hidden.data, count: hidden.count)
        up.forward(hidden.data, rows: rows, into: a, arena: arena)
    }

    /// From d(a): weight gradients into `grads` (the order of ``parameters()``), `dx += ∂/∂x`, and the gradients
    /// of the mapped inputs `ds1`, `ds3` (rows, C), written (not accumulated).
    func backward(_ da: UnsafePointer<Float>, x: UnsafePointer<Float>, s1: UnsafePointer<Float>?, s3: UnsafePointer<Float>?,
                  z: Tensor, rows: Int, grads: [Parameter], dx: UnsafeMutablePointer<Float>,
                  ds1: UnsafeMutablePointer<Float>?, ds3: UnsafeMutablePointer<Float>?, arena: Arena) {
        let hidden = arena.tensor(z.shape)  // (rows, r) ReLU(z)
        ReLU.forward(z.data, into: hidden.data, count: hidden.count)
        var g = grads.makeIterator()
        let d1w = g.next()!, d1b = g.next()!
        let d2 = down2 != nil ? (g.next()!, g.next()!) : nil
        let d3 = down3 != nil ? (g.next()!, g.next()!) : nil
        let uw = g.next()!, ub = g.next()!
        up.backwardWeights(da, hidden.data, rows: rows, dWeight: uw.grad.data, dBias: ub.grad.data)
        let dz = arena.tensor(z.shape)  // (rows, r)
        up.backwardInput(da, rows: rows, into: dz.data, arena: arena)
        ReLU.backward(dz.data, output: hidden.data, count: dz.count)
        down1.backwardWeights(dz.data, x, rows: rows, dWeight: d1w.grad.data, dBias: d1b.grad.data)
        down1.backwardInput(dz.data, rows: rows, into: dx, accumulate: true, arena: arena)
        if let down2, let d2, let s1, let ds1 {
            down2.backwardWeights(dz.data, s1, rows: rows, dWeight: d2.0.grad.data, dBias: d2.1.grad.data)
            down2.backwardInput(dz.data, rows: rows, into: ds1, arena: arena)
        }
        if let down3, let d3, let s3, let ds3 {
            down3.backwardWeights(dz.data, s3, rows: rows, dWeight: d3.0.grad.data, dBias: d3.1.grad.data)
            down3.backwardInput(dz.data, rows: rows, into: ds3, arena: arena)
        }
    }
}
