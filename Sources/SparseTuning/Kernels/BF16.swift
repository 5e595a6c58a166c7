// The bf16 inference path: the precision switch and fp32 → bf16 conversion of activations (a cached oneDNN
// reorder, round to nearest even).
import CDNNL
import Foundation

/// Storage format of matrix-multiply inputs.
public enum Precision: String, Sendable, CaseIterable, Codable {
    /// fp32 everywhere: results equal PyTorch fp32 to float rounding.
    case fp32
    /// Linear layers take bf16 weights and activations and accumulate in fp32 (AVX512-BF16); about twice the
    /// matrix throughput, with logits that differ from fp32 at the 1e-2 relative level. Attention products,
    /// norms, softmax and GELU stay fp32.
    case bf16
}

enum BF16 {
    nonisolated(unsafe) private static var converters: [Int: (primitive: dnnl_primitive_t, src: dnnl_memory_t, dst: dnnl_memory_t)] = [:]
    private static let lock = NSLock()

    /// `dst[i] = bf16(src[i])` for `count` floats.
    static func convert(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
        lock.lock()
        defer { lock.unlock() }
        let c = converters[count] ?? make(count)
        converters[count] = c
        DNNL.set(c.src, src)
        DNNL.set(c.dst, dst)
        var args = [dnnl_exec_arg_t(arg: DNNL.Arg.src, memory: c.src), dnnl_exec_arg_t(arg: DNNL.Arg.dst, memory: c.dst)]
        let dnnl = DNNL.shared
        DNNL.check(dnnl_primitive_execute(c.primitive, dnnl.stream, 2, &args), "bf16 reorder execute")
        DNNL.check(dnnl_stream_wait(dnnl.stream), "stream_wait")
    }

    private static func make(_ count: Int) -> (primitive: dnnl_primitive_t, src: dnnl_memory_t, dst: dnnl_memory_t) {
        let dnnl = DNNL.shared
        var from = DNNL.descriptor(dims: [count], strides: [1])
        var to = DNNL.descriptor(dims: [count], strides: [1], type: dnnl_bf16)
        var pd: dnnl_primitive_desc_t?
        DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &from, dnnl.engine, &to, dnnl.engine, nil), "bf16 reorder desc")
        defer { dnnl_primitive_desc_destroy(pd) }
        var prim: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&prim, pd), "bf16 reorder primitive")
        return (prim!, dnnl.memory(from), dnnl.memory(to))
    }
}

/// A growable scratch buffer reused across calls (bf16 copies of activations).
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
