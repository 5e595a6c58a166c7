// Exact GELU, 0.5·x·(1 + erf(x/√2)) as PyTorch's default, forward and backward, vectorised and multi-threaded.

enum GELU {
    /// `y = gelu(x)` over `count` elements; `y` may alias `x`.
    static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        parallelFor(count / 16 + 1, minChunk: 1024) { c0, c1 in
            let s = c0 * 16, e = min(count, c1 * 16)
            var i = s
            while i + 16 <= e { store16(f(load16(x + i)), y + i); i += 16 }
            if i < e { storePartial(f(loadPartial(x + i, e - i)), y + i, e - i) }
        }
    }

    @inline(__always) private static func f(_ v: F16x) -> F16x {
        0.5 * v * (1 + verf(v * 0.7071067811865476))
    }

    /// `dx (+)= dy ⊙ gelu'(x)` with gelu'(x) = Φ(x) + x·φ(x). `dx` may alias `dy`.
    static func backward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         count: Int, accumulate: Bool = false) {
        parallelFor(count / 16 + 1, minChunk: 1024) { c0, c1 in
            let s = c0 * 16, e = min(count, c1 * 16)
            var i = s
            while i < e {
                let n = min(16, e - i)
                let v = n == 16 ? load16(x + i) : loadPartial(x + i, n)
                let g = n == 16 ? load16(dy + i) : loadPartial(dy + i, n)
                let cdf = 0.5 * (1 + verf(v * 0.7071067811865476))
                let pdf = 0.3989422804014327 * vexp(-0.5 * v * v)
                var r = g * (cdf + v * pdf)
                if accumulate { r += n == 16 ? load16(dx + i) : loadPartial(dx + i, n) }
                if n == 16 { store16(r, dx + i) } else { storePartial(r, dx + i, n) }
                i += 16
            }
        }
    }
}
