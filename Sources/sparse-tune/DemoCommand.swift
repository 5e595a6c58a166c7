// `sparse-tune demo`: the main job on built-in data. Generates two synthetic tasks in the VTAB-1K layout, pretrains
// a small ViT on the first (four shapes), fine-tunes it on the second (four other shapes) with sparse-tuning, linear,
// adaptformer and full fine-tuning — each as a `sparse-tune train` child process, as a user would run it — then
// benchmarks inference and prints one comparison table. With `--video`, the same on clips: a small VideoMAE-style
// space-time model pretrained on half of a moving-square dataset (the label is the direction of motion) and
// fine-tuned on the other half.
import ArgumentParser
import Foundation
import SparseTuning

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Pretrain a small ViT on synthetic data, fine-tune it with four methods, print a comparison table.")

    @Option(help: "Working directory for the data, checkpoints and logs (default: a new temporary directory).")
    var out: String?
    @Option(help: "Methods to fine-tune with.")
    var methods: String = "sparse-tuning,linear,adaptformer,full"
    @Option(name: .customLong("pretrain-epochs"), help: "Pretraining epochs (default 20; 30 with --video).")
    var pretrainEpochs: Int?
    @Option(name: .customLong("finetune-epochs"), help: "Fine-tuning epochs per method.")
    var finetuneEpochs: Int = 15
    @Flag(help: "A much smaller run (seconds), for smoke tests.")
    var quick = false
    @Option(help: "Threads (default: all cores).")
    var threads: Int?
    @Flag(help: "Video: a space-time model on generated clips of a moving square (labels: its direction; no flips).")
    var video = false
    @Flag(help: "Segmentation: shapes on clutter with masks; pretrains a small ViT with a linear head, then compares Sparse-Tuning's restoration rules (copy, nearest) with the dense model (mIoU and GFLOPs).")
    var segmentation = false

    /// The small video model of the demo: 4-frame 32×32 clips, patch 8, tubelets of 2 frames (32 tokens), width 48, 2 blocks.
    static let videoArchitecture = ["--dim", "48", "--depth", "2", "--heads", "4", "--mlp", "96", "--patch", "8", "--image-size", "32",
                                    "--frames", "4", "--tubelet", "2"]
    /// The small ViT of the segmentation demo: 64×64 images, patch 8 (64 tokens), width 48, 4 blocks.
    static let segmentationArchitecture = ["--dim", "48", "--depth", "4", "--heads", "4", "--mlp", "96", "--patch", "8", "--image-size", "64"]
    /// Clip settings of the video demo: every other frame of the 8-frame videos, one view, no flips.
    static let videoClips = ["--recipe", "ssv2", "--sampling", "dense", "--frame-stride", "2", "--clips", "1", "--crops", "1"]

    /// The small ViT of the demo: 64×64 images, patch 8 (65 tokens), width 64, 6 blocks.
    static let architecture = ["--dim", "64", "--depth", "6", "--heads", "4", "--mlp", "256", "--patch", "8", "--image-size", "64"]

    func run() throws {
        let dir = out ?? NSTemporaryDirectory() + "sparse-tune-demo-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if segmentation { return try runSegmentation(dir) }
        let methodList = methods.split(separator: ",").map(String.init)
        for m in methodList where TuningMethod(rawValue: m) == nil {
            throw SparseTuningError("--methods: unknown method '\(m)'")
        }
        let threadArgs = threads.map { ["--threads", "\($0)"] } ?? []
        let size = 64
        let (pretrainCount, finetuneCount, testCount) = quick ? (128, 64, 64) : video ? (1200, 400, 200) : (3000, 400, 400)
        let (preEpochs, ftEpochs) = quick ? (1, 1) : (pretrainEpochs ?? (video ? 30 : 20), finetuneEpochs)
        let unit = video ? "clips" : "images"

        note("1/4 writing synthetic data to \(dir)")
        let pretrainData: String, finetuneData: String, pretrainWhat: String, finetuneWhat: String
        if video {
            let clips = try SyntheticVideos(size: 32, frames: 8)
            pretrainData = try clips.writeDataset(root: "\(dir)/moving", trainCount: pretrainCount, valCount: testCount, seed: 1)
            finetuneData = try clips.writeDataset(root: "\(dir)/moving-new", trainCount: finetuneCount, valCount: testCount, seed: 2)
            pretrainWhat = "moving squares (\(SyntheticVideos.directions.joined(separator: ", ")))"
            finetuneWhat = "new moving-square clips"
        } else {
            let shapes = try SyntheticImages(size: size, classes: 4, labeling: .shape)
            let newShapes = try SyntheticImages(size: size, classes: 4, labeling: .shape, firstShape: 4)
            pretrainData = try shapes.writeVTABTask(root: dir, task: "shapes", trainCount: pretrainCount, testCount: testCount, seed: 1, writeClassNames: true)
            finetuneData = try newShapes.writeVTABTask(root: dir, task: "new-shapes", trainCount: finetuneCount, testCount: testCount, seed: 2, writeClassNames: true)
            pretrainWhat = "'shapes' (\(shapes.classNames.joined(separator: ", ")))"
            finetuneWhat = "'new-shapes' (\(newShapes.classNames.joined(separator: ", ")))"
        }
        let architecture = video ? Self.videoArchitecture : Self.architecture
        let clipArgs = video ? Self.videoClips : []

        note("2/4 pretraining the backbone from random weights on \(pretrainWhat); \(pretrainCount) \(unit), \(preEpochs) epochs")
        let backbone = "\(dir)/backbone.safetensors"
        let pre = try child(TrainJSON.self, ["train", "--method", "full", "--data", pretrainData, "--epochs", "\(preEpochs)", "--batch", video ? "32" : "64",
                             "--lr", video ? "2e-3" : "3e-3", "--warmup-epochs", "2", "--weight-decay", "0.05", "--output", backbone, "--json"]
                            + architecture + clipArgs + threadArgs)
        note(String(format: "    pretrained: %.1f%% top-1 on held-out %@", 100 * (pre.evalTop1 ?? 0), unit))

        note("3/4 fine-tuning on \(finetuneWhat); \(finetuneCount) \(unit), \(ftEpochs) epochs, with \(methodList.joined(separator: ", "))")
        var rows: [(train: TrainJSON, inferImagesPerSecond: Double)] = []
        for m in methodList {
            let task = "\(dir)/\(m).safetensors"
            var args = ["train", "--weights", backbone, "--method", m, "--data", finetuneData, "--epochs", "\(ftEpochs)",
                        "--batch", "32", "--warmup-epochs", "2", "--output", task, "--json"] + threadArgs + clipArgs
            if video { args += ["--frames", "4", "--lr", m == "full" ? "2e-4" : "2e-3"] }
            if m == "full" && !video { args += ["--lr", "2e-4"] }
            let r = try child(TrainJSON.self, args)
            note(String(format: "    %@: %.1f%% top-1", m, 100 * (r.evalTop1 ?? 0)))
            let bench = try child(BenchJSON.self, ["bench", "--weights", backbone, "--weights", task, "--batch", "32", "--min-time", quick ? "0" : "2",
                                   "--min-runs", "2", "--warmup", "1", "--json"] + threadArgs)
            rows.append((r, bench.results.first?.imagesPerSecond ?? 0))
        }

        note("4/4 done")
        if video {
            print("\nFine-tuning a space-time ViT pretrained on moving-square clips (width 48, 2 blocks, 4 frames of 32×32, tubelets of 2) on new clips; \(ftEpochs) epochs each:")
        } else {
            print("\nFine-tuning a ViT pretrained on four shapes (width 64, 6 blocks, 64×64 images) to four new shapes; \(ftEpochs) epochs each:")
        }
        let u = video ? "clip" : "img"
        print("method          top-1    trainable   GFLOPs   train \(u)/s   infer \(u)/s   peak RSS MiB")
        for (r, inferImagesPerSecond) in rows {
            let name = r.method.padding(toLength: 14, withPad: " ", startingAt: 0)
            print(name + String(format: " %6.1f%%  %9.1f K  %7.3f  %12.1f  %12.1f  %13.0f",
                         100 * (r.evalTop1 ?? 0), Double(r.trainableParameters) / 1e3, r.gflops,
                         r.trainImagesPerSecond, inferImagesPerSecond, r.peakRSSMB))
        }
        print("GFLOPs per \(video ? "clip" : "image") follow fvcore (1 multiply-accumulate = 1 FLOP); train img/s include data loading and evaluation;"
              + " peak RSS is each training process's. Files: \(dir)")
    }

    /// The segmentation demo: generated shapes with masks; a small ViT pretrained from random weights (full
    /// fine-tuning with the linear head), then Sparse-Tuning with each restoration rule and the dense baselines.
    private func runSegmentation(_ dir: String) throws {
        let threadArgs = threads.map { ["--threads", "\($0)"] } ?? []
        let (trainCount, valCount) = quick ? (48, 16) : (600, 100)
        let (preIters, ftIters) = quick ? (4, 2) : (3000, 400)
        note("1/3 writing synthetic segmentation data (\(SyntheticSegmentation.classNames.joined(separator: ", "))) to \(dir)")
        let data = "\(dir)/shapes-seg", newData = "\(dir)/shapes-seg-new"
        try SyntheticSegmentation.write(to: data, splits: [("train", trainCount), ("val", valCount)], size: 64, seed: 1)
        try SyntheticSegmentation.write(to: newData, splits: [("train", trainCount), ("val", valCount)], size: 64, seed: 2)
        let common = ["--crop-size", "64", "--scale", "256,64", "--batch", "16", "--warmup-iters", quick ? "1" : "100", "--json"] + threadArgs
        note("2/3 pretraining a small ViT (width 48, 4 blocks, patch 8) from random weights: \(preIters) iterations")
        let backbone = "\(dir)/seg-backbone.safetensors"
        let pre = try child(SegmentationDemoJSON.self, ["train", "--method", "full", "--data", data, "--iters", "\(preIters)", "--lr", "1e-3",
                                                        "--eval-every", "\(preIters)", "--output", backbone] + Self.segmentationArchitecture + common)
        note(String(format: "    pretrained: mIoU %.1f%% on held-out images", 100 * (pre.miou ?? 0)))
        note("3/3 fine-tuning on new images: \(ftIters) iterations each")
        var rows: [(String, SegmentationDemoJSON)] = []
        let runs: [(String, [String])] = [("dense (linear probe)", ["--method", "linear"]),
                                          ("dense adapters, no sparsification", ["--method", "sparse-tuning", "--keep-rate", "1"]),
                                          ("sparse-tuning, copy", ["--method", "sparse-tuning", "--restore", "copy"]),
                                          ("sparse-tuning, nearest", ["--method", "sparse-tuning", "--restore", "nearest"])]
        for (name, args) in runs {
            let r = try child(SegmentationDemoJSON.self, ["train", "--weights", backbone, "--data", newData, "--iters", "\(ftIters)", "--lr", "1e-3",
                                                         "--eval-every", "\(ftIters)", "--output", "\(dir)/seg-\(rows.count).safetensors"] + args + common)
            note(String(format: "    %@: mIoU %.1f%%", name, 100 * (r.miou ?? 0)))
            rows.append((name, r))
        }
        print("\nSegmentation of shapes on clutter (4 classes, 64×64, patch 8: 64 tokens; width 48, 4 blocks), fine-tuned \(ftIters) iterations from a ViT pretrained on other images:")
        print("setting                              mIoU    aAcc   GFLOPs   trainable")
        for (name, r) in rows {
            print(name.padding(toLength: 34, withPad: " ", startingAt: 0)
                  + String(format: " %6.1f%%  %6.1f%%  %6.4f  %8.1f K", 100 * (r.miou ?? 0), 100 * (r.aacc ?? 0), r.gflops, Double(r.trainableParameters) / 1e3))
        }
        print("GFLOPs per image (fvcore: 1 multiply-accumulate = 1 FLOP), backbone at its real token counts + head. Files: \(dir)")
    }

    /// Runs this executable with `args`, streaming its progress (stderr) and parsing the JSON it prints on stdout.
    private func child<Summary: Decodable>(_ summary: Summary.Type, _ args: [String]) throws -> Summary {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0].contains("/")
            ? CommandLine.arguments[0] : Bundle.main.executablePath ?? CommandLine.arguments[0])
        p.arguments = args
        let stdout = Pipe()
        p.standardOutput = stdout
        p.standardError = FileHandle.standardError
        try p.run()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw SparseTuningError("the demo step `sparse-tune \(args.prefix(3).joined(separator: " ")) …` failed (exit \(p.terminationStatus))")
        }
        do {
            return try JSONCoding.decode(summary, from: data, source: "the output of `sparse-tune \(args.first ?? "")`")
        } catch {
            throw SparseTuningError("the demo step `sparse-tune \(args.first ?? "")` printed no JSON summary (\(error))")
        }
    }
}

/// The part of a segmentation `train --json` the demo reads.
private struct SegmentationDemoJSON: Decodable {
    var miou: Double?
    var aacc: Double?
    var gflops: Double
    var trainableParameters: Int

    private enum CodingKeys: String, CodingKey { case miou, aacc, gflops, trainableParameters = "trainable_parameters" }
}

/// The part of `bench --json` the demo reads: each batch size's inference rate.
private struct BenchJSON: Decodable {
    struct Row: Decodable {
        var imagesPerSecond: Double

        private enum CodingKeys: String, CodingKey { case imagesPerSecond = "images_per_s" }
    }

    var results: [Row]
}
