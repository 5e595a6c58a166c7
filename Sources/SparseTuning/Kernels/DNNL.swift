// oneDNN plumbing: the CPU engine and stream, status checks, and memory descriptors for strided fp32 operands.
import CDNNL

/// The process-wide oneDNN CPU engine and in-order stream.
final class DNNL: @unchecked Sendable {
    static let shared = DNNL()
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t

    private init() {
        var e: dnnl_engine_t?
        DNNL.check(dnnl_engine_create(&e, dnnl_cpu, 0), "engine_create")
        engine = e!
        var s: dnnl_stream_t?
        DNNL.check(dnnl_stream_create(&s, engine, UInt32(dnnl_stream_default_flags.rawValue)), "stream_create")
        stream = s!
    }

    /// Whether this CPU runs bf16 matrix products (AVX512-BF16 or AMX): asked once by creating a small bf16 matmul.
    static let supportsBF16: Bool = {
        var a = descriptor(dims: [16, 32], strides: [32, 1], type: dnnl_bf16)
        var b = descriptor(dims: [32, 16], strides: [16, 1], type: dnnl_bf16)
        var c = descriptor(dims: [16, 16], strides: [16, 1])
        var desc = dnnl_matmul_desc_t()
        guard dnnl_matmul_desc_init(&desc, &a, &b, nil, &c) == dnnl_success else { return false }
        var pd: dnnl_primitive_desc_t?
        let status = withUnsafePointer(to: &desc) { dnnl_primitive_desc_create(&pd, $0, nil, shared.engine, nil) }
        if pd != nil { dnnl_primitive_desc_destroy(pd) }
        return status == dnnl_success
    }()

    /// oneDNN failures here are programming errors (shapes are validated before any call, and bf16 support is
    /// checked when the precision is chosen), so they stop the process with oneDNN's status.
    static func check(_ status: dnnl_status_t, _ what: String) {
        precondition(status == dnnl_success, "oneDNN \(what) failed with status \(status.rawValue)")
    }

    /// Argument indices of `dnnl_exec_arg_t` (DNNL_ARG_* in dnnl_types.h).
    enum Arg {
        static let src: Int32 = 1, dst: Int32 = 17, weights: Int32 = 33, bias: Int32 = 41, scratchpad: Int32 = 80
    }

    /// A plain memory descriptor with explicit strides (in elements).
    static func descriptor(dims: [Int], strides: [Int], type: dnnl_data_type_t = dnnl_f32) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }, s = strides.map { Int64($0) }
        check(dnnl_memory_desc_init_by_strides(&md, Int32(d.count), d, type, s), "memory_desc_init_by_strides \(dims)")
        return md
    }

    /// A descriptor whose layout oneDNN may choose (used to pre-pack frozen weights).
    static func anyDescriptor(dims: [Int], type: dnnl_data_type_t = dnnl_f32) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }
        check(dnnl_memory_desc_init_by_tag(&md, Int32(d.count), d, type, dnnl_format_tag_any), "memory_desc_init_by_tag")
        return md
    }

    /// Row-major contiguous strides for `dims`.
    static func contiguousStrides(_ dims: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: dims.count)
        for i in stride(from: dims.count - 2, through: 0, by: -1) { s[i] = s[i + 1] * dims[i + 1] }
        return s
    }

    /// A memory object with no data handle yet; `set(_:_:)` binds a pointer before each execution.
    func memory(_ md: dnnl_memory_desc_t) -> dnnl_memory_t {
        var m: dnnl_memory_t?
        var md = md
        DNNL.check(dnnl_memory_create(&m, &md, engine, nil), "memory_create")
        return m!
    }

    static func set(_ mem: dnnl_memory_t, _ ptr: UnsafeRawPointer) {
        check(dnnl_memory_set_data_handle(mem, UnsafeMutableRawPointer(mutating: ptr)), "set_data_handle")
    }

    /// Copies `src` laid out as `from` into `dst` laid out as `to` (used to pack weights once). One-off: the
    /// primitive is created and destroyed here.
    func reorder(from: dnnl_memory_desc_t, _ src: UnsafeRawPointer, to: dnnl_memory_desc_t, _ dst: UnsafeMutableRawPointer) {
        var f = from, t = to
        var pd: dnnl_primitive_desc_t?
        DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &f, engine, &t, engine, nil), "reorder_primitive_desc_create")
        defer { dnnl_primitive_desc_destroy(pd) }
        var prim: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&prim, pd), "reorder primitive_create")
        defer { dnnl_primitive_destroy(prim) }
        let a = memory(f), b = memory(t)
        defer { dnnl_memory_destroy(a); dnnl_memory_destroy(b) }
        DNNL.set(a, src)
        DNNL.set(b, dst)
        var args = [dnnl_exec_arg_t(arg: Arg.src, memory: a), dnnl_exec_arg_t(arg: Arg.dst, memory: b)]
        SharedScratchpad.lock.lock()  // the stream is shared with the matrix products
        defer { SharedScratchpad.lock.unlock() }
        DNNL.check(dnnl_primitive_execute(prim, stream, 2, &args), "reorder execute")
        DNNL.check(dnnl_stream_wait(stream), "stream_wait")
    }
}
