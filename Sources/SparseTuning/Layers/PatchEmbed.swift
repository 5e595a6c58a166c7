// Patch embedding as timm's `PatchEmbed`: a conv with kernel = stride = patch, done as im2col + matrix multiply.

/// `proj` conv (C, 3, p, p) with bias, stride p: (B, 3, H, W) → (B, H/p·W/p, C), patches in row-major grid order.
public final class PatchEmbed: @unchecked Sendable {
    public let patch: Int
    public let dim: Int
    public let channels: Int
    /// The conv as a Linear over flattened (channel, ky, kx) patches: weight (C, 3·p·p) = `proj.weight` (C, 3, p, p).
    public let proj: Linear

    public init(patch: Int, dim: Int, channels: Int = 3) {
        self.patch = patch
        self.dim = dim
        self.channels = channels
        proj = Linear(inFeatures: channels * patch * patch, outFeatures: dim)
    }

    /// `out (B, Gh·Gw, C)` from `images (B, 3, H, W)`.
    func forward(_ images: UnsafePointer<Float>, batch b: Int, height h: Int, width w: Int,
                 into out: UnsafeMutablePointer<Float>) {
        let p = patch, gh = h / p, gw = w / p, k = channels * p * p
        let cols = Tensor(zeros: [b * gh * gw, k])  // (B·G, 3·p·p) im2col
        let colsData = cols.data
        parallelFor(b * gh) { r0, r1 in
            for r in r0..<r1 {
                let bi = r / gh, gy = r % gh
                for gx in 0..<gw {
                    let row = colsData + ((bi * gh + gy) * gw + gx) * k
                    for ch in 0..<self.channels {
                        for ky in 0..<p {
                            let src = images + ((bi * self.channels + ch) * h + gy * p + ky) * w + gx * p
                            (row + (ch * p + ky) * p).update(from: src, count: p)
                        }
                    }
                }
            }
        }
        proj.forward(colsData, rows: b * gh * gw, into: out)
    }
}
