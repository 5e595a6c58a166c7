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
        parallelFor(rows, minChunk: max(1, 4096 / max(n, 1))) { r0, r1 in
            for r in r0..<r1 {
                let o = r * n
                var dot: Float = 0
                for j in 0..<n { dot += dy[o + j] * y[o + j] }
                for j in 0..<n {
                    let g = y[o + j] * (dy[o + j] - dot)
                    dx[o + j] = accumulate ? dx[o + j] + g : g
                }
            }
        }
    }
}
