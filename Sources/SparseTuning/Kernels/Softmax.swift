// Row-wise softmax over the last dimension, forward and backward, vectorised and multi-threaded.

enum Softmax {
    /// In place: each of `rows` rows of length `n` becomes softmax(row).
    static func forward(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        parallelFor(rows, minChunk: max(1, 4096 / max(n, 1))) { r0, r1 in
            for r in r0..<r1 { row(x + r * n, n) }
        }
    }

    @inline(__always) private static func row(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        let full = n & ~15, tail = n - full
        var m = F16x(repeating: -.infinity)
        var i = 0
        while i < full { m = vmax(m, load16(p + i)); i += 16 }
        if tail > 0 { m = vmax(m, loadPartial(p + full, tail, fill: -.infinity)) }
        let mx = F16x(repeating: hmax(m))
        var s = F16x()
        i = 0
        while i < full { let e = vexp(load16(p + i) - mx); store16(e, p + i); s += e; i += 16 }
        if tail > 0 {
            let e = vexp(loadPartial(p + full, tail) - mx) * laneMask(tail)
            storePartial(e, p + full, tail); s += e
        }
        let inv = F16x(repeating: 1 / hsum(s))
        i = 0
        while i < full { store16(load16(p + i) * inv, p + i); i += 16 }
        if tail > 0 { storePartial(loadPartial(p + full, tail) * inv, p + full, tail) }
    }

    /// `dx (+)= y ⊙ (dy − Σ dy⊙y)` per row, where `y` is the forward output. `dx` may alias `dy`.
    static func backward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, y: UnsafePointer<Float>,
                         rows: Int, n: Int, accumulate: Bool = false) {
        let full = n & ~15, tail = n - full
        parallelFor(rows, minChunk: max(1, 4096 / max(n, 1))) { r0, r1 in
            for r in r0..<r1 {
                let g = dy + r * n, p = y + r * n, d = dx + r * n
                var s = F16x()
                var i = 0
                while i < full { s += load16(g + i) * load16(p + i); i += 16 }
                if tail > 0 { s += loadPartial(g + full, tail) * loadPartial(p + full, tail) }
                let dot = F16x(repeating: hsum(s))
                i = 0
                while i < full {
                    var v = load16(p + i) * (load16(g + i) - dot)
                    if accumulate { v += load16(d + i) }
                    store16(v, d + i)
                    i += 16
                }
                if tail > 0 {
                    var v = loadPartial(p + full, tail) * (loadPartial(g + full, tail) - dot)
                    if accumulate { v += loadPartial(d + full, tail) }
                    storePartial(v, d + full, tail)
                }
            }
        }
    }
}
