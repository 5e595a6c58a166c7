// Inference benchmark: warm-up, timed runs, images/s statistics, achieved FLOP rate and peak resident memory.
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

    enum CodingKeys: String, CodingKey {
        case batch, iterations
        case imagesPerSecond = "images_per_s", imagesPerSecondMin = "images_per_s_min", imagesPerSecondMax = "images_per_s_max"
        case msPerBatch = "ms_per_batch", gflopsPerImage = "gflops", achievedGflopPerSecond = "achieved_gflop_per_s"
        case peakRSSMB = "peak_rss_mb"
    }
}

public enum Benchmark {
    /// Runs `forward` on a random batch: `warmup` untimed runs, then timed runs until `minSeconds` have passed
    /// and at least `minIterations` ran. `gflopsPerImage` is the fvcore count used for the achieved rate.
    public static func run(batch: Int, imageSize: Int, gflopsPerImage: Double, warmup: Int = 2,
                           minIterations: Int = 3, minSeconds: Double = 3,
                           progress: ((String) -> Void)? = nil,
                           forward: (Tensor) throws -> Void) throws -> BenchmarkResult {
        let input = Tensor(zeros: [batch, 3, imageSize, imageSize])  // (B, 3, S, S)
        var rng = SeededGenerator(seed: 1)
        for i in 0..<input.count { input.data[i] = rng.normal() }
        for i in 0..<warmup {
            progress?("batch \(batch): warm-up \(i + 1)/\(warmup)")
            try forward(input)
        }
        var times: [Double] = []
        let start = DispatchTime.now().uptimeNanoseconds
        while times.count < minIterations || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < minSeconds {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try forward(input)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            progress?("batch \(batch): run \(times.count), \(String(format: "%.1f", Double(batch) / times.last!)) img/s")
        }
        let sorted = times.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let ips = Double(batch) / median
        return BenchmarkResult(batch: batch, iterations: times.count, imagesPerSecond: ips,
                               imagesPerSecondMin: Double(batch) / sorted.last!,
                               imagesPerSecondMax: Double(batch) / sorted.first!,
                               msPerBatch: median * 1000, gflopsPerImage: gflopsPerImage,
                               achievedGflopPerSecond: 2 * gflopsPerImage * ips, peakRSSMB: peakResidentMB())
    }

    /// Peak resident set size of this process in MiB (getrusage `ru_maxrss`).
    public static func peakResidentMB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
