// BilinearResize: PyTorch's F.interpolate(mode="bilinear", align_corners=False/True) on (B, K, h, w) float maps and
// its adjoint (the backward pass), for upsampling segmentation logits to the label size.

/// The source taps of one output coordinate: `out = (1 − λ)·in[i0] + λ·in[i1]`.
struct BilinearTaps {
    let i0: [Int], i1: [Int], lambda: [Float]
    /// 1 − λ.
    let hi: [Float]

    /// PyTorch's `area_pixel_compute_source_index` (+ the clamp of `upsample_bilinear2d`): align_corners false:
    /// src = max((dst + 0.5)·in/out − 0.5, 0); true: src = dst·(in − 1)/(out − 1) (0 when out = 1).
    init(input: Int, output: Int, alignCorners: Bool) {
        var i0 = [Int](repeating: 0, count: output), i1 = i0, lambda = [Float](repeating: 0, count: output)
        let scale: Float = alignCorners ? (output > 1 ? Float(input - 1) / Float(output - 1) : 0) : Float(input) / Float(output)
        for d in 0..<output {
            let src = alignCorners ? scale * Float(d) : max(scale * (Float(d) + 0.5) - 0.5, 0)
            let lo = min(Int(src), input - 1)
            i0[d] = lo
            i1[d] = lo < input - 1 ? lo + 1 : lo
            lambda[d] = lo < input - 1 ? src - Float(lo) : 0
        }
        self.i0 = i0
        self.i1 = i1
        self.lambda = lambda
        hi = lambda.map { 1 - $0 }
    }
}

/// Bilinear resizing of (B, K, h, w) maps to (B, K, H, W), as `torch.nn.functional.interpolate(x, size=(H, W),
/// mode="bilinear", align_corners=alignCorners)` (no antialiasing). Planes run in parallel.
public func bilinearResize(_ input: Tensor, height: Int, width: Int, alignCorners: Bool = false) -> Tensor {
    precondition(input.shape.count == 4, "bilinearResize expects (B, K, h, w), got \(input.shape)")
    precondition(height > 0 && width > 0, "bilinearResize to \(width)×\(height)")
    let (b, k, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    let output = Tensor(uninitialized: [b, k, height, width])  // (B, K, H, W)
    let ty = BilinearTaps(input: h, output: height, alignCorners: alignCorners)
    let tx = BilinearTaps(input: w, output: width, alignCorners: alignCorners)
    let src = input.data, dst = output.data
    // Separable: each source row interpolated along x once (h × W), then rows blended along y; the same operations
    // in the same order as torch's hy·(hx·a + lx·b) + ly·(hx·c + lx·d).
    parallelFor(b * k, minChunk: max(1, 16_384 / max(height * width, 1))) { start, end in
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: h * width)  // (h, W)
        defer { rows.deallocate() }
        for plane in start..<end {
            let s = src + plane * h * w, d = dst + plane * height * width
            for y in 0..<h {
                let r = s + y * w, t = rows + y * width
                for x in 0..<width { t[x] = tx.hi[x] * r[tx.i0[x]] + tx.lambda[x] * r[tx.i1[x]] }
            }
            for y in 0..<height {
                let t0 = rows + ty.i0[y] * width, t1 = rows + ty.i1[y] * width, ly = ty.lambda[y], hy = ty.hi[y]
                let row = d + y * width
                for x in 0..<width { row[x] = hy * t0[x] + ly * t1[x] }
            }
        }
    }
    return output
}

/// The adjoint of ``bilinearResize(_:height:width:alignCorners:)``: the gradient (B, K, h, w) of its input given the
/// gradient `gradOutput` (B, K, H, W) of its output, as PyTorch's `upsample_bilinear2d_backward` (each output
/// gradient scattered to its four taps with the forward weights).
public func bilinearResizeBackward(_ gradOutput: Tensor, inputHeight h: Int, inputWidth w: Int,
                                   alignCorners: Bool = false) -> Tensor {
    precondition(gradOutput.shape.count == 4, "bilinearResizeBackward expects (B, K, H, W), got \(gradOutput.shape)")
    let (b, k, height, width) = (gradOutput.shape[0], gradOutput.shape[1], gradOutput.shape[2], gradOutput.shape[3])
    let gradInput = Tensor(zeros: [b, k, h, w])  // (B, K, h, w)
    let ty = BilinearTaps(input: h, output: height, alignCorners: alignCorners)
    let tx = BilinearTaps(input: w, output: width, alignCorners: alignCorners)
    let src = gradOutput.data, dst = gradInput.data
    // The transpose of the separable forward: gradients scattered along y into source rows (h × W), then along x.
    parallelFor(b * k, minChunk: max(1, 16_384 / max(height * width, 1))) { start, end in
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: h * width)  // (h, W)
        defer { rows.deallocate() }
        for plane in start..<end {
            let g = src + plane * height * width, d = dst + plane * h * w
            rows.initialize(repeating: 0, count: h * width)
            for y in 0..<height {
                let t0 = rows + ty.i0[y] * width, t1 = rows + ty.i1[y] * width, ly = ty.lambda[y], hy = ty.hi[y]
                let row = g + y * width
                for x in 0..<width {
                    t0[x] += hy * row[x]
                    t1[x] += ly * row[x]
                }
            }
            for y in 0..<h {
                let r = d + y * w, t = rows + y * width
                for x in 0..<width {
                    r[tx.i0[x]] += tx.hi[x] * t[x]
                    r[tx.i1[x]] += tx.lambda[x] * t[x]
                }
            }
        }
    }
    return gradInput
}
