// Bilinear resizing of logit maps as F.interpolate(mode="bilinear", align_corners=False), and its adjoint.
// (Temporary: to be replaced by the shared bilinear resize of the segmentation data code.)

enum SegmentationUpsampling {
    /// Per output index: the two source indices and the weight of the second.
    static func taps(input: Int, output: Int) -> [(i0: Int, i1: Int, t: Float)] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { o in
            let src = max((Float(o) + 0.5) * scale - 0.5, 0)
            let i0 = min(Int(src), input - 1), i1 = min(i0 + 1, input - 1)
            return (i0, i1, src - Float(i0))
        }
    }

    /// (B, K, h, w) → (B, K, H, W).
    static func bilinear(_ x: Tensor, height: Int, width: Int) -> Tensor {
        let b = x.shape[0], k = x.shape[1], h = x.shape[2], w = x.shape[3]
        let ty = taps(input: h, output: height), tx = taps(input: w, output: width)
        let y = Tensor(uninitialized: [b, k, height, width])  // (B, K, H, W)
        parallelFor(b * k) { p0, p1 in
            for plane in p0..<p1 {
                let src = x.data + plane * h * w, dst = y.data + plane * height * width
                for (oy, a) in ty.enumerated() {
                    for (ox, c) in tx.enumerated() {
                        let top = src[a.i0 * w + c.i0] * (1 - c.t) + src[a.i0 * w + c.i1] * c.t
                        let bottom = src[a.i1 * w + c.i0] * (1 - c.t) + src[a.i1 * w + c.i1] * c.t
                        dst[oy * width + ox] = top * (1 - a.t) + bottom * a.t
                    }
                }
            }
        }
        return y
    }

    /// The adjoint: d(input) (B, K, h, w) from d(output) (B, K, H, W).
    static func bilinearBackward(_ dy: Tensor, height h: Int, width w: Int) -> Tensor {
        let b = dy.shape[0], k = dy.shape[1], height = dy.shape[2], width = dy.shape[3]
        let ty = taps(input: h, output: height), tx = taps(input: w, output: width)
        let dx = Tensor(zeros: [b, k, h, w])  // (B, K, h, w)
        parallelFor(b * k) { p0, p1 in
            for plane in p0..<p1 {
                let g = dy.data + plane * height * width, d = dx.data + plane * h * w
                for (oy, a) in ty.enumerated() {
                    for (ox, c) in tx.enumerated() {
                        let v = g[oy * width + ox]
                        d[a.i0 * w + c.i0] += v * (1 - a.t) * (1 - c.t)
                        d[a.i0 * w + c.i1] += v * (1 - a.t) * c.t
                        d[a.i1 * w + c.i0] += v * a.t * (1 - c.t)
                        d[a.i1 * w + c.i1] += v * a.t * c.t
                    }
                }
            }
        }
        return dx
    }
}
