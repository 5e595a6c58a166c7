// `sparse-tune bench`: timed inference at several batch sizes: images/s, ms per batch, GFLOPs, achieved GFLOP/s, peak RSS.
import ArgumentParser
import Foundation
import SparseTuning

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark inference (random weights unless --weights is given).")

    @OptionGroup var model: ModelOptions
    @Option(name: .customLong("weights"), help: "Checkpoint(s) to load (optional; random weights otherwise).")
    var weights: [String] = []
    @Option(help: "Comma-separated batch sizes.")
    var batch: String = "1,8"
    @Option(help: "Untimed warm-up runs per batch size.")
    var warmup: Int = 2
    @Option(name: .customLong("min-time"), help: "Minimum timed seconds per batch size.")
    var minTime: Double = 3
    @Option(name: .customLong("min-runs"), help: "Minimum timed runs per batch size.")
    var minRuns: Int = 3
    @Option(name: .customLong("peak-gflops"), help: "Machine fp32 peak in GFLOP/s for the efficiency column (default 240 per thread).")
    var peakGflops: Double?
    @Flag(help: "Print JSON {\"results\": [...]} instead of a table.")
    var json = false
    @Flag(help: "Time training steps (forward, backward, AdamW step on the method's trainable tensors) instead of inference.")
    var train = false

    func run() throws {
        try model.applyThreads()
        let batches = try parseIntList(batch, flag: "--batch")
        guard batches.allSatisfy({ $0 > 0 }) else { throw SparseTuningError("--batch sizes must be positive (got \(batch))") }
        guard warmup >= 0, minRuns >= 1, minTime >= 0 else {
            throw SparseTuningError("--warmup must be ≥ 0, --min-runs ≥ 1 and --min-time ≥ 0")
        }
        var options = model
        if train && options.method == nil { options.method = TuningMethod.sparseTuning.rawValue }
        let vit = try buildModel(options, weights: weights).model
        let forwardGFLOPs = FLOPCounter.count(vit.config, tuning: vit.tuning).gflops
        // Training: forward + input gradients (≈ one more forward), + weight gradients when the backbone trains.
        let gflops = train ? forwardGFLOPs * (vit.tuning.trainsBackbone ? 3 : 2) : forwardGFLOPs
        let optimizer = train ? try AdamW(parameters: vit.trainable, lr: 1e-3) : nil
        if train {  // as the trainer does
            vit.prepackWeights = false
            Compute.returnFreedMemoryToSystem()
        }
        var rng = SeededGenerator(seed: 0)
        let peak = peakGflops ?? 240 * Double(Compute.threads)
        var results: [BenchmarkResult] = []
        for b in batches.sorted() {
            let r = try Benchmark.run(batch: b, imageSize: vit.config.imageSize, gflopsPerImage: gflops, warmup: warmup,
                                      minIterations: minRuns, minSeconds: minTime,
                                      progress: json ? nil : { note("  \($0)") }) { x in
                guard let optimizer else { _ = try vit.forward(x); return }
                let labels = (0..<b).map { $0 % max(vit.config.classes, 1) }
                _ = try vit.forwardBackward(x, training: true, rng: &rng) {
                    try CrossEntropy.forwardBackward(logits: $0, labels: labels)
                }
                optimizer.step(lr: 1e-3)
                optimizer.zeroGrad()
                vit.parametersUpdated()
            }
            results.append(r)
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            struct Out: Encodable {
                let arch: String, image_size: Int, threads: Int, mode: String, method: String, gflops_convention: String
                let results: [BenchmarkResult]
            }
            let out = Out(arch: model.arch ?? "custom", image_size: vit.config.imageSize, threads: Compute.threads,
                          mode: train ? "train" : "inference", method: vit.tuning.method.rawValue,
                          gflops_convention: "fvcore: one multiply-accumulate counts as one FLOP"
                              + (train ? "; training counted as \(vit.tuning.trainsBackbone ? 3 : 2)× the forward" : ""),
                          results: results)
            print(String(decoding: try enc.encode(out), as: UTF8.self))
            return
        }
        print("\(model.arch ?? "custom ViT") \(vit.tuning.method.rawValue) \(train ? "training steps" : "inference") at \(vit.config.imageSize)px, \(Compute.threads) threads, \(vit.precision.rawValue); " +
              String(format: "%.2f GFLOPs/image (fvcore: 1 MAC = 1 FLOP)", gflops))
        print("batch   img/s (median, min–max)   ms/\(train ? "step " : "batch")   GFLOP/s (2/MAC)   % of peak   peak RSS MiB")
        for r in results {
            print(String(format: "%5d   %7.2f (%6.2f–%6.2f)   %8.1f   %15.1f   %8.1f%%   %12.0f",
                         r.batch, r.imagesPerSecond, r.imagesPerSecondMin, r.imagesPerSecondMax, r.msPerBatch,
                         r.achievedGflopPerSecond, 100 * r.achievedGflopPerSecond / peak, r.peakRSSMB))
        }
    }
}
