// The machine's matrix-multiply peak, measured: a short oneDNN probe on a ViT-B-shaped product (fp32, and bf16
// where the CPU can), so benchmarks report a fraction of what this machine reaches today rather than of a figure
// from another machine. Self-contained: its own primitives (not MatmulCache), non-trapping status checks, and
// operands mapped straight from the kernel, not taken from malloc's heap (whose size and mmap threshold the model's
// run would otherwise inherit); what oneDNN allocates inside is trimmed back afterwards.
import CDNNL
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Best matrix-multiply rate of this machine at the current thread count, in real FLOP/s (2 per
/// multiply-accumulate, 2·M·N·K per product) — the convention of ``BenchmarkResult/achievedGflopPerSecond``.
public struct MatmulPeak: Codable, Sendable {
    /// The probed product: A (m, k) · B (k, n), B pre-packed by oneDNN as ``Linear`` packs frozen weights.
    public var m: Int, k: Int, n: Int
    /// Threads of the oneDNN team the probe ran on (``Compute/threads``).
    public var threads: Int
    /// oneDNN's effective instruction set (e.g. `avx512_core_bf16`).
    public var isa: String
    /// Untimed runs before timing, per precision.
    public var warmup: Int
    /// Best (fastest) timed run, fp32 inputs, GFLOP/s.
    public var fp32GFLOPs: Double
    /// Median timed run, fp32, GFLOP/s (how steady the machine was).
    public var fp32MedianGFLOPs: Double
    public var fp32Runs: Int
    /// Best timed run with bf16 inputs (fp32 accumulation and output), GFLOP/s; nil when oneDNN offers no bf16
    /// matmul on this CPU.
    public var bf16GFLOPs: Double?
    public var bf16MedianGFLOPs: Double?
    public var bf16Runs: Int?
    /// Why bf16 was not measured (nil when it was).
    public var bf16Unsupported: String?
    /// CPU seconds (user + system, all threads) per wall second over the timed products: ≈ `threads` when the
    /// probe had the cores to itself, less when another process took some (the peak is then understated).
    public var coresUsed: Double

    /// Whether the probe got noticeably fewer cores than it ran threads (a busy machine).
    public var contended: Bool { coresUsed < 0.9 * Double(threads) }

    /// FLOPs of one probed product, 2·M·N·K.
    public var flopsPerProduct: Double { 2 * Double(m) * Double(n) * Double(k) }

    /// The peak for matrix inputs of `precision` (nil: bf16 not supported).
    public func gflops(for precision: Precision) -> Double? {
        precision == .fp32 ? fp32GFLOPs : bf16GFLOPs
    }

    /// One line for humans: `fp32 452.1 GFLOP/s, bf16 880.3 GFLOP/s` (or `bf16: not supported`), with a warning
    /// when the probe did not get its cores.
    public var summary: String {
        let bf16 = bf16GFLOPs.map { String(format: "bf16 %.1f GFLOP/s", $0) } ?? "bf16: not supported"
        let busy = contended ? String(format: " (busy machine: the probe got %.1f of %d cores, so these are low)",
                                      coresUsed, threads) : ""
        return String(format: "fp32 %.1f GFLOP/s, ", fp32GFLOPs) + bf16 + busy
    }

    /// How the figures were obtained, for a heading.
    public var method: String {
        "\(threads) thread\(threads == 1 ? "" : "s"), oneDNN \(isa), \(m)×\(k) · \(k)×\(n) packed B, "
            + "2·M·N·K FLOPs, best of \(fp32Runs)\(bf16Runs.map { "/\($0)" } ?? "") runs"
    }

    /// Measures the peak: creates the fp32 and bf16 matmul primitives (bf16 failing is reported as unsupported,
    /// not fatal), runs `warmup` untimed products of each, then times products in `rounds` alternating rounds
    /// (fp32, bf16, fp32, …) of `seconds / rounds` per precision, at least `minRuns` runs each, so a passing
    /// burst of load on a shared machine does not hit one precision only. The peak is the best run. The default
    /// ViT-B fc1 shape at batch 8 (197·8 tokens) takes ≈ 0.5–1 s in all on 2 cores. Throws only when the fp32
    /// product itself fails.
    public static func measure(m: Int = 197 * 8, k: Int = 768, n: Int = 3072, warmup: Int = 2,
                               seconds: Double = 0.25, minRuns: Int = 5, rounds: Int = 3) throws -> MatmulPeak {
        guard m > 0, k > 0, n > 0, warmup >= 0, minRuns >= 1, seconds >= 0, rounds >= 1 else {
            throw SparseTuningError("matmul peak probe: shape must be positive, warm-up ≥ 0, runs ≥ 1, seconds ≥ 0, rounds ≥ 1")
        }
        let a = try ProbeBuffer(bytes: m * k * 4), b = try ProbeBuffer(bytes: k * n * 4), c = try ProbeBuffer(bytes: m * n * 4)
        defer {
            a.release(); b.release(); c.release()
            #if canImport(Glibc)
            malloc_trim(0)  // what oneDNN allocated inside the products (packing buffers on AVX2) goes back too
            #endif
        }
        fill(a.pointer.assumingMemoryBound(to: Float.self), count: m * k, seed: 1)
        fill(b.pointer.assumingMemoryBound(to: Float.self), count: k * n, seed: 2)
        var products: [ProbeProduct] = []
        do {
            products.append(try ProbeProduct(m: m, k: k, n: n, bf16: false, a: a.pointer, b: b.pointer, c: c.pointer))
            for _ in 0..<warmup { try products[0].run() }
        } catch let e as ProbeFailure {
            throw SparseTuningError("matmul peak probe: oneDNN \(e.what) failed (\(e.statusName))")
        }
        var unsupported: String?
        do {
            let p = try ProbeProduct(m: m, k: k, n: n, bf16: true, a: a.pointer, b: b.pointer, c: c.pointer)
            for _ in 0..<warmup { try p.run() }
            products.append(p)
        } catch let e as ProbeFailure {
            unsupported = "oneDNN \(e.what): \(e.statusName)"
        }
        var times = [[Double]](repeating: [], count: products.count)
        let cpu0 = CPUTime.now(), wall0 = DispatchTime.now().uptimeNanoseconds
        let slice = seconds / Double(rounds)
        for round in 0..<rounds {
            let runs = (minRuns * (round + 1) + rounds - 1) / rounds  // cumulative, reaching minRuns at the end
            for (i, p) in products.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                while times[i].count < runs || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < slice {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    do { try p.run() } catch let e as ProbeFailure {
                        throw SparseTuningError("matmul peak probe: oneDNN \(e.what) failed (\(e.statusName))")
                    }
                    times[i].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                }
            }
        }
        let cpu1 = CPUTime.now(), wall = Double(DispatchTime.now().uptimeNanoseconds - wall0) / 1e9
        let cores = wall > 0 ? (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall : 0
        let flops = 2 * Double(m) * Double(n) * Double(k)
        let rate = { (t: Double) in flops / t / 1e9 }
        let fp32 = times[0], bf16 = times.count > 1 ? times[1] : nil
        return MatmulPeak(m: m, k: k, n: n, threads: Compute.threads, isa: effectiveISA(), warmup: warmup,
                          fp32GFLOPs: rate(fp32.min()!), fp32MedianGFLOPs: rate(median(fp32)), fp32Runs: fp32.count,
                          bf16GFLOPs: bf16.map { rate($0.min()!) }, bf16MedianGFLOPs: bf16.map { rate(median($0)) },
                          bf16Runs: bf16?.count, bf16Unsupported: unsupported, coresUsed: cores)
    }

    enum CodingKeys: String, CodingKey {
        case m, k, n, threads, isa, warmup
        case fp32GFLOPs = "fp32_gflop_per_s", fp32MedianGFLOPs = "fp32_median_gflop_per_s", fp32Runs = "fp32_runs"
        case bf16GFLOPs = "bf16_gflop_per_s", bf16MedianGFLOPs = "bf16_median_gflop_per_s", bf16Runs = "bf16_runs"
        case bf16Unsupported = "bf16_unsupported", coresUsed = "cores_used", contended
        case statistic, flopConvention = "flop_convention"
    }

    public init(m: Int, k: Int, n: Int, threads: Int, isa: String, warmup: Int, fp32GFLOPs: Double,
                fp32MedianGFLOPs: Double, fp32Runs: Int, bf16GFLOPs: Double?, bf16MedianGFLOPs: Double?,
                bf16Runs: Int?, bf16Unsupported: String?, coresUsed: Double) {
        self.m = m; self.k = k; self.n = n; self.threads = threads; self.isa = isa; self.warmup = warmup
        self.fp32GFLOPs = fp32GFLOPs; self.fp32MedianGFLOPs = fp32MedianGFLOPs; self.fp32Runs = fp32Runs
        self.bf16GFLOPs = bf16GFLOPs; self.bf16MedianGFLOPs = bf16MedianGFLOPs; self.bf16Runs = bf16Runs
        self.bf16Unsupported = bf16Unsupported; self.coresUsed = coresUsed
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(m: try c.decode(Int.self, forKey: .m), k: try c.decode(Int.self, forKey: .k),
                  n: try c.decode(Int.self, forKey: .n), threads: try c.decode(Int.self, forKey: .threads),
                  isa: try c.decode(String.self, forKey: .isa), warmup: try c.decode(Int.self, forKey: .warmup),
                  fp32GFLOPs: try c.decode(Double.self, forKey: .fp32GFLOPs),
                  fp32MedianGFLOPs: try c.decode(Double.self, forKey: .fp32MedianGFLOPs),
                  fp32Runs: try c.decode(Int.self, forKey: .fp32Runs),
                  bf16GFLOPs: try c.decodeIfPresent(Double.self, forKey: .bf16GFLOPs),
                  bf16MedianGFLOPs: try c.decodeIfPresent(Double.self, forKey: .bf16MedianGFLOPs),
                  bf16Runs: try c.decodeIfPresent(Int.self, forKey: .bf16Runs),
                  bf16Unsupported: try c.decodeIfPresent(String.self, forKey: .bf16Unsupported),
                  coresUsed: try c.decodeIfPresent(Double.self, forKey: .coresUsed) ?? 0)
    }

    /// Every key is written; the bf16 ones are null when bf16 is not supported.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(m, forKey: .m); try c.encode(k, forKey: .k); try c.encode(n, forKey: .n)
        try c.encode(threads, forKey: .threads); try c.encode(isa, forKey: .isa); try c.encode(warmup, forKey: .warmup)
        try c.encode(fp32GFLOPs, forKey: .fp32GFLOPs); try c.encode(fp32MedianGFLOPs, forKey: .fp32MedianGFLOPs)
        try c.encode(fp32Runs, forKey: .fp32Runs)
        try c.encode(bf16GFLOPs, forKey: .bf16GFLOPs); try c.encode(bf16MedianGFLOPs, forKey: .bf16MedianGFLOPs)
        try c.encode(bf16Runs, forKey: .bf16Runs); try c.encode(bf16Unsupported, forKey: .bf16Unsupported)
        try c.encode(coresUsed, forKey: .coresUsed); try c.encode(contended, forKey: .contended)
        try c.encode("best timed run (median also given) after the warm-up runs", forKey: .statistic)
        try c.encode("2·M·N·K FLOPs per product: one multiply-accumulate counts as 2 FLOPs", forKey: .flopConvention)
    }
}

