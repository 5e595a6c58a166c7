// Element-wise helpers over flat buffers: residual add, scaled add, fill.

enum Elementwise {
    /// `y += x` over `count` elements.
    static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        parallelFor(count / 16 + 1, minChunk: 2048) { c0, c1 in
            let s = c0 * 16, e = min(count, c1 * 16)
            var i = s
            while i + 16 <= e { store16(load16(y + i) + load16(x + i), y + i); i += 16 }
            while i < e { y[i] += x[i]; i += 1 }
        }
    }

    /// `y += alpha · x`.
    static func addScaled(_ x: UnsafePointer<Float>, alpha: Float, into y: UnsafeMutablePointer<Float>, count: Int) {
        parallelFor(count / 16 + 1, minChunk: 2048) { c0, c1 in
            let s = c0 * 16, e = min(count, c1 * 16)
            var i = s
            while i + 16 <= e { store16(load16(y + i) + alpha * load16(x + i), y + i); i += 16 }
            while i < e { y[i] += alpha * x[i]; i += 1 }
        }
    }
}
