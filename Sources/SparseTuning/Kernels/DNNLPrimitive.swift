// A created oneDNN primitive with one memory object per execution argument, and the process-wide cache of them by
// shape: the runner behind the convolution, deconvolution, batch-normalisation and pooling ops (the matmuls keep
// their own, `MatmulCache`).
import CDNNL
import Synchronization

/// Execution-argument indices (DNNL_ARG_* in dnnl_types.h, oneDNN 2.x).
enum DNNLArg {
    static let src: Int32 = 1, dst: Int32 = 17, weights: Int32 = 33, bias: Int32 = 41
    static let mean: Int32 = 49, variance: Int32 = 50, scale: Int32 = 51, shift: Int32 = 52
    static let workspace: Int32 = 64, scratchpad: Int32 = 80
    static let diffSrc: Int32 = 129, diffDst: Int32 = 145, diffWeights: Int32 = 161, diffBias: Int32 = 169
    static let diffScale: Int32 = 255, diffShift: Int32 = 256
}

/// A pointer bound to one execution argument.
struct DNNLBinding {
    let arg: Int32
    let pointer: UnsafeRawPointer
    init(_ arg: Int32, _ p: UnsafePointer<Float>) { self.arg = arg; pointer = UnsafeRawPointer(p) }
    init(_ arg: Int32, _ p: UnsafeMutablePointer<Float>) { self.arg = arg; pointer = UnsafeRawPointer(p) }
}

/// One primitive and a memory object for each of its arguments (layouts as the primitive descriptor reports them:
/// the plain NCHW layouts the ops ask for). `run` binds pointers and executes synchronously.
final class DNNLPrimitive: @unchecked Sendable {
    let primitive: dnnl_primitive_t
    private let memories: [Int32: dnnl_memory_t]
    private let scratchpadBytes: Int
    private let scratchpad: dnnl_memory_t?
    /// Bytes of the workspace the primitive writes (max pooling's argmax in training); 0 when it has none.
    let workspaceBytes: Int

    /// `describe(attr)` creates the primitive descriptor (with `attr`, which asks for a user scratchpad); `args` are
    /// the execution arguments bound at each run with their memory descriptors; `workspace` adds the workspace
    /// argument with the descriptor the primitive reports.
    init(args: [Int32: dnnl_memory_desc_t], workspace: Bool = false,
         _ describe: (dnnl_primitive_attr_t?) -> dnnl_primitive_desc_t) {
        let dnnl = DNNL.shared
        var attr: dnnl_primitive_attr_t?
        DNNL.check(dnnl_primitive_attr_create(&attr), "primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attr) }
        DNNL.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
        let pd = describe(attr)
        defer { dnnl_primitive_desc_destroy(pd) }
        var mems: [Int32: dnnl_memory_t] = [:]
        for (a, md) in args { mems[a] = dnnl.memory(md) }
        var ws = dnnl_primitive_desc_query_md(pd, dnnl_query_workspace_md, 0)!.pointee
        workspaceBytes = dnnl_memory_desc_get_size(&ws)
        if workspace { mems[DNNLArg.workspace] = dnnl.memory(ws) }
        memories = mems
        var scratchMD = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)!.pointee
        scratchpadBytes = dnnl_memory_desc_get_size(&scratchMD)
        scratchpad = scratchpadBytes > 0 ? dnnl.memory(scratchMD) : nil
        var p: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&p, pd), "primitive_create")
        primitive = p!
    }

    /// Binds every argument (each one given in `init`) and runs, under the lock the matmuls share (one stream, one
    /// scratchpad).
    func run(_ bindings: [DNNLBinding]) {
        SharedScratchpad.lock.lock()
        defer { SharedScratchpad.lock.unlock() }
        var args: [dnnl_exec_arg_t] = []
        for b in bindings {
            let a = b.arg, ptr = b.pointer
            guard let m = memories[a] else { preconditionFailure("oneDNN argument \(a) not declared") }
            DNNL.set(m, ptr)
            args.append(dnnl_exec_arg_t(arg: a, memory: m))
        }
        if let scratchpad {
            DNNL.set(scratchpad, SharedScratchpad.buffer.reserve(scratchpadBytes))
            args.append(dnnl_exec_arg_t(arg: DNNLArg.scratchpad, memory: scratchpad))
        }
        let dnnl = DNNL.shared
        DNNL.check(dnnl_primitive_execute(primitive, dnnl.stream, Int32(args.count), &args), "primitive execute")
        DNNL.check(dnnl_stream_wait(dnnl.stream), "stream_wait")
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        for m in memories.values { dnnl_memory_destroy(m) }
        if let scratchpad { dnnl_memory_destroy(scratchpad) }
    }

    /// Creates a primitive descriptor from an operation descriptor (`hint`: the forward descriptor a backward
    /// primitive needs).
    static func describe<D>(_ desc: inout D, _ attr: dnnl_primitive_attr_t?, hint: dnnl_primitive_desc_t? = nil,
                            _ what: String) -> dnnl_primitive_desc_t {
        var pd: dnnl_primitive_desc_t?
        DNNL.check(withUnsafePointer(to: &desc) { dnnl_primitive_desc_create(&pd, $0, attr, DNNL.shared.engine, hint) },
                   "\(what) primitive_desc_create")
        return pd!
    }
}

/// Process-wide cache of the primitives by a key naming the operation and its shapes (creating a primitive costs far
/// more than running it).
enum DNNLPrimitiveCache {
    private static let cache = Mutex<[String: DNNLPrimitive]>([:])

    static func primitive(_ key: String, make: () -> DNNLPrimitive) -> DNNLPrimitive {
        cache.withLock { cache in
            if let p = cache[key] { return p }
            let p = make()
            cache[key] = p
            return p
        }
    }
}