// MARK: - The probe

/// A failed oneDNN call inside the probe (the probe's own non-trapping counterpart of `DNNL.check`).
private struct ProbeFailure: Error {
    let what: String
    let status: dnnl_status_t

    var statusName: String {
        switch status {
        case dnnl_out_of_memory: return "out of memory"
        case dnnl_invalid_arguments: return "invalid arguments"
        case dnnl_unimplemented: return "unimplemented on this CPU"
        case dnnl_runtime_error: return "runtime error"
        default: return "status \(status.rawValue)"
        }
    }
}

private func probeCheck(_ status: dnnl_status_t, _ what: String) throws {
    if status != dnnl_success { throw ProbeFailure(what: what, status: status) }
}

/// Page-aligned anonymous memory, returned to the kernel on release.
private struct ProbeBuffer {
    let pointer: UnsafeMutableRawPointer
    let bytes: Int

    init(bytes: Int) throws {
        self.bytes = max(bytes, 64)
        let p = mmap(nil, self.bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw SparseTuningError("matmul peak probe: could not map \(bytes) bytes")
        }
        pointer = p
    }

    func release() { munmap(pointer, bytes) }
}

/// Deterministic values in [-0.5, 0.5) (no zeros or denormals to flatter or slow the product).
private func fill(_ p: UnsafeMutablePointer<Float>, count: Int, seed: UInt32) {
    var x: UInt32 = 0x9E37_79B9 &* seed | 1
    for i in 0..<count {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5
        p[i] = Float(x >> 8) / Float(1 << 24) - 0.5
    }
}

