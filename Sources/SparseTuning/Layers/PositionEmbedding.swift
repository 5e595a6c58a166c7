// Resizing absolute position embeddings to a new patch grid, as timm's `resample_abs_pos_embed`: the class-token
// row kept, the grid resampled separably with bicubic taps (antialiased by default, as timm; or PyTorch's plain
// bicubic). And VideoMAE's fixed sinusoidal table.
import Foundation

enum PositionEmbedding {
    /// The sinusoid table (1, positions, C) of VideoMAE's `get_sinusoid_encoding_table`: for position i and channel j,
    /// angle = i / 10000^(2·⌊j/2⌋/C); sine on even channels, cosine on odd (computed in Double, stored as Float).
    static func sinusoidTable(positions: Int, dim c: Int) -> Tensor {
        let t = Tensor(zeros: [1, positions, c])
        for i in 0..<positions {
            for j in 0..<c {
                let angle = Double(i) / Foundation.pow(10000, Double(2 * (j / 2)) / Double(c))
                t.data[i * c + j] = Float(j % 2 == 0 ? Foundation.sin(angle) : Foundation.cos(angle))
            }
        }
        return t
    }

    /// `pos (1, prefix + oh·ow, C)` → `(1, prefix + nh·nw, C)`.
    static func resample(_ pos: Tensor, prefixTokens: Int, from old: (h: Int, w: Int), to new: (h: Int, w: Int),
                         antialias: Bool = true) -> Tensor {
        let c = pos.shape[2]
        precondition(pos.shape[1] == prefixTokens + old.h * old.w)
        if old == new { return pos.copy() }
        let out = Tensor(zeros: [1, prefixTokens + new.h * new.w, c])
        out.data.update(from: pos.data, count: prefixTokens * c)
        let src = pos.data + prefixTokens * c, dst = out.data + prefixTokens * c
        func taps(_ from: Int, _ to: Int) -> [[(index: Int, weight: Double)]] {
            (antialias ? CubicTaps.antialiased(inSize: from, outSize: to) : CubicTaps.pytorchBicubic(inSize: from, outSize: to)).taps
        }
        let ty = taps(old.h, new.h), tx = taps(old.w, new.w)
        // Horizontal pass (old.h, new.w, C), then vertical, accumulating in Double.
        var mid = [Double](repeating: 0, count: old.h * new.w * c)
        for y in 0..<old.h {
            for ox in 0..<new.w {
                let o = (y * new.w + ox) * c
                for (ix, f) in tx[ox] {
                    let s = src + (y * old.w + ix) * c
                    for ch in 0..<c { mid[o + ch] += f * Double(s[ch]) }
                }
            }
        }
        for oy in 0..<new.h {
            for ox in 0..<new.w {
                let o = dst + (oy * new.w + ox) * c
                for ch in 0..<c {
                    var acc = 0.0
                    for (iy, f) in ty[oy] { acc += f * mid[(iy * new.w + ox) * c + ch] }
                    o[ch] = Float(acc)
                }
            }
        }
        return out
    }
}
