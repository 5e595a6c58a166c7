// The two-layer bottleneck used by AdaptFormer (parallel to the MLP, ×0.1) and the Houlsby adapter (after the MLP):
// out = scale · up(ReLU(down(x))), forward and backward.

/// `down` Linear C→d, ReLU, `up` Linear d→C, times `scale`. Initialised as docs/METHOD.md §4: down as nn.Linear's
/// default (Kaiming-uniform a=√5), up and all biases zero, so a fresh bottleneck outputs zero.
final class Bottleneck: Sendable {
    let down: Linear
    let up: Linear
    let scale: Float

    init(dim: Int, hidden: Int, scale: Float, rng: inout SeededGenerator) {
        down = Linear(inFeatures: dim, outFeatures: hidden)
        up = Linear(inFeatures: hidden, outFeatures: dim)
        self.scale = scale
        down.weight.fillKaimingUniform(fanIn: dim, using: &rng)
    }

    /// Parameters under `prefix` with the given sub-names (e.g. "down_proj"/"up_proj" or "down"/"up").
    func parameters(_ prefix: String, down downName: String, up upName: String) -> [Parameter] {
        [Parameter(name: "\(prefix).\(downName).weight", value: down.weight),
         Parameter(name: "\(prefix).\(downName).bias", value: down.bias!),
         Parameter(name: "\(prefix).\(upName).weight", value: up.weight),
         Parameter(name: "\(prefix).\(upName).bias", value: up.bias!)]
    }

    /// Bottleneck width d.
    var hidden: Int { down.outFeatures }

    /// `hidden (rows, d) = relu(down x)` — the first half, kept for the backward pass.
    func hidden(_ x: UnsafePointer<Float>, rows: Int, into hidden: UnsafeMutablePointer<Float>, arena: Arena) {
        down.forward(x, rows: rows, into: hidden, arena: arena)
        ReLU.forward(hidden, into: hidden, count: rows * down.outFeatures)
    }

    /// `out (rows, C) += scale·up(hidden)` — the second half.
    func project(_ hidden: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>, arena: Arena) {
        if scale == 1 { return up.forward(hidden, rows: rows, into: out, accumulate: true, arena: arena) }
        let t = arena.tensor([rows, up.outFeatures])  // (rows, C) up(hidden)
        up.forward(hidden, rows: rows, into: t.data, arena: arena)
        Elementwise.addScaled(t.data, alpha: scale, into: out, count: t.count)
    }

    /// Given d(out), accumulates the weight gradients into `grads` (down.w, down.b, up.w, up.b) and `dx += ∂/∂x`.
    func backward(_ dOut: UnsafePointer<Float>, x: UnsafePointer<Float>, hidden: Tensor, rows: Int,
                  grads: [Parameter], dx: UnsafeMutablePointer<Float>, arena: Arena) {
        let dy = arena.tensor([rows, up.outFeatures])  // (rows, C) scale · dOut
        dy.data.update(from: dOut, count: dy.count)
        if scale != 1 { for i in 0..<dy.count { dy.data[i] *= scale } }
        up.backwardWeights(dy.data, hidden.data, rows: rows, dWeight: grads[2].grad.data, dBias: grads[3].grad.data)
        let dh = arena.tensor(hidden.shape)  // (rows, d)
        up.backwardInput(dy.data, rows: rows, into: dh.data, arena: arena)
        ReLU.backward(dh.data, output: hidden.data, count: dh.count)
        down.backwardWeights(dh.data, x, rows: rows, dWeight: grads[0].grad.data, dBias: grads[1].grad.data)
        down.backwardInput(dh.data, rows: rows, into: dx, accumulate: true, arena: arena)
    }
}

/// ReLU (in place when `y` is `x`), and its backward from the output (gradient zeroed where the output is 0).
enum ReLU {
    static func forward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] = max(x[i], 0) }
    }

    static func backward(_ dx: UnsafeMutablePointer<Float>, output: UnsafePointer<Float>, count: Int) {
        for i in 0..<count where output[i] <= 0 { dx[i] = 0 }
    }
}

extension Tensor {
    /// PyTorch `nn.Linear` default weight init: Kaiming-uniform with a = √5, i.e. U(−1/√fanIn, 1/√fanIn).
    public func fillKaimingUniform(fanIn: Int, using rng: inout SeededGenerator) {
        fillUniform(bound: 1 / Float(fanIn).squareRoot(), using: &rng)
    }
}
