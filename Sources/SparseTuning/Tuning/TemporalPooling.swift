// Temporal pooling of a per-frame video model: the T frame features of each clip (the final-normed class tokens, or
// the per-frame pooled features) become the clip's feature vector — their mean, or an attention-weighted sum with one
// learned query (docs/VIDEO.md, "Models").
import Foundation

/// How a per-frame video model turns its frames' features into the clip's.
public enum TemporalPooling: String, Sendable, Codable, CaseIterable {
    /// The mean of the frames' features.
    case mean
    /// Attention with a learned query q (W): weights a_t = softmax_t(q·f_t/√W), clip feature Σ_t a_t·f_t. q starts at
    /// zero, where the weights are uniform and this is the mean; it trains with the head (`temporal_pool.query`).
    case attention
}

/// The pooling over frames and its backward pass; `query` is nil for the mean.
final class TemporalPool: Sendable {
    /// (W) the learned query, for attention pooling.
    let query: Tensor?

    init(_ kind: TemporalPooling, width: Int) {
        query = kind == .attention ? Tensor(zeros: [width]) : nil
    }

    /// `out (B, W)` = Σ_t a_t·f_t of `frames (B·T, W)`; the weights a go to `weights (B, T)`.
    func forward(_ frames: UnsafePointer<Float>, clips b: Int, frames t: Int, width w: Int,
                 into out: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Float>) {
        let scale = 1 / Float(w).squareRoot()
        for bi in 0..<b {
            let a = weights + bi * t
            if let q = query?.data {
                var top = -Float.infinity
                for ti in 0..<t {
                    let f = frames + (bi * t + ti) * w
                    var dot: Float = 0
                    for j in 0..<w { dot += q[j] * f[j] }
                    a[ti] = dot * scale
                    top = max(top, a[ti])
                }
                var sum: Float = 0
                for ti in 0..<t { a[ti] = Foundation.exp(a[ti] - top); sum += a[ti] }
                for ti in 0..<t { a[ti] /= sum }
            } else {
                for ti in 0..<t { a[ti] = 1 / Float(t) }
            }
            let o = out + bi * w
            o.update(repeating: 0, count: w)
            for ti in 0..<t {
                let f = frames + (bi * t + ti) * w
                for j in 0..<w { o[j] += a[ti] * f[j] }
            }
        }
    }

    /// `dFrames (B·T, W)` (written) from `dOut (B, W)`, and for attention pooling `dQuery (W) +=` its gradient:
    /// with g_t = dOut·f_t and ds_t = a_t·(g_t − Σ_u a_u·g_u), df_t = a_t·dOut + ds_t·q/√W and dq = Σ_t ds_t·f_t/√W.
    func backward(_ dOut: UnsafePointer<Float>, frames: UnsafePointer<Float>, weights: UnsafePointer<Float>, clips b: Int,
                  frames t: Int, width w: Int, dFrames: UnsafeMutablePointer<Float>, dQuery: UnsafeMutablePointer<Float>?) {
        let scale = 1 / Float(w).squareRoot()
        for bi in 0..<b {
            let a = weights + bi * t, d = dOut + bi * w
            var ds = [Float](repeating: 0, count: t)  // (T) d(loss)/d(logit_t)
            if query != nil {
                var g = [Float](repeating: 0, count: t), mean: Float = 0  // (T) dOut·f_t
                for ti in 0..<t {
                    let f = frames + (bi * t + ti) * w
                    for j in 0..<w { g[ti] += d[j] * f[j] }
                    mean += a[ti] * g[ti]
                }
                for ti in 0..<t { ds[ti] = a[ti] * (g[ti] - mean) }
            }
            for ti in 0..<t {
                let f = frames + (bi * t + ti) * w, df = dFrames + (bi * t + ti) * w
                for j in 0..<w { df[j] = a[ti] * d[j] }
                if let q = query?.data, let dQuery {
                    for j in 0..<w {
                        df[j] += ds[ti] * q[j] * scale
                        dQuery[j] += ds[ti] * f[j] * scale
                    }
                }
            }
        }
    }
}
