// The bf16 path: the precision switch and fp32 → bf16 conversion of activations (round to nearest even), into
// arena buffers so concurrent calls share nothing.
import CKernels

/// Storage format of matrix-multiply inputs.
public enum Precision: String, Sendable, CaseIterable, Codable {
    /// fp32 everywhere: results equal PyTorch fp32 to float rounding.
    case fp32
    /// Matrix products (Linear layers, and the attention products q·kᵀ and P·v with their backward) take bf16
    /// inputs and accumulate in fp32 (AVX512-BF16); about twice the matrix throughput, with logits that differ from
    /// fp32 at the 1e-2 relative level. Norms, softmax, GELU, master weights and the optimiser stay fp32.
    case bf16
}

extension Precision {
    /// Throws when this CPU cannot run the precision (bf16 needs AVX512-BF16 or AMX).
    public func checkSupported() throws {
        if self == .bf16 && !DNNL.supportsBF16 {
            throw SparseTuningError("bf16 precision needs a CPU with AVX512-BF16 or AMX, and oneDNN found none on this one; use fp32")
        }
    }
}

enum BF16 {
    /// `dst[i] = bf16(src[i])` for `count` floats, rounding to nearest even (NaN stays NaN). Lock-free; the
    /// per-chunk work is the C kernel `st_f32_to_bf16` (AVX512-BF16 where available).
    static func convert(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
        parallelFor(count / 16 + 1, minChunk: 4096) { c0, c1 in
            let s = c0 * 16, e = min(count, c1 * 16)
            if s < e { st_f32_to_bf16(src + s, dst + s, e - s) }
        }
    }

    /// A bf16 copy of `count` floats in `arena`, or without one in a buffer of its own (as raw bytes for a bf16
    /// matmul operand).
    static func copy(_ src: UnsafePointer<Float>, count: Int, arena: Arena?) -> Tensor {
        let shape = [(count + 1) / 2]  // (⌈count/2⌉) floats holding count bf16 values
        let t = arena?.tensor(shape) ?? Tensor(uninitialized: shape)
        convert(src, UnsafeMutableRawPointer(t.data).assumingMemoryBound(to: UInt16.self), count: count)
        return t
    }
}
