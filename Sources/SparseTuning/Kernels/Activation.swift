// The MLP activations, forward and backward, vectorised and multi-threaded: exact GELU, 0.5·x·(1 + erf(x/√2)) as
// PyTorch's default (timm's ViTs), and QuickGELU, x·σ(1.702·x), the approximation OpenAI's CLIP towers were trained
// with (timm `act_layer='quick_gelu'`).

/// The activation between an MLP's two Linears.
public enum Activation: String, Sendable, Codable, CaseIterable {
    /// Exact (erf) GELU.
    case gelu
    /// x·σ(1.702·x) (CLIP).
    case quickGELU = "quick_gelu"

    /// QuickGELU's slope inside the sigmoid.
    static let quickGELUAlpha: Float = 1.702

    /// `y = act(x)` over `count` elements; `y` may alias `x`.
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        let quick = self == .quickGELU
        Self.vectors(count) { i, n in
            let v = n == 16 ? load16(x + i) : loadPartial(x + i, n)
            let r = quick ? v / (1 + vexp(-Self.quickGELUAlpha * v)) : 0.5 * v * (1 + verf(v * 0.7071067811865476))
            if n == 16 { store16(r, y + i) } else { storePartial(r, y + i, n) }
        }
    }

    /// `dx (+)= dy ⊙ act'(x)`: gelu'(x) = Φ(x) + x·φ(x); quick'(x) = σ(ax) + a·x·σ(ax)·(1 − σ(ax)). `dx` may
    /// alias `dy`.
    func backward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                  count: Int, accumulate: Bool = false) {
        let quick = self == .quickGELU
        Self.vectors(count) { i, n in
            let v = n == 16 ? load16(x + i) : loadPartial(x + i, n)
            let g = n == 16 ? load16(dy + i) : loadPartial(dy + i, n)
            let slope: F16x
            if quick {
                let a = Self.quickGELUAlpha
                let sig = 1 / (1 + vexp(-a * v))
                slope = sig + a * v * sig * (1 - sig)
            } else {
                let cdf = 0.5 * (1 + verf(v * 0.7071067811865476))
                let pdf = 0.3989422804014327 * vexp(-0.5 * v * v)
                slope = cdf + v * pdf
            }
            var r = g * slope
            if accumulate { r += n == 16 ? load16(dx + i) : loadPartial(dx + i, n) }
            if n == 16 { store16(r, dx + i) } else { storePartial(r, dx + i, n) }
        }
    }

    /// Calls `body(first, lanes)` for every 16-lane vector of `0..<count` (the last one partial), on the threads.
    @inline(__always) private static func vectors(_ count: Int, _ body: (Int, Int) -> Void) {
        parallelFor(count / 16 + 1, minChunk: 1024) { c0, c1 in
            let e = min(count, c1 * 16)
            var i = c0 * 16
            while i < e {
                body(i, min(16, e - i))
                i += 16
            }
        }
    }
}
