// Thread count and the parallel-for used by the element-wise kernels (softmax, LayerNorm, GELU, adds). Loops run
// on oneDNN's OpenMP thread team, so kernels and matrix multiplies never compete for cores.
import CDNNL
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide compute settings, set by the application (the CLI's `--threads`), never by the library itself.
public enum Compute {
    private static let _threads = Atomic<Int>(defaultThreads)

    /// Number of logical CPUs available.
    public static var defaultThreads: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Threads used by oneDNN and by the Swift kernels. Set before running a model.
    public static var threads: Int {
        get { _threads.load(ordering: .relaxed) }
        set {
            _threads.store(max(1, newValue), ordering: .relaxed)
            omp_set_num_threads(Int32(max(1, newValue)))
        }
    }
}

/// Runs `body(start, end)` over `0..<count` split into contiguous chunks, one per OpenMP thread
/// (`Compute.threads` of them). Work smaller than `minChunk` items per thread runs inline on the caller.
@inline(__always)
func parallelFor(_ count: Int, minChunk: Int = 1, _ body: (Int, Int) -> Void) {
    let chunks = min(Compute.threads, max(1, count / max(minChunk, 1)))
    if chunks <= 1 {
        body(0, count)
        return
    }
    withoutActuallyEscaping(body) { body in
        var job = ParallelJob(body: body, count: count, chunks: chunks, per: (count + chunks - 1) / chunks)
        withUnsafeMutablePointer(to: &job) { p in
            GOMP_parallel({ raw in
                let job = raw!.assumingMemoryBound(to: ParallelJob.self).pointee
                // The team may be smaller than asked for (nested regions, thread limits): stride over the chunks.
                for c in stride(from: Int(omp_get_thread_num()), to: job.chunks, by: max(1, Int(omp_get_num_threads()))) {
                    let s = c * job.per, e = min(job.count, s + job.per)
                    if s < e { job.body(s, e) }
                }
            }, p, UInt32(chunks), 0)
        }
    }
}

/// What one parallel region runs: `chunks` chunks of `per` items, chunk t on OpenMP thread t.
private struct ParallelJob {
    let body: (Int, Int) -> Void
    let count: Int
    let chunks: Int
    let per: Int
}
