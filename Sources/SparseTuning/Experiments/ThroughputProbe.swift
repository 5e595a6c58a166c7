// ThroughputProbe: the inference speed an experiment reports for a tuned model — Benchmark.run on the model's
// forward pass at a fixed batch, with the fvcore GFLOPs of its token schedule.

/// How an experiment measures a model's inference throughput (images/s).
public struct ThroughputProbe: Sendable, Equatable, Codable {
    /// Images per forward pass (8 by default, as the development machine's figures in docs/METHOD.md §6).
    public var batch = 8
    /// Untimed passes first.
    public var warmup = 1
    /// At least this many timed passes…
    public var minIterations = 3
    /// …and at least this many seconds of them.
    public var minSeconds = 2.0
    /// Measure at all (when false, images/s are reported as 0).
    public var enabled = true

    /// The default probe: batch 8, one warm-up pass, ≥ 3 timed passes over ≥ 2 s.
    public init() {}

    /// A probe with the given settings.
    public init(batch: Int, warmup: Int = 1, minIterations: Int = 3, minSeconds: Double = 2, enabled: Bool = true) {
        self.batch = batch
        self.warmup = warmup
        self.minIterations = minIterations
        self.minSeconds = minSeconds
        self.enabled = enabled
    }

    /// Throws a message naming the setting when one is impossible.
    public func validate() throws {
        guard batch > 0 else { throw SparseTuningError("the benchmark batch must be positive (got \(batch))") }
        guard warmup >= 0, minIterations >= 1, minSeconds >= 0 else {
            throw SparseTuningError("benchmark warm-up must be ≥ 0, timed passes ≥ 1 and seconds ≥ 0")
        }
    }

    /// The median images/s of `model`'s inference forward on random input of its image size (0 when disabled).
    public func measure(_ model: TunedViT) throws -> Double {
        guard enabled else { return 0 }
        try validate()
        let gflops = FLOPCounter.count(model.config, tuning: model.tuning).gflops
        let result = try Benchmark.run(batch: batch, sample: model.config.inputShape, gflopsPerImage: gflops,
                                       warmup: warmup, minIterations: minIterations, minSeconds: minSeconds) {
            _ = try model.forward($0)
        }
        return result.imagesPerSecond
    }
}
