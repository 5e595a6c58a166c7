// The keep-rate sweep end to end on a tiny backbone and a synthetic VTAB-style task: points trained (and shared
// when the blocks cannot matter), sweep.csv, the PNG charts decoded back, SVGs and PDFs, --no-train evaluation of a task
// file, resumability, error paths and the `sparse-tune sweep` binary.
import XCTest
import Foundation
@testable import SparseTuning

final class ExperimentSweepTests: XCTestCase {
    func sweep(_ dir: String, config: ViTConfig, weights: String, data: String) throws -> SweepExperiment {
        let backbone = try ExperimentBackbone(config: config, weights: [weights])
        let train = try VTABDataset.open(root: data, task: "eurosat", split: "train800val200")
        let test = try VTABDataset.open(root: data, task: "eurosat", split: "test")
        var s = SweepExperiment(backbone: backbone, train: train, eval: test, classes: 10,
                                baseTuning: .defaults(for: .sparseTuning), outputDirectory: "\(dir)/sweep")
        s.keepRates = [1, 0.7, 0.5]
        s.tsLayersList = [[1], nil]  // nil: the depth's default, blocks 1, 2, 3 of 4
        s.options.epochs = 1
        s.options.batchSize = 8
        s.options.warmupEpochs = 0
        s.throughput = quickProbe
        return s
    }

    /// Distinct colours of an image (a blank chart would have one or two).
    func colourCount(_ image: RGBImage) -> Int {
        var seen = Set<Int>()
        for i in stride(from: 0, to: image.pixels.count, by: 3) {
            seen.insert(Int(image.pixels[i]) << 16 | Int(image.pixels[i + 1]) << 8 | Int(image.pixels[i + 2]))
        }
        return seen.count
    }

    func testSweepTrainsPointsWritesCSVAndCharts() throws {
        let dir = temporaryDirectory(self)
        let (weights, config) = try writeTinyBackbone(in: dir)
        let data = try writeMiniVTAB(in: dir)
        var s = try sweep(dir, config: config, weights: weights, data: data)
        var lines: [String] = []
        s.log = { lines.append($0) }
        let report = try s.run()

        XCTAssertEqual(report.points.map(\.keepRate), [1, 0.7, 0.5, 1, 0.7, 0.5])
        XCTAssertEqual(report.points.map(\.tsLayersText), ["1", "1", "1", "1-2-3", "1-2-3", "1-2-3"])
        XCTAssertTrue(report.points.allSatisfy { $0.trained && $0.samples == 8 && $0.imagesPerSecond > 0 })
        // κ = 1 drops no token: the second series reuses the first's model (trained once).
        XCTAssertTrue(lines.contains { $0.contains("[4/6]") && $0.contains("same model") }, "\(lines)")
        XCTAssertEqual(report.points[3].top1, report.points[0].top1)
        let pointFolders = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/sweep/points").sorted()
        XCTAssertEqual(pointFolders, ["k0.5_ts1", "k0.5_ts1-2-3", "k0.7_ts1", "k0.7_ts1-2-3", "k1_ts1"])
        // Fewer tokens, fewer FLOPs; each point's figure against the hand count of its setting (Dense Adapters of the
        // default rank 32; blocks 1, 2, 3 when no --ts-layers are given).
        var c = config
        c.classes = 10
        for p in report.points {
            let reducing = Set(p.tsLayers ?? [1, 2, 3])
            let expected = handCountedFLOPs(c, keepRate: p.keepRate, reducing: reducing, denseRank: 32)
            XCTAssertEqual(p.gflops, Double(expected) / 1e9, accuracy: 1e-12, "κ \(p.keepRate), ts-layers \(p.tsLayersText)")
        }
        XCTAssertGreaterThan(report.points[0].gflops, report.points[1].gflops)
        XCTAssertGreaterThan(report.points[1].gflops, report.points[2].gflops)
        XCTAssertGreaterThan(report.points[4].gflops, report.points[5].gflops)
        XCTAssertGreaterThan(report.points[1].gflops, report.points[4].gflops, "three sparsifying blocks cost less than one")

        let csv = try String(contentsOfFile: "\(dir)/sweep/sweep.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(csv.first, SweepReport.csvHeader)
        XCTAssertEqual(csv.count, 7)
        let cells = csv[2].split(separator: ",").map(String.init)
        XCTAssertEqual(cells.count, csv[0].split(separator: ",").count)
        XCTAssertEqual(cells[0], "1")
        XCTAssertEqual(cells[1], "0.7")
        XCTAssertEqual(Double(cells[2])!, 100 * report.points[1].top1, accuracy: 0.006)
        XCTAssertEqual(Double(cells[5])!, report.points[1].gflops, accuracy: 1e-4)

        for name in [SweepReport.gflopsChart, SweepReport.throughputChart] {
            let png = try ImageDecoder.decode(path: "\(dir)/sweep/\(name).png")
            XCTAssertEqual(png.width, 900)
            XCTAssertEqual(png.height, 560)
            XCTAssertGreaterThan(colourCount(png), 4, "\(name).png is not blank")
            let svg = try String(contentsOfFile: "\(dir)/sweep/\(name).svg", encoding: .utf8)
            XCTAssertTrue(svg.contains("<svg") && svg.contains("width=\"900px\""), String(svg.prefix(300)))
            XCTAssertTrue(svg.contains("xlink:href=\"#glyph"), "text in \(name).svg")
            XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/sweep/\(name).pdf"), "PDF only when asked for")
        }
        XCTAssertEqual(report.gflopsChart.series.count, 2)
        XCTAssertEqual(report.gflopsChart.series[0].points.map(\.x), report.points[0...2].map(\.gflops).sorted())

        // Run again: finished points are read back, not retrained.
        let stamp = try FileManager.default.attributesOfItem(atPath: "\(dir)/sweep/points/k0.7_ts1/task.safetensors")[.modificationDate] as! Date
        lines = []
        s.log = { lines.append($0) }
        let again = try s.run()
        XCTAssertEqual(again.points, report.points)
        XCTAssertEqual(lines.filter { $0.contains("done earlier") }.count, 5, "\(lines)")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: "\(dir)/sweep/points/k0.7_ts1/task.safetensors")[.modificationDate] as! Date, stamp)

