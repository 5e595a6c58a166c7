// Linear layer (PyTorch nn.Linear): y = x·Wᵀ + b through oneDNN, with frozen weights packed once per layout.
import CDNNL
import Synchronization

/// `y = x·Wᵀ + b` with `weight` (out, in) and `bias` (out), the PyTorch layout and names.
///
/// Frozen weights are re-laid out once into oneDNN's preferred blocked format and reused for every call;
/// call ``weightsChanged()`` after modifying `weight` in place so the packed copy is rebuilt.
public final class Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    /// (out, in)
    public let weight: Tensor
    /// (out), or nil for a Linear without bias.
    public let bias: Tensor?

    /// The settings and the packed copies of `weight`, behind one lock (concurrent calls pack once).
    private struct State {
        var precision: Precision = .fp32
        var prepack = true
        /// Copies of `weight` in the layouts products asked for, keyed by the packed layout and by whether it holds
        /// W (input gradients) or Wᵀ (forward): a square matrix packs both to equal descriptors.
        var packed: [(descriptor: dnnl_memory_desc_t, transposed: Bool, buffer: UnsafeMutableRawPointer)] = []

        mutating func dropPacked() {
            for p in packed { p.buffer.deallocate() }
            packed.removeAll()
        }
    }
    private let state = Mutex(State())

    /// Input precision of `forward`; changing it re-packs the weights on the next call.
    public var precision: Precision {
        get { state.withLock { $0.precision } }
        set { state.withLock { s in if s.precision != newValue { s.precision = newValue; s.dropPacked() } } }
    }

    /// Keep a copy of the weights in oneDNN's blocked layout (≈5% faster fp32 products). Off, fp32 products read
    /// `weight` in place, which halves the memory of frozen layers (training); bf16 always packs.
    public var prepack: Bool {
        get { state.withLock { $0.prepack } }
        set { state.withLock { s in s.prepack = newValue; if !newValue { s.dropPacked() } } }
    }

    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weight = Tensor(zeros: [outFeatures, inFeatures])
        self.bias = bias ? Tensor(zeros: [outFeatures]) : nil
    }

    deinit { weightsChanged() }

    /// Drops the packed copies of `weight`; the next call packs again.
    public func weightsChanged() {
        state.withLock { $0.dropPacked() }
    }

    /// `y (rows, out) = x (rows, in)·Wᵀ + b`, or `y += …` with `accumulate` (a fused residual add); with
    /// `activation`, that activation applied to the result inside the product (inference; oneDNN's kernels agree with
    /// ``Activation``'s to about 1e-7).
    /// With bf16 precision the input's bf16 copy comes from `arena` (or a buffer of its own without one).
    func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                 activation: Activation? = nil, arena: Arena? = nil) {
        let (bf16, packed) = state.withLock { ($0.precision == .bf16, $0.prepack || $0.precision == .bf16) }
        let spec = MatmulSpec(aDims: [rows, inFeatures], aStrides: [inFeatures, 1],
                              bDims: [inFeatures, outFeatures], bStrides: [1, inFeatures],
                              cDims: [rows, outFeatures], cStrides: [outFeatures, 1],
                              bias: bias != nil, accumulate: accumulate, activation: activation, packedB: packed, bf16: bf16)
        let prim = MatmulCache.primitive(spec)
        let weights = packed ? packedWeights(prim.weightsDescriptor) : UnsafeRawPointer(weight.data)
        guard bf16 else { return prim.run(a: x, b: weights, bias: bias?.data, c: y) }
        Self.withBF16(x, count: rows * inFeatures, arena: arena) { prim.run(a: $0, b: weights, bias: bias?.data, c: y) }
    }

    /// `dx (rows, in) (+)= dy (rows, out)·W` — the input gradient (frozen or trainable layer).
    /// With bf16 precision the product takes bf16 copies of dy and W (a second packed layout), fp32 out.
    func backwardInput(_ dy: UnsafePointer<Float>, rows: Int, into dx: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                       arena: Arena? = nil) {
        guard precision == .bf16 else {
            return Matmul.ab(dy, weight.data, dx, m: rows, n: inFeatures, k: outFeatures, accumulate: accumulate)
        }
        let spec = MatmulSpec(aDims: [rows, outFeatures], aStrides: [outFeatures, 1],
                              bDims: [outFeatures, inFeatures], bStrides: [inFeatures, 1],
                              cDims: [rows, inFeatures], cStrides: [inFeatures, 1],
                              accumulate: accumulate, packedB: true, bf16: true)
        let prim = MatmulCache.primitive(spec)
        let weights = packedWeights(prim.weightsDescriptor,
                                    plain: DNNL.descriptor(dims: [outFeatures, inFeatures], strides: [inFeatures, 1]))
        Self.withBF16(dy, count: rows * outFeatures, arena: arena) { prim.run(a: $0, b: weights, c: dx) }
    }

    /// Runs `body` on a bf16 copy of `count` floats, in `arena` or, without one, in a buffer of its own.
    private static func withBF16(_ x: UnsafePointer<Float>, count: Int, arena: Arena?, _ body: (UnsafeRawPointer) -> Void) {
        let copy = BF16.copy(x, count: count, arena: arena)
        withExtendedLifetime(copy) { body(copy.data) }
    }

    /// `dW (out, in) += dyᵀ·x`, `db (out) += Σ_rows dy` — only for trainable layers.
    func backwardWeights(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, rows: Int,
                         dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?) {
        Matmul.aTb(dy, x, dWeight, m: outFeatures, n: inFeatures, k: rows, accumulate: true)
        if let dBias {
            let n = outFeatures
            parallelFor(n, minChunk: 16) { c0, c1 in
                for r in 0..<rows {
                    let g = dy + r * n
                    for j in c0..<c1 { dBias[j] += g[j] }
                }
            }
        }
    }

    /// `weight` in the layout `descriptor` (built once by a reorder from `plain`, its view as the product's B:
    /// by default (in, out) with strides (1, in), i.e. Wᵀ for the forward pass).
    private func packedWeights(_ descriptor: dnnl_memory_desc_t,
                               plain: dnnl_memory_desc_t? = nil) -> UnsafeRawPointer {
        state.withLock { s in
            var d = descriptor
            let transposed = plain == nil  // the forward's B is Wᵀ; an explicit `plain` view is W itself
            for p in s.packed where p.transposed == transposed {
                var pd = p.descriptor
                if dnnl_memory_desc_equal(&pd, &d) != 0 { return UnsafeRawPointer(p.buffer) }
            }
            let size = dnnl_memory_desc_get_size(&d)
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 64), alignment: 64)
            let source = plain ?? DNNL.descriptor(dims: [inFeatures, outFeatures], strides: [1, inFeatures])
            DNNL.shared.reorder(from: source, weight.data, to: descriptor, buffer)
            s.packed.append((descriptor, transposed, buffer))
            return UnsafeRawPointer(buffer)
        }
    }

}
