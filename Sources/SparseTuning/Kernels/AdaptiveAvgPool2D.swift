// Adaptive average pooling (PyTorch F.adaptive_avg_pool2d) and its backward: output cell i averages input rows
// ⌊i·in/out⌋ ..< ⌈(i + 1)·in/out⌉ (the same rule per column), so cells may overlap when out does not divide in.

enum AdaptiveAvgPool2D {
    /// The input range of output index i (PyTorch's start_index / end_index).
    @inline(__always) static func bin(_ i: Int, in n: Int, out m: Int) -> Range<Int> {
        (i * n) / m ..< ((i + 1) * n + m - 1) / m
    }

    /// y (B, C, out, out) of x (B, C, H, W).
    static func forward(_ x: Tensor, out: Int) -> Tensor {
        let planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
        let y = Tensor(uninitialized: [x.shape[0], x.shape[1], out, out])  // (B, C, out, out)
        for p in 0..<planes {
            let src = x.data + p * h * w, dst = y.data + p * out * out
            for i in 0..<out {
                let rows = bin(i, in: h, out: out)
                for j in 0..<out {
                    let cols = bin(j, in: w, out: out)
                    var s: Float = 0
                    for r in rows { for c in cols { s += src[r * w + c] } }
                    dst[i * out + j] = s / Float(rows.count * cols.count)
                }
            }
        }
        return y
    }

    /// dx (B, C, H, W) of dy (B, C, out, out): each cell's gradient spread evenly over its bin.
    static func backward(_ dy: Tensor, inH h: Int, inW w: Int) -> Tensor {
        let planes = dy.shape[0] * dy.shape[1], out = dy.shape[2]
        let dx = Tensor(zeros: [dy.shape[0], dy.shape[1], h, w])  // (B, C, H, W)
        for p in 0..<planes {
            let g = dy.data + p * out * out, d = dx.data + p * h * w
            for i in 0..<out {
                let rows = bin(i, in: h, out: out)
                for j in 0..<out {
                    let cols = bin(j, in: w, out: out)
                    let v = g[i * out + j] / Float(rows.count * cols.count)
                    for r in rows { for c in cols { d[r * w + c] += v } }
                }
            }
        }
        return dx
    }
}
