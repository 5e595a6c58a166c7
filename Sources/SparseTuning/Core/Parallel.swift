// Thread count and the parallel-for used by the element-wise kernels (softmax, LayerNorm, GELU, adds).
import Dispatch
import CDNNL

/// Process-wide compute settings.
public enum Compute {
    nonisolated(unsafe) private static var _threads: Int = defaultThreads

    /// Number of logical CPUs available.
    public static var defaultThreads: Int { max(1, sysconf_nprocessors()) }

    /// Threads used by oneDNN and by the Swift kernels. Set before running a model.
    public static var threads: Int {
        get { _threads }
        set {
            _threads = max(1, newValue)
            omp_set_num_threads(Int32(_threads))
        }
    }
}

private func sysconf_nprocessors() -> Int {
    #if canImport(Glibc)
    return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    #else
    return 1
    #endif
}

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(start, end)` over `0..<count` split into contiguous chunks across `Compute.threads`.
/// Work smaller than `minChunk` items per thread runs inline on the caller.
@inline(__always)
func parallelFor(_ count: Int, minChunk: Int = 1, _ body: (Int, Int) -> Void) {
    let threads = Compute.threads
    let chunks = min(threads, max(1, count / max(minChunk, 1)))
    if chunks <= 1 {
        body(0, count)
        return
    }
    let per = (count + chunks - 1) / chunks
    withoutActuallyEscaping(body) { body in
        let box = UncheckedBox(body)  // the chunks touch disjoint ranges; the caller waits for all of them
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let s = c * per
            let e = min(count, s + per)
            if s < e { box.value(s, e) }
        }
    }
}

/// Carries a non-Sendable value into `concurrentPerform`, whose iterations finish before the caller continues.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
