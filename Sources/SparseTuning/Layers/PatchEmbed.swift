// Patch embedding as timm's `PatchEmbed`: a conv with kernel = stride = patch, done as im2col + matrix multiply.

/// `proj` conv (C, 3, p, p) with optional bias, stride p: (B, 3, H, W) → (B, H/p·W/p, C), patches in row-major grid order.
public final class PatchEmbed: Sendable {
    public let patch: Int
    public let dim: Int
    public let channels: Int
    /// The conv as a Linear over flattened (channel, ky, kx) patches: weight (C, 3·p·p) = `proj.weight` (C, 3, p, p).
    public let proj: Linear

    public init(patch: Int, dim: Int, channels: Int = 3, bias: Bool = true) {
        self.patch = patch
        self.dim = dim
        self.channels = channels
        proj = Linear(inFeatures: channels * patch * patch, outFeatures: dim, bias: bias)
    }

    /// `out (B, Gh·Gw, C)` from `images (B, 3, H, W)`, with `cols` (B·Gh·Gw, 3·p·p) as scratch.
    func forward(_ images: UnsafePointer<Float>, batch b: Int, height h: Int, width w: Int,
                 cols: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, arena: Arena? = nil) {
        im2col(images, batch: b, height: h, width: w, into: cols)
        proj.forward(cols, rows: b * (h / patch) * (w / patch), into: out, arena: arena)
    }

    /// The patches as rows `cols (B·Gh·Gw, 3·p·p)`, each flattened in (channel, ky, kx) order like the conv weight.
    func im2col(_ images: UnsafePointer<Float>, batch b: Int, height h: Int, width w: Int, into colsData: UnsafeMutablePointer<Float>) {
        let p = patch, gh = h / p, gw = w / p, k = channels * p * p, ch = channels
        parallelFor(b * gh) { r0, r1 in
            for r in r0..<r1 {
                let bi = r / gh, gy = r % gh
                for gx in 0..<gw {
                    let row = colsData + ((bi * gh + gy) * gw + gx) * k
                    for c in 0..<ch {
                        for ky in 0..<p {
                            let src = images + ((bi * ch + c) * h + gy * p + ky) * w + gx * p
                            (row + (c * p + ky) * p).update(from: src, count: p)
                        }
                    }
                }
            }
        }
    }
}
