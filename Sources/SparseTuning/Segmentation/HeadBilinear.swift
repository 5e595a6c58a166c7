// Bilinear resizing inside the segmentation head (PyTorch F.interpolate(mode='bilinear', align_corners=False) to a
// given size) and its adjoint. Internal stopgap: to be replaced by the shared `bilinearResize` /
// `bilinearResizeBackward` when that lands (same semantics).

enum HeadBilinear {
    /// Per output index: the two source indices and their weights (PyTorch's area_pixel_compute_source_index with
    /// scale in/out, negative source coordinates clamped to 0).
    static func taps(in n: Int, out m: Int) -> [(i0: Int, i1: Int, w0: Float, w1: Float)] {
        let scale = Float(n) / Float(m)
        return (0..<m).map { o in
            let src = max(scale * (Float(o) + 0.5) - 0.5, 0)
            let i0 = min(Int(src), n - 1)
            let i1 = i0 < n - 1 ? i0 + 1 : i0
            let l1 = src - Float(i0)
            return (i0, i1, 1 - l1, l1)
        }
    }

    /// y (B, C, outH, outW) of x (B, C, H, W).
    static func resize(_ x: Tensor, outH: Int, outW: Int) -> Tensor {
        let planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
        let y = Tensor(uninitialized: [x.shape[0], x.shape[1], outH, outW])  // (B, C, outH, outW)
        if h == outH && w == outW {
            y.data.update(from: x.data, count: x.count)
            return y
        }
        let ty = taps(in: h, out: outH), tx = taps(in: w, out: outW)
        for p in 0..<planes {
            let s = x.data + p * h * w, d = y.data + p * outH * outW
            for i in 0..<outH {
                let a = ty[i]
                for j in 0..<outW {
                    let b = tx[j]
                    d[i * outW + j] = a.w0 * (b.w0 * s[a.i0 * w + b.i0] + b.w1 * s[a.i0 * w + b.i1])
                                    + a.w1 * (b.w0 * s[a.i1 * w + b.i0] + b.w1 * s[a.i1 * w + b.i1])
                }
            }
        }
        return y
    }

    /// dx (B, C, H, W) of dy (B, C, outH, outW): the transpose of `resize`.
    static func backward(_ dy: Tensor, inH h: Int, inW w: Int) -> Tensor {
        let planes = dy.shape[0] * dy.shape[1], outH = dy.shape[2], outW = dy.shape[3]
        if h == outH && w == outW { return dy.copy() }
        let dx = Tensor(zeros: [dy.shape[0], dy.shape[1], h, w])  // (B, C, H, W)
        let ty = taps(in: h, out: outH), tx = taps(in: w, out: outW)
        for p in 0..<planes {
            let g = dy.data + p * outH * outW, d = dx.data + p * h * w
            for i in 0..<outH {
                let a = ty[i]
                for j in 0..<outW {
                    let b = tx[j], v = g[i * outW + j]
                    d[a.i0 * w + b.i0] += a.w0 * b.w0 * v
                    d[a.i0 * w + b.i1] += a.w0 * b.w1 * v
                    d[a.i1 * w + b.i0] += a.w1 * b.w0 * v
                    d[a.i1 * w + b.i1] += a.w1 * b.w1 * v
                }
            }
        }
        return dx
    }
}
