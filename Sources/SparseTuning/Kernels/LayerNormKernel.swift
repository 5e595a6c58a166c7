// LayerNorm over the last dimension (eps as given, timm uses 1e-6), forward and backward, vectorised and multi-threaded.

enum LayerNormKernel {
    /// `y (rows, C) = (x − mean) · rstd · weight + bias`. Saves per-row `mean` and `rstd` (rows) when given.
    static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                        rows: Int, c: Int, eps: Float,
                        mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil) {
        let full = c & ~15, tail = c - full
        parallelFor(rows, minChunk: max(1, 8192 / max(c, 1))) { r0, r1 in
            for r in r0..<r1 {
                let xr = x + r * c, yr = y + r * c
                var s = F16x()
                var i = 0
                while i < full { s += load16(xr + i); i += 16 }
                if tail > 0 { s += loadPartial(xr + full, tail) }
                let m = hsum(s) / Float(c)
                let mv = F16x(repeating: m)
                var v = F16x()
                i = 0
                while i < full { let d = load16(xr + i) - mv; v += d * d; i += 16 }
                if tail > 0 {
                    let d = (loadPartial(xr + full, tail) - mv) * laneMask(tail)
                    v += d * d
                }
                let rs = 1 / (hsum(v) / Float(c) + eps).squareRoot()
                let rv = F16x(repeating: rs)
                i = 0
                while i < full {
                    store16((load16(xr + i) - mv) * rv * load16(weight + i) + load16(bias + i), yr + i)
                    i += 16
                }
                if tail > 0 {
                    let o = (loadPartial(xr + full, tail) - mv) * rv * loadPartial(weight + full, tail)
                        + loadPartial(bias + full, tail)
                    storePartial(o, yr + full, tail)
                }
                mean?[r] = m
                rstd?[r] = rs
            }
        }
    }

    /// `dx (+)= ∂L/∂x`; when `dweight`/`dbias` are given they accumulate `Σ dy·x̂` and `Σ dy` (trainable norms).
    static func backward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         weight: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                         rows: Int, c: Int, accumulate: Bool = false,
                         dweight: UnsafeMutablePointer<Float>? = nil, dbias: UnsafeMutablePointer<Float>? = nil) {
        let full = c & ~15, tail = c - full
        parallelFor(rows, minChunk: max(1, 8192 / max(c, 1))) { r0, r1 in
            for r in r0..<r1 {
                let xr = x + r * c, gr = dy + r * c, dr = dx + r * c
                let mv = F16x(repeating: mean[r]), rv = F16x(repeating: rstd[r])
                // Σ g and Σ g·x̂ with g = dy·weight, x̂ = (x − mean)·rstd.
                var sg = F16x(), sgx = F16x()
                var i = 0
                while i < full {
                    let g = load16(gr + i) * load16(weight + i)
                    sg += g
                    sgx += g * ((load16(xr + i) - mv) * rv)
                    i += 16
                }
                if tail > 0 {
                    let g = loadPartial(gr + full, tail) * loadPartial(weight + full, tail)
                    sg += g
                    sgx += g * ((loadPartial(xr + full, tail) - mv) * rv)
                }
                let mg = F16x(repeating: hsum(sg) / Float(c)), mgx = F16x(repeating: hsum(sgx) / Float(c))
                // dx = rstd · (g − mean(g) − x̂ · mean(g·x̂))
                i = 0
                while i < full {
                    let xh = (load16(xr + i) - mv) * rv
                    var v = rv * (load16(gr + i) * load16(weight + i) - mg - xh * mgx)
                    if accumulate { v += load16(dr + i) }
                    store16(v, dr + i)
                    i += 16
                }
                if tail > 0 {
                    let xh = (loadPartial(xr + full, tail) - mv) * rv
                    var v = rv * (loadPartial(gr + full, tail) * loadPartial(weight + full, tail) - mg - xh * mgx)
                    if accumulate { v += loadPartial(dr + full, tail) }
                    storePartial(v, dr + full, tail)
                }
            }
        }
        if dweight != nil || dbias != nil {
            // Parameter gradients reduce over rows: done serially per column block to stay deterministic.
            parallelFor(c, minChunk: 16) { c0, c1 in
                for r in 0..<rows {
                    let xr = x + r * c, gr = dy + r * c
                    let m = mean[r], rs = rstd[r]
                    for j in c0..<c1 {
                        dweight?[j] += gr[j] * (xr[j] - m) * rs
                        dbias?[j] += gr[j]
                    }
                }
            }
        }
    }
}
