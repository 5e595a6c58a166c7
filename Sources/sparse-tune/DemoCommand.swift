// `sparse-tune demo`: the quick-start job on built-in data — synthetic images, a small random ViT saved and
// reloaded as safetensors, predictions, FLOP counts and a benchmark, summarised in one table.
import ArgumentParser
import Foundation
import SparseTuning

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the built-in demo: synthetic images, a random ViT, predict, flops and bench.")

    @Option(help: "Directory for the generated images and model (default: a new temporary directory).")
    var out: String?
    @Option(help: "Architectures to benchmark.")
    var archs: String = "vit-ti16,vit-s16,vit-b16"
    @Option(name: .customLong("min-time"), help: "Minimum timed seconds per benchmark.")
    var minTime: Double = 2
    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    func run() throws {
        if let threads {
            guard threads > 0 else { throw SparseTuningError("--threads must be positive (got \(threads))") }
            Compute.threads = threads
        }
        let dir = out ?? NSTemporaryDirectory() + "sparse-tune-demo-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)

        // 1. Built-in data: one image per class.
        let data = try SyntheticImages(size: 224, classes: 8)
        var paths: [String] = []
        for i in 0..<data.classes {
            let (image, label) = data.sample(i, seed: 2024)
            let path = "\(dir)/\(SyntheticImages.shapes[label]).png"
            try PNGEncoder.write(image, to: path)
            paths.append(path)
        }
        note("1/3 wrote \(paths.count) synthetic images to \(dir)")

        // 2. A small random ViT, saved and reloaded as a user would, then predict.
        var config = ViTConfig.preset("vit-ti16")!
        config.classes = data.classes
        let model = try VisionTransformer(config: config, seed: 7)
        let weightsPath = "\(dir)/vit-ti16-random.safetensors"
        try Safetensors.write(model.stateDict(), metadata: ["sparse_tuning.note": "random demo weights"], to: weightsPath)
        let reloaded = try VisionTransformer(config: config)
        try reloaded.load(try Checkpoint.load(weightsPath).tensors)
        let pre = ImagePreprocessor(size: 224, mode: .squash, normalization: .inception)
        let logits = try reloaded.forward(try pre.batch(paths: paths))
        print("Predictions of a randomly initialised vit-ti16 (weights \(weightsPath)); the classes mean nothing yet:")
        for (i, p) in paths.enumerated() {
            let row = Array(UnsafeBufferPointer(start: logits.data + i * data.classes, count: data.classes))
            let best = row.indices.max { row[$0] < row[$1] }!
            print("  \((p as NSString).lastPathComponent.padding(toLength: 14, withPad: " ", startingAt: 0)) → \(SyntheticImages.shapes[best])")
        }

        // 3. FLOPs and speed per architecture.
        note("2/3 counting FLOPs, 3/3 benchmarking \(archs) (\(Compute.threads) threads)")
        print("\nmodel      params     GFLOPs   img/s b=1   img/s b=8   peak RSS MiB")
        for arch in archs.split(separator: ",").map(String.init) {
            guard let cfg = ViTConfig.preset(arch) else { throw SparseTuningError("--archs: unknown architecture '\(arch)'") }
            let vit = try VisionTransformer(config: cfg)
            let gflops = FLOPCounter.count(cfg).gflops
            var ips: [Double] = []
            var rss = 0.0
            for b in [1, 8] {
                let r = try Benchmark.run(batch: b, imageSize: cfg.imageSize, gflopsPerImage: gflops, warmup: 1,
                                          minIterations: 2, minSeconds: minTime,
                                          progress: { note("  \(arch) \($0)") }) { x in _ = try vit.forward(x) }
                ips.append(r.imagesPerSecond)
                rss = r.peakRSSMB
            }
            print(String(format: "%-9@ %6.1f M  %8.2f  %10.2f  %10.2f  %13.0f", arch, Double(vit.parameterCount) / 1e6,
                         gflops, ips[0], ips[1], rss))
        }
        print("GFLOPs follow fvcore (1 multiply-accumulate = 1 FLOP); fp32, \(Compute.threads) threads.")
    }

}
