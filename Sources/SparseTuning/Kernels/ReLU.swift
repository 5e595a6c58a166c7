// ReLU on whole tensors for the segmentation head, forward and backward (the backward reads the forward's output,
// as PyTorch does); the pointer forms are in Tuning/Bottleneck.swift.

extension ReLU {
    /// y = max(x, 0), same shape as x.
    static func forward(_ x: Tensor) -> Tensor {
        let y = Tensor(uninitialized: x.shape)  // shape of x
        let xp = x.data, yp = y.data
        parallelFor(x.count, minChunk: 1 << 14) { s, e in for i in s..<e { yp[i] = max(xp[i], 0) } }
        return y
    }

    /// dx = dy where y > 0, else 0 (y: the forward output).
    static func backward(_ dy: Tensor, output y: Tensor) -> Tensor {
        precondition(dy.count == y.count, "ReLU backward: \(dy.shape) vs \(y.shape)")
        let dx = Tensor(uninitialized: dy.shape)  // shape of dy
        let g = dy.data, yp = y.data, d = dx.data
        parallelFor(dy.count, minChunk: 1 << 14) { s, e in for i in s..<e { d[i] = yp[i] > 0 ? g[i] : 0 } }
        return dx
    }
}
