// Inference benchmark: warm-up, timed runs, images/s statistics, achieved FLOP rate, peak resident memory and
// the CPU time (user, system) the timed runs cost.
import Foundation

/// Timing of one batch size.
public struct BenchmarkResult: Codable, Sendable {
    public var batch: Int
    public var iterations: Int
    public var imagesPerSecond: Double
    public var imagesPerSecondMin: Double
    public var imagesPerSecondMax: Double
    public var msPerBatch: Double
    /// fvcore GFLOPs (= GMACs) per image.
    public var gflopsPerImage: Double
    /// Real floating-point operations per second achieved (2 per multiply-accumulate), in GFLOP/s.
    public var achievedGflopPerSecond: Double
    /// Peak resident set size of the process so far, in MiB.
    public var peakRSSMB: Double
    /// Wall-clock seconds of all timed runs together.
    public var wallSeconds: Double
    /// CPU seconds in user and in system mode over the timed runs, all threads (getrusage `RUSAGE_SELF`).
    public var userSeconds: Double
    public var systemSeconds: Double
    /// The machine's matrix-multiply peak for the precision in use, in the same real FLOP/s as
    /// `achievedGflopPerSecond` (see ``MatmulPeak``); nil when not measured. Set by the caller.
    public var peakGflopPerSecond: Double?
    /// Activation memory the model planned for this shape, in MB (see ``TunedViT/activationMemoryBytes``); set by
    /// the caller.
    public var activationMB: Double?

    /// System CPU time as a percentage of the timed wall time (page faults, thread wake-ups).
    public var systemPercentOfWall: Double { wallSeconds > 0 ? 100 * systemSeconds / wallSeconds : 0 }
    /// Achieved rate as a percentage of `peakGflopPerSecond` (nil when no peak is known).
    public var percentOfPeak: Double? {
        peakGflopPerSecond.flatMap { $0 > 0 ? 100 * achievedGflopPerSecond / $0 : nil }
    }

    enum CodingKeys: String, CodingKey {
        case batch, iterations
        case imagesPerSecond = "images_per_s", imagesPerSecondMin = "images_per_s_min", imagesPerSecondMax = "images_per_s_max"
        case msPerBatch = "ms_per_batch", gflopsPerImage = "gflops", achievedGflopPerSecond = "achieved_gflop_per_s"
        case peakRSSMB = "peak_rss_mb"
        case wallSeconds = "wall_s", userSeconds = "user_s", systemSeconds = "sys_s"
        case peakGflopPerSecond = "peak_gflop_per_s", activationMB = "activation_mb"
        case systemPercentOfWall = "sys_pct_of_wall", percentOfPeak = "pct_of_peak"
    }
}

// In an extension so the memberwise initialiser stays.
extension BenchmarkResult {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        batch = try c.decode(Int.self, forKey: .batch)
        iterations = try c.decode(Int.self, forKey: .iterations)
        imagesPerSecond = try c.decode(Double.self, forKey: .imagesPerSecond)
        imagesPerSecondMin = try c.decode(Double.self, forKey: .imagesPerSecondMin)
        imagesPerSecondMax = try c.decode(Double.self, forKey: .imagesPerSecondMax)
        msPerBatch = try c.decode(Double.self, forKey: .msPerBatch)
        gflopsPerImage = try c.decode(Double.self, forKey: .gflopsPerImage)
        achievedGflopPerSecond = try c.decode(Double.self, forKey: .achievedGflopPerSecond)
        peakRSSMB = try c.decode(Double.self, forKey: .peakRSSMB)
        // Absent in results written before CPU times were recorded.
        wallSeconds = try c.decodeIfPresent(Double.self, forKey: .wallSeconds) ?? 0
        userSeconds = try c.decodeIfPresent(Double.self, forKey: .userSeconds) ?? 0
        systemSeconds = try c.decodeIfPresent(Double.self, forKey: .systemSeconds) ?? 0
        peakGflopPerSecond = try c.decodeIfPresent(Double.self, forKey: .peakGflopPerSecond)
        activationMB = try c.decodeIfPresent(Double.self, forKey: .activationMB)
    }

    /// Every key is written (`peak_gflop_per_s` and `pct_of_peak` as null when no peak is known).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(batch, forKey: .batch)
        try c.encode(iterations, forKey: .iterations)
        try c.encode(imagesPerSecond, forKey: .imagesPerSecond)
        try c.encode(imagesPerSecondMin, forKey: .imagesPerSecondMin)
        try c.encode(imagesPerSecondMax, forKey: .imagesPerSecondMax)
        try c.encode(msPerBatch, forKey: .msPerBatch)
        try c.encode(gflopsPerImage, forKey: .gflopsPerImage)
        try c.encode(achievedGflopPerSecond, forKey: .achievedGflopPerSecond)
        try c.encode(peakRSSMB, forKey: .peakRSSMB)
        try c.encode(wallSeconds, forKey: .wallSeconds)
        try c.encode(userSeconds, forKey: .userSeconds)
        try c.encode(systemSeconds, forKey: .systemSeconds)
        try c.encode(systemPercentOfWall, forKey: .systemPercentOfWall)
        try c.encode(peakGflopPerSecond, forKey: .peakGflopPerSecond)
        try c.encode(percentOfPeak, forKey: .percentOfPeak)
        try c.encode(activationMB, forKey: .activationMB)
    }
}