private func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// `C (m,n) = A (m,k) · B (k,n)` through oneDNN with B packed in oneDNN's layout, inputs fp32 or bf16, created
/// as ``Linear`` creates its products (packed B, user scratchpad) on the current thread team. `a` and `b` hold
/// fp32 values, B given as the PyTorch weight (n, k), as ``Linear`` gives it; the converted and packed copies
/// are made once here. Every oneDNN call is checked without trapping.
private final class ProbeProduct {
    private var objects: [dnnl_memory_t] = [], primitives: [dnnl_primitive_t] = [], buffers: [ProbeBuffer] = []
    private var matmul: dnnl_primitive_t?
    private var args: [dnnl_exec_arg_t] = []
    private let what: String

    init(m: Int, k: Int, n: Int, bf16: Bool, a: UnsafeMutableRawPointer, b: UnsafeMutableRawPointer,
         c: UnsafeMutableRawPointer) throws {
        let dnnl = DNNL.shared
        let inType = bf16 ? dnnl_bf16 : dnnl_f32
        what = bf16 ? "bf16 matmul" : "fp32 matmul"
        let aMD = try plain([m, k], [k, 1], inType), cMD = try plain([m, n], [n, 1], dnnl_f32)
        var bAny = dnnl_memory_desc_t()
        try probeCheck(dnnl_memory_desc_init_by_tag(&bAny, 2, [Int64(k), Int64(n)], inType, dnnl_format_tag_any),
                       "\(what) weights descriptor")
        var desc = dnnl_matmul_desc_t(), aIn = aMD, cIn = cMD
        try probeCheck(dnnl_matmul_desc_init(&desc, &aIn, &bAny, nil, &cIn), "\(what) desc_init")
        var attr: dnnl_primitive_attr_t?
        try probeCheck(dnnl_primitive_attr_create(&attr), "\(what) attr_create")
        defer { dnnl_primitive_attr_destroy(attr) }
        try probeCheck(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "\(what) scratchpad mode")
        var pd: dnnl_primitive_desc_t?
        try probeCheck(withUnsafePointer(to: &desc) { dnnl_primitive_desc_create(&pd, $0, attr, dnnl.engine, nil) },
                       "\(what) primitive_desc_create")
        defer { dnnl_primitive_desc_destroy(pd) }
        let packedMD = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)!.pointee
        var scratchMD = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)!.pointee
        matmul = try primitive(pd, what)

        let aData = try bf16 ? reorder(a, from: plain([m, k], [k, 1], dnnl_f32), to: aMD) : a
        let bData = try reorder(b, from: plain([k, n], [1, k], dnnl_f32), to: packedMD)
        args = try [dnnl_exec_arg_t(arg: DNNL.Arg.src, memory: memory(aMD, aData)),
                    dnnl_exec_arg_t(arg: DNNL.Arg.weights, memory: memory(packedMD, bData)),
                    dnnl_exec_arg_t(arg: DNNL.Arg.dst, memory: memory(cMD, c))]
        let scratchBytes = dnnl_memory_desc_get_size(&scratchMD)
        if scratchBytes > 0 {
            let s = try ProbeBuffer(bytes: scratchBytes)
            buffers.append(s)
            args.append(dnnl_exec_arg_t(arg: DNNL.Arg.scratchpad, memory: try memory(scratchMD, s.pointer)))
        }
    }

    deinit {
        for o in objects { dnnl_memory_destroy(o) }
        for p in primitives { dnnl_primitive_destroy(p) }
        for b in buffers { b.release() }
    }

    /// One product, waited for.
    func run() throws { try execute(matmul!, args, what) }

    private func plain(_ dims: [Int], _ strides: [Int], _ type: dnnl_data_type_t) throws -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        try probeCheck(dnnl_memory_desc_init_by_strides(&md, Int32(dims.count), dims.map { Int64($0) }, type,
                                                        strides.map { Int64($0) }), "\(what) memory descriptor")
        return md
    }

    private func memory(_ md: dnnl_memory_desc_t, _ handle: UnsafeMutableRawPointer) throws -> dnnl_memory_t {
        var md = md, mem: dnnl_memory_t?
        try probeCheck(dnnl_memory_create(&mem, &md, DNNL.shared.engine, handle), "\(what) memory_create")
        objects.append(mem!)
        return mem!
    }

    private func primitive(_ pd: dnnl_primitive_desc_t?, _ name: String) throws -> dnnl_primitive_t {
        var p: dnnl_primitive_t?
        try probeCheck(dnnl_primitive_create(&p, pd), "\(name) primitive_create")
        primitives.append(p!)
        return p!
    }

    private func execute(_ p: dnnl_primitive_t, _ args: [dnnl_exec_arg_t], _ name: String) throws {
        var args = args
        let stream = DNNL.shared.stream
        try probeCheck(dnnl_primitive_execute(p, stream, Int32(args.count), &args), "\(name) execute")
        try probeCheck(dnnl_stream_wait(stream), "\(name) stream_wait")
    }

    /// Copies `src` (layout `from`) into a new buffer of layout `to` (packing and/or fp32 → bf16).
    private func reorder(_ src: UnsafeMutableRawPointer, from: dnnl_memory_desc_t,
                         to: dnnl_memory_desc_t) throws -> UnsafeMutableRawPointer {
        let engine = DNNL.shared.engine
        var f = from, t = to, pd: dnnl_primitive_desc_t?
        try probeCheck(dnnl_reorder_primitive_desc_create(&pd, &f, engine, &t, engine, nil), "\(what) reorder")
        defer { dnnl_primitive_desc_destroy(pd) }
        let prim = try primitive(pd, "\(what) reorder")
        let out = try ProbeBuffer(bytes: dnnl_memory_desc_get_size(&t))
        buffers.append(out)
        try execute(prim, [dnnl_exec_arg_t(arg: DNNL.Arg.src, memory: memory(f, src)),
                           dnnl_exec_arg_t(arg: DNNL.Arg.dst, memory: memory(t, out.pointer))], "\(what) reorder")
        return out.pointer
    }
}

/// oneDNN's name for the instruction set it dispatches to.
private func effectiveISA() -> String {
    switch dnnl_get_effective_cpu_isa() {
    case dnnl_cpu_isa_sse41: return "sse41"
    case dnnl_cpu_isa_avx: return "avx"
    case dnnl_cpu_isa_avx2: return "avx2"
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni"
    case dnnl_cpu_isa_avx512_core: return "avx512_core"
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni"
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16"
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx"
    case let other: return "isa 0x\(String(other.rawValue, radix: 16))"
    }
}
