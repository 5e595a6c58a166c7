// Batched strided matrix multiply through oneDNN (fp32, or bf16 inputs with fp32 accumulation and output), with
// primitives cached per shape and optional pre-packed weights.
import CDNNL
import Foundation
import Synchronization

/// One matrix multiply `C = scale · A·B (+ bias) (+ C if accumulate)` over up to 4 dims (leading dims are batch
/// dims, broadcast where 1). Strides are in elements, so views into larger buffers (heads inside a qkv row) need
/// no copies. With `packedB` the B layout is left to oneDNN and B must be given in that packed layout.
struct MatmulSpec: Hashable {
    var aDims: [Int], aStrides: [Int]
    var bDims: [Int], bStrides: [Int]
    var cDims: [Int], cStrides: [Int]
    var bias = false
    var scale: Float = 1
    var accumulate = false
    /// Activation applied to the result (after bias and accumulation): exact GELU or QuickGELU (oneDNN's swish
    /// x·σ(αx) with α = 1.702).
    var activation: Activation?
    var packedB = false
    /// Inputs A and B in bf16 (C, bias and accumulation stay fp32).
    var bf16 = false
}

/// A matrix-product input: fp32 values, or their bf16 copy (`bf16`), addressed in elements either way.
struct MatrixInput {
    let base: UnsafeRawPointer
    let bf16: Bool

    /// fp32 values.
    init(_ p: UnsafePointer<Float>) { base = UnsafeRawPointer(p); bf16 = false }

    /// `t` as is, or (for a bf16 product) a bf16 copy of it made in `arena`, valid until the arena's next boundary.
    init(_ t: Tensor, bf16: Bool, arena: Arena) {
        self.bf16 = bf16
        base = bf16 ? UnsafeRawPointer(BF16.copy(t.data, count: t.count, arena: arena).data) : UnsafeRawPointer(t.data)
    }

    /// The address of element `offset`.
    func at(_ offset: Int) -> UnsafeRawPointer { base + offset * (bf16 ? 2 : 4) }
}

/// A created oneDNN matmul primitive with its memory objects; `run` binds pointers and executes synchronously.
final class MatmulPrimitive: @unchecked Sendable {
    let primitive: dnnl_primitive_t
    let weightsDescriptor: dnnl_memory_desc_t
    private let a, b, c: dnnl_memory_t
    private let biasMemory: dnnl_memory_t?
    /// Bytes of temporary memory the primitive needs; it borrows them from ``SharedScratchpad`` at each run.
    private let scratchpadBytes: Int
    private let scratchpad: dnnl_memory_t?

    /// Products below this many multiply-accumulates run on one thread: waking the OpenMP team costs more than
    /// it saves (adapters, small models), and a busy machine makes the wake-up slower still.
    static let singleThreadMACs = 8 << 20

