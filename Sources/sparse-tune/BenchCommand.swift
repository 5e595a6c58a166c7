// `sparse-tune bench`: timed inference (or training steps) at several batch sizes: images/s, ms per batch, GFLOPs,
// achieved GFLOP/s as a % of this machine's measured matmul peak, peak RSS, and user/system CPU seconds.
import ArgumentParser
import Foundation
import SparseTuning

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark inference (random weights unless --weights is given).")

    @OptionGroup var model: ModelOptions
    @OptionGroup var segmentation: SegmentationOptions
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
    @Option(name: .customLong("peak-gflops"), help: "Peak GFLOP/s (2 FLOPs per multiply-accumulate) for the % of peak column, instead of the measured one for the precision in use.")
    var peakGflops: Double?
    @Flag(name: .customLong("no-peak"), help: "Skip the matmul peak probe (≈1 s) run at start.")
    var noPeak = false
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
        let precision = try model.parsedPrecision()
        if let peakGflops, !(peakGflops > 0) { throw SparseTuningError("--peak-gflops must be positive (got \(peakGflops))") }
        // The probe runs before the model exists, on the threads the model will use; its buffers are returned to
        // the kernel and the peak-RSS mark reset after it, so the RSS column is the model's.
        var peak: MatmulPeak?
        if !noPeak {
            if !json { note("measuring the matmul peak (--no-peak to skip)…") }
            peak = try MatmulPeak.measure()
            Benchmark.resetPeakResident()
            if let peak, !json { print("matmul peak (\(peak.method)): \(peak.summary)") }
        }
        let reference = peakGflops ?? peak?.gflops(for: precision)
        let referenceSource = peakGflops != nil ? "--peak-gflops" : reference != nil ? "measured \(precision.rawValue) peak" : "none"

        var options = model
        if train && options.method == nil { options.method = TuningMethod.sparseTuning.rawValue }
        // Segmentation (--head): the trunk without classification head, the head, logits upsampled to the image.
        let segmentationClasses = segmentation.head != nil ? options.classes ?? 150 : nil
        if segmentationClasses != nil { options.classes = 0 }
        let vit = try buildModel(options, weights: weights).model
        let seg = try segmentationClasses.map {
            try SegmentationModel(trunk: vit, settings: segmentation.config(base: nil, classes: $0, depth: vit.config.depth))
        }
        if seg != nil && train { throw SparseTuningError("bench --train times classification steps; segmentation training is timed by `train`") }
        let segFLOPs = seg?.flops(imageSize: vit.config.imageSize)
        let forwardGFLOPs = segFLOPs.map { $0.trunk.gflops + Double($0.head) / 1e9 } ?? FLOPCounter.count(vit.config, tuning: vit.tuning).gflops
        // Training: forward + input gradients (≈ one more forward), + weight gradients when the backbone trains.
        let gflops = train ? forwardGFLOPs * (vit.tuning.trainsBackbone ? 3 : 2) : forwardGFLOPs
        let optimizer = train ? try AdamW(parameters: vit.trainable, lr: 1e-3) : nil
        if train { vit.prepackWeights = false }  // as the trainer does
        let unit = vit.config.isVideo ? "clip" : "img"
        if !json {
            let clip = vit.config.isVideo ? " (\(vit.config.frames)-frame clips, \(vit.config.tubelet.map { "space-time tubelets of \($0)" } ?? "per frame"))" : ""
            print("\(model.arch ?? "custom ViT") \(vit.tuning.method.rawValue) \(train ? "training steps" : "inference") at \(vit.config.imageSize)px\(clip), \(Compute.threads) thread\(Compute.threads == 1 ? "" : "s"), \(vit.precision.rawValue); " +
                  String(format: "%.2f GFLOPs/%@ (fvcore: 1 MAC = 1 FLOP)", gflops, unit == "img" ? "image" : "clip"))
        }
        var rng = SeededGenerator(seed: 0)
        var results: [BenchmarkResult] = []
        for b in batches.sorted() {
            var r = try Benchmark.run(batch: b, sample: vit.config.inputShape, gflopsPerImage: gflops, warmup: warmup,
                                      minIterations: minRuns, minSeconds: minTime,
                                      progress: json ? nil : { note("  \($0)") }) { x in
                if let seg { _ = try seg.forward(x); return }
                guard let optimizer else { _ = try vit.forward(x); return }
                let labels = (0..<b).map { $0 % max(vit.config.classes, 1) }
                _ = try vit.forwardBackward(x, training: true, rng: &rng) {
                    try CrossEntropy.forwardBackward(logits: $0, labels: labels)
                }
                optimizer.step(lr: 1e-3)
                optimizer.zeroGrad()
                vit.parametersUpdated()
            }
            r.peakGflopPerSecond = reference
            r.activationMB = Double(vit.activationMemoryBytes) / 1e6
            vit.releaseActivationMemory()  // each batch size's figure stands alone
            results.append(r)
        }
        if json {
            struct Out: Encodable {
                let arch: String, image_size: Int, frames: Int, sample: String, threads: Int, mode: String, method: String
                let gflops_convention: String
                let precision: String, peak: Nullable<MatmulPeak>, peak_reference: String, rate_convention: String
                let cpu_time_convention: String
                let results: [BenchmarkResult]
            }
            let out = Out(arch: model.arch ?? "custom", image_size: vit.config.imageSize, frames: vit.config.frames,
                          sample: vit.config.isVideo ? "clip (images_per_s counts clips)" : "image", threads: Compute.threads,
                          mode: train ? "train" : "inference", method: vit.tuning.method.rawValue,
                          gflops_convention: "fvcore: one multiply-accumulate counts as one FLOP"
                              + (train ? "; training counted as \(vit.tuning.trainsBackbone ? 3 : 2)× the forward" : ""),
                          precision: vit.precision.rawValue, peak: Nullable(peak), peak_reference: referenceSource,
                          rate_convention: "achieved_gflop_per_s and peak_gflop_per_s count 2 FLOPs per multiply-accumulate (2·gflops·images/s; 2·M·N·K per probed product)",
                          cpu_time_convention: "user_s and sys_s: getrusage(RUSAGE_SELF) over the timed runs, all threads; wall_s: the timed runs' wall time",
                          results: results)
            try printJSON(out)
            return
        }
        print("batch  \(unit == "img" ? " img/s" : "clip/s") (median, min–max)   ms/\(train ? "step " : "batch")   GFLOP/s   % of peak   peak RSS MiB   activations MB   runs   CPU s user / sys   sys % of wall")
        for r in results {
            let pct = r.percentOfPeak.map { String(format: "%8.1f%%", $0) } ?? "        –"
            print(String(format: "%5d   %7.2f (%6.2f–%6.2f)   %8.1f   %7.1f   ", r.batch, r.imagesPerSecond,
                         r.imagesPerSecondMin, r.imagesPerSecondMax, r.msPerBatch, r.achievedGflopPerSecond)
                  + pct + String(format: "   %12.0f   %14.0f   %4d   %8.2f / %5.2f   %12.1f%%", r.peakRSSMB, r.activationMB ?? 0, r.iterations,
                                 r.userSeconds, r.systemSeconds, r.systemPercentOfWall))
        }
        let of = peakGflops.map { String(format: "of --peak-gflops %.1f", $0) }
            ?? (reference != nil ? "of the measured \(precision.rawValue) peak" : "no peak measured (--no-peak)")
        print("GFLOP/s: 2 FLOPs per multiply-accumulate, as the peak; % of peak: \(of); CPU s: timed runs, all threads.")
        print("activations MB: the memory planned for this shape's activations (and in training the tape and gradients).")
    }
}
