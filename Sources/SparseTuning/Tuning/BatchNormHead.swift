// The released code's head option (docs/METHOD.md §3c): BatchNorm1d without affine (eps 1e-6, momentum 0.1, running
// statistics) before the head Linear; forward in training (batch statistics) or eval mode, and backward.

final class BatchNormHead: Sendable {
    let dim: Int
    let eps: Float = 1e-6
    let momentum: Float = 0.1
    /// (C)
    let runningMean: Tensor
    /// (C)
    let runningVar: Tensor
    /// [1], as PyTorch's int64 counter stored as a float.
    let batchesTracked: Tensor

    init(dim: Int) {
        self.dim = dim
        runningMean = Tensor(zeros: [dim])
        runningVar = Tensor(shape: [dim], values: [Float](repeating: 1, count: dim))
        batchesTracked = Tensor(zeros: [])
    }

    /// Buffers (not trained) under `head.0.*`.
    var buffers: [(name: String, tensor: Tensor)] {
        [("head.0.running_mean", runningMean), ("head.0.running_var", runningVar), ("head.0.num_batches_tracked", batchesTracked)]
    }

    /// y (B, C) = (x − μ)/√(σ² + eps); training uses batch statistics and updates the running ones.
    /// Returns the per-channel inverse standard deviations used (for the backward pass).
    func forward(_ x: UnsafePointer<Float>, batch b: Int, into y: UnsafeMutablePointer<Float>, training: Bool) -> [Float] {
        var inv = [Float](repeating: 0, count: dim)
        for j in 0..<dim {
            var mean = runningMean[j], variance = runningVar[j]
            if training {
                var s: Double = 0
                for i in 0..<b { s += Double(x[i * dim + j]) }
                let m = s / Double(b)
                var v: Double = 0
                for i in 0..<b { let d = Double(x[i * dim + j]) - m; v += d * d }
                mean = Float(m)
                variance = Float(v / Double(b))
                let unbiased = b > 1 ? Float(v / Double(b - 1)) : variance
                runningMean[j] = (1 - momentum) * runningMean[j] + momentum * mean
                runningVar[j] = (1 - momentum) * runningVar[j] + momentum * unbiased
            }
            inv[j] = 1 / (variance + eps).squareRoot()
            for i in 0..<b { y[i * dim + j] = (x[i * dim + j] - mean) * inv[j] }
        }
        if training { batchesTracked[0] += 1 }
        return inv
    }

    /// `dx (B, C)` from `dy` and the normalised output `y`: batch statistics in training, constants in eval.
    func backward(_ dy: UnsafePointer<Float>, y: UnsafePointer<Float>, inv: [Float], batch b: Int, training: Bool,
                  into dx: UnsafeMutablePointer<Float>) {
        for j in 0..<dim {
            guard training else {
                for i in 0..<b { dx[i * dim + j] = dy[i * dim + j] * inv[j] }
                continue
            }
            var mdy: Float = 0, mdyy: Float = 0
            for i in 0..<b { mdy += dy[i * dim + j]; mdyy += dy[i * dim + j] * y[i * dim + j] }
            mdy /= Float(b)
            mdyy /= Float(b)
            for i in 0..<b { dx[i * dim + j] = inv[j] * (dy[i * dim + j] - mdy - y[i * dim + j] * mdyy) }
        }
    }
}