    init(_ spec: MatmulSpec) {
        let dnnl = DNNL.shared
        // oneDNN fixes a primitive's thread count when it is created; create small ones on a one-thread team.
        let macs = spec.cDims.reduce(1, *) * spec.aDims.last!
        let threads = Compute.threads
        if macs < Self.singleThreadMACs && threads > 1 { omp_set_num_threads(1) }
        defer { if macs < Self.singleThreadMACs && threads > 1 { omp_set_num_threads(Int32(threads)) } }
        let inType = spec.bf16 ? dnnl_bf16 : dnnl_f32
        var aMD = DNNL.descriptor(dims: spec.aDims, strides: spec.aStrides, type: inType)
        var bMD = spec.packedB ? DNNL.anyDescriptor(dims: spec.bDims, type: inType)
                               : DNNL.descriptor(dims: spec.bDims, strides: spec.bStrides, type: inType)
        var cMD = DNNL.descriptor(dims: spec.cDims, strides: spec.cStrides)
        var biasDims = [Int](repeating: 1, count: spec.cDims.count)
        biasDims[biasDims.count - 1] = spec.cDims.last!
        var biasMD = DNNL.descriptor(dims: biasDims, strides: DNNL.contiguousStrides(biasDims))
        var desc = dnnl_matmul_desc_t()
        let status = spec.bias ? dnnl_matmul_desc_init(&desc, &aMD, &bMD, &biasMD, &cMD)
                               : dnnl_matmul_desc_init(&desc, &aMD, &bMD, nil, &cMD)
        DNNL.check(status, "matmul_desc_init")

        var attr: dnnl_primitive_attr_t?
        DNNL.check(dnnl_primitive_attr_create(&attr), "primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attr) }
        // One scratchpad shared by all primitives instead of one held by each (hundreds of shapes in training).
        DNNL.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
        if spec.scale != 1 {
            var s = spec.scale
            DNNL.check(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &s), "set_output_scales")
        }
        if spec.accumulate || spec.activation != nil {
            var po: dnnl_post_ops_t?
            DNNL.check(dnnl_post_ops_create(&po), "post_ops_create")
            defer { dnnl_post_ops_destroy(po) }
            if spec.accumulate { DNNL.check(dnnl_post_ops_append_sum(po, 1), "post_ops_append_sum") }
            switch spec.activation {
            case .gelu?: DNNL.check(dnnl_post_ops_append_eltwise(po, 1, dnnl_eltwise_gelu_erf, 0, 0), "post_ops_append_eltwise")
            case .quickGELU?:
                DNNL.check(dnnl_post_ops_append_eltwise(po, 1, dnnl_eltwise_swish, Activation.quickGELUAlpha, 0), "post_ops_append_eltwise")
            case nil: break
            }
            DNNL.check(dnnl_primitive_attr_set_post_ops(attr, po), "set_post_ops")
        }
        var pd: dnnl_primitive_desc_t?
        DNNL.check(withUnsafePointer(to: &desc) { dnnl_primitive_desc_create(&pd, $0, attr, dnnl.engine, nil) },
                   "matmul primitive_desc_create \(spec)")
        defer { dnnl_primitive_desc_destroy(pd) }
        weightsDescriptor = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)!.pointee
        var scratchMD = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)!.pointee
        scratchpadBytes = dnnl_memory_desc_get_size(&scratchMD)
        scratchpad = scratchpadBytes > 0 ? dnnl.memory(scratchMD) : nil
        var p: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&p, pd), "matmul primitive_create")
        primitive = p!
        a = dnnl.memory(aMD)
        b = dnnl.memory(weightsDescriptor)
        c = dnnl.memory(cMD)
        biasMemory = spec.bias ? dnnl.memory(biasMD) : nil
    }

    /// Binds the operands and runs. The primitive's memory objects and the scratchpad are shared by every caller,
    /// so binding and running happen under one lock.
    func run(a aPtr: UnsafeRawPointer, b bPtr: UnsafeRawPointer, bias biasPtr: UnsafeRawPointer? = nil,
             c cPtr: UnsafeMutableRawPointer) {
        SharedScratchpad.lock.lock()
        defer { SharedScratchpad.lock.unlock() }
        DNNL.set(a, aPtr)
        DNNL.set(b, bPtr)
        DNNL.set(c, cPtr)
        var args = [dnnl_exec_arg_t(arg: DNNL.Arg.src, memory: a),
                    dnnl_exec_arg_t(arg: DNNL.Arg.weights, memory: b),
                    dnnl_exec_arg_t(arg: DNNL.Arg.dst, memory: c)]
        if let biasMemory, let biasPtr {
            DNNL.set(biasMemory, biasPtr)
            args.append(dnnl_exec_arg_t(arg: DNNL.Arg.bias, memory: biasMemory))
        }
        let dnnl = DNNL.shared
        if let scratchpad {
            DNNL.set(scratchpad, SharedScratchpad.buffer.reserve(scratchpadBytes))
            args.append(dnnl_exec_arg_t(arg: DNNL.Arg.scratchpad, memory: scratchpad))
        }
        DNNL.check(dnnl_primitive_execute(primitive, dnnl.stream, Int32(args.count), &args), "matmul execute")
        DNNL.check(dnnl_stream_wait(dnnl.stream), "stream_wait")
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_memory_destroy(a); dnnl_memory_destroy(b); dnnl_memory_destroy(c)
        if let biasMemory { dnnl_memory_destroy(biasMemory) }
        if let scratchpad { dnnl_memory_destroy(scratchpad) }
    }
}

/// The temporary buffer all matmul primitives share (they run one at a time).
enum SharedScratchpad {
    static let buffer = ScratchBuffer()
    static let lock = NSLock()
}

/// Process-wide cache of matmul primitives keyed by their spec (creating one costs far more than running it).
enum MatmulCache {
    private static let cache = Mutex<[MatmulSpec: MatmulPrimitive]>([:])

    static func primitive(_ spec: MatmulSpec) -> MatmulPrimitive {
        cache.withLock { cache in
            if let p = cache[spec] { return p }
            let p = MatmulPrimitive(spec)
            cache[spec] = p
            return p
        }
    }
}

/// Plain row-major GEMM helpers over flat buffers.
enum Matmul {
    /// `c (M,N) [+]= a (M,K) · bᵀ` where `b` is (N,K) row-major, the PyTorch Linear weight layout.
    static func abT(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                    m: Int, n: Int, k: Int, accumulate: Bool = false) {
        let spec = MatmulSpec(aDims: [m, k], aStrides: [k, 1], bDims: [k, n], bStrides: [1, k],
                              cDims: [m, n], cStrides: [n, 1], accumulate: accumulate)
        MatmulCache.primitive(spec).run(a: a, b: b, c: c)
    }

    /// `c (M,N) [+]= a (M,K) · b (K,N)`.
    static func ab(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                   m: Int, n: Int, k: Int, accumulate: Bool = false) {
        let spec = MatmulSpec(aDims: [m, k], aStrides: [k, 1], bDims: [k, n], bStrides: [n, 1],
                              cDims: [m, n], cStrides: [n, 1], accumulate: accumulate)
        MatmulCache.primitive(spec).run(a: a, b: b, c: c)
    }

    /// `c (M,N) [+]= aᵀ · b` where `a` is (K,M) and `b` is (K,N) — the weight gradient dyᵀ·x.
    static func aTb(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                    m: Int, n: Int, k: Int, accumulate: Bool = false) {
        let spec = MatmulSpec(aDims: [m, k], aStrides: [1, m], bDims: [k, n], bStrides: [n, 1],
                              cDims: [m, n], cStrides: [n, 1], accumulate: accumulate)
        MatmulCache.primitive(spec).run(a: a, b: b, c: c)
    }
}

/// A growable scratch buffer reused across calls (the matmul primitives' shared scratchpad).
final class ScratchBuffer: @unchecked Sendable {
    private(set) var pointer: UnsafeMutableRawPointer?
    private var capacity = 0

    /// At least `bytes` bytes, 64-byte aligned; contents undefined.
    func reserve(_ bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > capacity || pointer == nil {
            pointer?.deallocate()
            capacity = max(bytes, 64)
            pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        }
        return pointer!
    }

    deinit { pointer?.deallocate() }
}