        // --no-train: the trained κ = 0.7 point's task file evaluated at every setting.
        let task = try TrainingCheckpoint.loadTask("\(dir)/sweep/points/k0.7_ts1-2-3/task.safetensors")
        var eval = try sweep(dir, config: config, weights: weights, data: data)
        eval.outputDirectory = "\(dir)/eval"
        eval.train = nil
        eval.trainedTensors = task.tensors
        eval.tsLayersList = [nil]
        let evaluated = try eval.run()
        XCTAssertEqual(evaluated.points.count, 3)
        XCTAssertTrue(evaluated.points.allSatisfy { !$0.trained && $0.trainSeconds == 0 })
        XCTAssertEqual(evaluated.points[1].top1, report.points[4].top1, "same tensors, same setting, same accuracy")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/eval/points"), "nothing trained")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/eval/\(SweepReport.gflopsChart).png"))
    }

    func testSweepErrors() throws {
        let dir = temporaryDirectory(self)
        let (weights, config) = try writeTinyBackbone(in: dir)
        let data = try writeMiniVTAB(in: dir)
        var s = try sweep(dir, config: config, weights: weights, data: data)
        s.keepRates = [0.7, 0]
        assertThrowsMessage(["--keep-rates", "0.0"]) { try s.run() }
        s.keepRates = []
        assertThrowsMessage(["no points"]) { try s.run() }
        s.keepRates = [0.7]
        s.tsLayersList = [[2, 9]]
        assertThrowsMessage(["--ts-layers", "0…3"]) { try s.run() }
        s.tsLayersList = [nil]
        s.train = nil
        assertThrowsMessage(["training data", "--no-train"]) { try s.run() }
        s.trainedTensors = ["head.weight": Tensor(zeros: [10, 32])]
        assertThrowsMessage(["missing tensor", "adapter"]) { try s.run() }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/sweep/sweep.csv"))
    }

    func testBinarySweep() throws {
        let dir = temporaryDirectory(self)
        let (weights, _) = try writeTinyBackbone(in: dir)
        let data = try writeMiniVTAB(in: dir)
        let args = ["sweep", "--weights", weights] + tinyModelFlags
            + ["--data", "\(data)/eurosat", "--keep-rates", "1,0.6", "--ts-layers-list", "1;1,3", "--epochs", "1", "--batch", "8",
               "--warmup-epochs", "0", "--bench-batch", "2", "--bench-seconds", "0", "--out", "\(dir)/sweep"]
        let (code, out, err) = try runSparseTune(args)
        XCTAssertEqual(code, 0, err)
        XCTAssertTrue(out.hasPrefix(SweepReport.csvHeader + "\n1,1,"), out)
        XCTAssertTrue(out.contains("\n1-3,0.6,"), out)
        for f in ["sweep.csv", "accuracy_vs_gflops.png", "accuracy_vs_gflops.svg", "accuracy_vs_images_per_s.png",
                  "accuracy_vs_images_per_s.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/sweep/\(f)"), f)
        }
        // Evaluate a trained point's task file at other keep rates.
        let (code2, out2, err2) = try runSparseTune(["sweep", "--weights", weights, "--data", "\(data)/eurosat", "--no-train",
                                                     "--task", "\(dir)/sweep/points/k0.6_ts1-3/task.safetensors",
                                                     "--keep-rates", "0.9,0.6", "--batch", "8", "--bench-seconds", "0", "--bench-batch", "2",
                                                     "--out", "\(dir)/eval", "--chart-formats", "pdf"])
        XCTAssertEqual(code2, 0, err2)
        XCTAssertTrue(out2.contains("accuracy_vs_gflops.{pdf}"), out2)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/eval/accuracy_vs_gflops.pdf")).prefix(5), Data("%PDF-".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/eval/accuracy_vs_gflops.png"))
        XCTAssertTrue(out2.contains("\n1-3,0.6,"), out2)  // the task file's blocks
        let trained = try String(contentsOfFile: "\(dir)/sweep/sweep.csv", encoding: .utf8).split(separator: "\n")[4]
        let evaluated = out2.split(separator: "\n")[2]
        XCTAssertEqual(trained.split(separator: ",")[2], evaluated.split(separator: ",")[2], "same accuracy")

        for (extra, mention) in [(["--keep-rates", "1,2"], "--keep-rates"), (["--ts-layers-list", "1;;2"], "--ts-layers-list"),
                                 (["--no-train"], "--task"), (["--recipe", "imagenet"], "--recipe"),
                                 (["--chart-formats", "png,jpg"], "--chart-formats")] {
            var a = args
            for i in stride(from: 0, to: extra.count, by: 2) {
                if extra[i] == "--no-train" { a.append(extra[i]); break }
                if let at = a.firstIndex(of: extra[i]) { a[at + 1] = extra[i + 1] } else { a += [extra[i], extra[i + 1]] }
            }
            let (c, _, e) = try runSparseTune(a)
            XCTAssertEqual(c, 1, "\(extra)")
            XCTAssertTrue(e.hasPrefix("error: ") && e.contains(mention), e)
        }
    }
}
