// Multi-head self-attention as timm's `Attention`: fused qkv Linear, per-head softmax(q·kᵀ·d^-½)·v, output `proj`.
import Synchronization

/// timm `Attention`: `qkv` Linear C→3C with bias, `heads` heads of C/heads, `proj` Linear C→C.
public final class Attention: Sendable {
    public let dim: Int
    public let heads: Int
    public var headDim: Int { dim / heads }
    public let qkv: Linear
    public let proj: Linear
    /// Precision of the attention products q·kᵀ and P·v (forward and backward).
    public var precision: Precision {
        get { precisionSetting.withLock { $0 } }
        set { precisionSetting.withLock { $0 = newValue } }
    }
    private let precisionSetting = Mutex(Precision.fp32)

    public init(dim: Int, heads: Int) {
        self.dim = dim
        self.heads = heads
        qkv = Linear(inFeatures: dim, outFeatures: 3 * dim)
        proj = Linear(inFeatures: dim, outFeatures: dim)
    }

    /// `probs (B, H, N, N)` = softmax(scale · q·kᵀ + keyBias), q and k strided views into `qkv (B, N, 3C)` (fp32, or
    /// its bf16 copy for a bf16 product). `keyBias (B, N)` (ToMe's log token sizes) is added to every query's logit
    /// for that key.
    func probabilities(qkv: MatrixInput, batch b: Int, tokens n: Int, keyBias: UnsafePointer<Float>? = nil,
                       into probs: UnsafeMutablePointer<Float>) {
        let c = dim, d = headDim
        let scores = MatmulSpec(aDims: [b, heads, n, d], aStrides: [n * 3 * c, d, 3 * c, 1],
                                bDims: [b, heads, d, n], bStrides: [n * 3 * c, d, 1, 3 * c],
                                cDims: [b, heads, n, n], cStrides: [heads * n * n, n * n, n, 1],
                                scale: 1 / Float(d).squareRoot(), bf16: qkv.bf16)
        MatmulCache.primitive(scores).run(a: qkv.base, b: qkv.at(c), c: probs)
        if let keyBias {
            for bi in 0..<b {
                for r in 0..<(heads * n) {
                    let row = probs + (bi * heads * n + r) * n
                    for j in 0..<n { row[j] += keyBias[bi * n + j] }
                }
            }
        }
        Softmax.forward(probs, rows: b * heads * n, n: n)
    }

    /// `context (B, N, C)` = probs (B, H, N, N) · v, heads written interleaved; both inputs fp32 or both bf16.
    func mix(probs: MatrixInput, qkv: MatrixInput, batch b: Int, tokens n: Int,
             into context: UnsafeMutablePointer<Float>) {
        precondition(probs.bf16 == qkv.bf16, "attention mix: operands of one precision")
        let c = dim, d = headDim
        let spec = MatmulSpec(aDims: [b, heads, n, n], aStrides: [heads * n * n, n * n, n, 1],
                              bDims: [b, heads, n, d], bStrides: [n * 3 * c, d, 3 * c, 1],
                              cDims: [b, heads, n, d], cStrides: [n * c, d, c, 1], bf16: qkv.bf16)
        MatmulCache.primitive(spec).run(a: probs.base, b: qkv.at(2 * c), c: context)
    }
}
