// Cubic resampling taps for one axis: the antialiased kernel shared by PIL's BICUBIC and PyTorch's
// `interpolate(mode='bicubic', antialias=True)`, and PyTorch's plain bicubic (`antialias=False`).

/// For each output index, the input indices it reads and their weights.
struct CubicTaps {
    var taps: [[(index: Int, weight: Double)]]

    /// a = −0.5, support 2·max(in/out, 1) (widened when downsampling), weights normalised to sum 1 — PIL's
    /// `precompute_coeffs` and PyTorch's `_compute_indices_weights_aa`, align_corners=False.
    static func antialiased(inSize: Int, outSize: Int) -> CubicTaps {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 2 * filterScale, inverse = 1 / filterScale
        return CubicTaps(taps: (0..<outSize).map { out in
            let center = (Double(out) + 0.5) * scale
            let lo = max(0, Int(center - support + 0.5))
            let hi = min(inSize, Int(center + support + 0.5))
            var w = (lo..<hi).map { i in (index: i, weight: kernel((Double(i) - center + 0.5) * inverse, a: -0.5)) }
            let total = w.reduce(0) { $0 + $1.weight }
            if total != 0 { for k in w.indices { w[k].weight /= total } }
            return w
        })
    }

    /// PyTorch `upsample_bicubic2d`, align_corners=False: a = −0.75, four taps around the source position,
    /// indices clamped to the border, no normalisation.
    static func pytorchBicubic(inSize: Int, outSize: Int) -> CubicTaps {
        let scale = Double(inSize) / Double(outSize)
        return CubicTaps(taps: (0..<outSize).map { out in
            let src = (Double(out) + 0.5) * scale - 0.5
            let i0 = Int(src.rounded(.down))
            let t = src - Double(i0)
            return (0..<4).map { k in
                (index: min(max(i0 - 1 + k, 0), inSize - 1), weight: kernel(t + 1 - Double(k), a: -0.75))
            }
        })
    }

    /// Keys' cubic convolution kernel.
    static func kernel(_ x: Double, a: Double) -> Double {
        let x = abs(x)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }
}