/// CPU seconds this process has used so far, all threads (getrusage `RUSAGE_SELF`).
public struct CPUTime: Sendable {
    public var user: Double
    public var system: Double

    public static func now() -> CPUTime {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let seconds = { (t: timeval) in Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return CPUTime(user: seconds(usage.ru_utime), system: seconds(usage.ru_stime))
    }
}

public enum Benchmark {
    /// Runs `forward` on a random batch of `batch` samples of shape `sample` ((3, S, S) images or (T, 3, S, S) clips):
    /// `warmup` untimed runs, then timed runs until `minSeconds` have passed and at least `minIterations` ran.
    /// `gflopsPerImage` is the fvcore count per sample used for the achieved rate; rates count samples.
    public static func run(batch: Int, sample: [Int], gflopsPerImage: Double, warmup: Int = 2,
                           minIterations: Int = 3, minSeconds: Double = 3,
                           progress: ((String) -> Void)? = nil,
                           forward: (Tensor) throws -> Void) throws -> BenchmarkResult {
        let input = Tensor(zeros: [batch] + sample)  // (B, 3, S, S) or (B, T, 3, S, S)
        var rng = SeededGenerator(seed: 1)
        for i in 0..<input.count { input.data[i] = rng.normal() }
        for i in 0..<warmup {
            progress?("batch \(batch): warm-up \(i + 1)/\(warmup)")
            try forward(input)
        }
        var times: [Double] = []
        let cpu0 = CPUTime.now()
        let start = DispatchTime.now().uptimeNanoseconds
        while times.count < minIterations || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < minSeconds {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try forward(input)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            progress?("batch \(batch): run \(times.count), \(String(format: "%.1f", Double(batch) / times.last!)) img/s")
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpu1 = CPUTime.now()
        let sorted = times.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let ips = Double(batch) / median
        return BenchmarkResult(batch: batch, iterations: times.count, imagesPerSecond: ips,
                               imagesPerSecondMin: Double(batch) / sorted.last!,
                               imagesPerSecondMax: Double(batch) / sorted.first!,
                               msPerBatch: median * 1000, gflopsPerImage: gflopsPerImage,
                               achievedGflopPerSecond: 2 * gflopsPerImage * ips, peakRSSMB: peakResidentMB(),
                               wallSeconds: wall, userSeconds: cpu1.user - cpu0.user,
                               systemSeconds: cpu1.system - cpu0.system, peakGflopPerSecond: nil)
    }

    /// Peak resident set size of this process in MiB (getrusage `ru_maxrss`).
    public static func peakResidentMB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// Lowers the peak-resident mark to the current resident size (Linux: `/proc/self/clear_refs` ← 5), so a
    /// later ``peakResidentMB()`` reflects only what ran since — e.g. the model, not the ``MatmulPeak`` probe
    /// before it. Returns false where that is not possible (the mark then keeps the whole process's peak).
    @discardableResult
    public static func resetPeakResident() -> Bool {
        guard let f = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? f.close() }
        do { try f.write(contentsOf: Data("5".utf8)) } catch { return false }
        return true
    }
}
