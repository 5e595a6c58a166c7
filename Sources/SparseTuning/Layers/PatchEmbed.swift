// Patch embedding as timm's `PatchEmbed` (a conv with kernel = stride = patch) or, with a tubelet depth, VideoMAE's
// Conv3d tubelet embedding (kernel = stride = (tubelet, p, p)); done as im2col + matrix multiply.

/// `proj` conv (C, 3, p, p) — or (C, 3, t, p, p) for tubelets of t frames — with optional bias: (B, 3, H, W) →
/// (B, H/p·W/p, C), or clips (B, T, 3, H, W) → (B, T/t·H/p·W/p, C), patches in (time,) row-major grid order.
public final class PatchEmbed: Sendable {
    public let patch: Int
    /// Frames per patch (1 for images).
    public let tubelet: Int
    public let dim: Int
    public let channels: Int
    /// The conv as a Linear over flattened (channel, kt, ky, kx) patches: weight (C, 3·t·p·p) = `proj.weight`.
    public let proj: Linear

    public init(patch: Int, dim: Int, channels: Int = 3, tubelet: Int = 1, bias: Bool = true) {
        self.patch = patch
        self.tubelet = tubelet
        self.dim = dim
        self.channels = channels
        proj = Linear(inFeatures: channels * tubelet * patch * patch, outFeatures: dim, bias: bias)
    }

    /// The conv weight's shape: (C, 3, p, p), or (C, 3, t, p, p) with tubelets.
    public var weightShape: [Int] {
        tubelet == 1 ? [dim, channels, patch, patch] : [dim, channels, tubelet, patch, patch]
    }

    /// `out (B, G, C)` from `images (B, T, 3, H, W)` (T = `frames`, a multiple of the tubelet; T = 1 for images
    /// (B, 3, H, W)), with `cols` (B·G, 3·t·p·p) as scratch; G = T/t·(H/p)·(W/p).
    func forward(_ images: UnsafePointer<Float>, batch b: Int, frames: Int = 1, height h: Int, width w: Int,
                 cols: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, arena: Arena? = nil) {
        im2col(images, batch: b, frames: frames, height: h, width: w, into: cols)
        proj.forward(cols, rows: b * (frames / tubelet) * (h / patch) * (w / patch), into: out, arena: arena)
    }

    /// The patches as rows `cols (B·G, 3·t·p·p)`, each flattened in (channel, kt, ky, kx) order like the conv weight;
    /// rows in (sample, time, gy, gx) order. `images` is (B, T, 3, H, W).
    func im2col(_ images: UnsafePointer<Float>, batch b: Int, frames: Int = 1, height h: Int, width w: Int,
                into colsData: UnsafeMutablePointer<Float>) {
        let p = patch, t = tubelet, gt = frames / t, gh = h / p, gw = w / p, k = channels * t * p * p, ch = channels
        parallelFor(b * gt * gh) { r0, r1 in
            for r in r0..<r1 {
                let bi = r / (gt * gh), ti = (r / gh) % gt, gy = r % gh
                for gx in 0..<gw {
                    let row = colsData + (((bi * gt + ti) * gh + gy) * gw + gx) * k
                    for c in 0..<ch {
                        for kt in 0..<t {
                            let frame = images + ((bi * frames + ti * t + kt) * ch + c) * h * w
                            for ky in 0..<p {
                                let src = frame + (gy * p + ky) * w + gx * p
                                (row + ((c * t + kt) * p + ky) * p).update(from: src, count: p)
                            }
                        }
                    }
                }
            }
        }
    }
}
