// The complete-dataset recipe (docs/METHOD.md §5: mixup 0.8, cutmix 1.0, smoothing 0.1, random-resized-crop + flip, 20
// warm-up epochs of 100) end to end through the library on generated CIFAR-100 binaries and a Food-101 folder:
// DatasetLocator recognises each layout, and one epoch of Trainer runs, evaluates and writes its task file.
import XCTest
import Foundation
@testable import SparseTuning

final class ExperimentRecipesTests: XCTestCase {
    /// `cifar-100-binary/{train,test}.bin`: records of (coarse label, fine label, 1024 R, 1024 G, 1024 B) built from
    /// 32×32 synthetic images whose fine label is the shape class, plus `fine_label_names.txt`.
    func writeCIFAR100(in dir: String, train: Int, test: Int) throws -> String {
        let folder = "\(dir)/cifar-100-binary"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let synth = try SyntheticImages(size: 32, classes: 5)
        for (name, count, offset) in [("train.bin", train, 0), ("test.bin", test, train)] {
            var bytes: [UInt8] = []
            for i in 0..<count {
                let (image, label) = synth.sample(offset + i, seed: 11)
                bytes += [UInt8(label / 5), UInt8(label)]  // coarse, fine
                for c in 0..<3 { for p in 0..<1024 { bytes.append(image.pixels[3 * p + c]) } }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/\(name)"))
        }
        let names = (0..<100).map { "class\($0)" }.joined(separator: "\n") + "\n"
        try names.write(toFile: "\(folder)/fine_label_names.txt", atomically: true, encoding: .utf8)
        return dir
    }

    /// Food-101's layout: `images/<class>/<id>.jpg` (PNG content; the decoder goes by the bytes), `meta/classes.txt`,
    /// `meta/train.txt` and `meta/test.txt` with lines `<class>/<id>`.
    func writeFood101(in dir: String, perClassTrain: Int, perClassTest: Int) throws -> String {
        let root = "\(dir)/food-101"
        let synth = try SyntheticImages(size: 40, classes: 3)
        let classes = ["apple_pie", "baby_back_ribs", "baklava"]
        var lists: [String: [String]] = [:]
        var index = 0
        for (label, name) in classes.enumerated() {
            try FileManager.default.createDirectory(atPath: "\(root)/images/\(name)", withIntermediateDirectories: true)
            for k in 0..<(perClassTrain + perClassTest) {
                // Sample indices with this label: label, label + 3, …
                let (image, l) = synth.sample(label + 3 * k, seed: 5)
                XCTAssertEqual(l, label)
                let id = String(100_000 + index)
                index += 1
                try PNGEncoder.write(image, to: "\(root)/images/\(name)/\(id).jpg")
                lists[k < perClassTrain ? "train" : "test", default: []].append("\(name)/\(id)")
            }
        }
        try FileManager.default.createDirectory(atPath: "\(root)/meta", withIntermediateDirectories: true)
        try (classes.joined(separator: "\n") + "\n").write(toFile: "\(root)/meta/classes.txt", atomically: true, encoding: .utf8)
        for (split, lines) in lists {
            try (lines.joined(separator: "\n") + "\n").write(toFile: "\(root)/meta/\(split).txt", atomically: true, encoding: .utf8)
        }
        return root
    }

    /// One epoch of the complete recipe on `path`, evaluated with timm's centre crop; returns the summary.
    func trainComplete(_ path: String, dir: String, imageSize: Int) throws -> (TrainingSummary, TunedViT) {
        let format = try DatasetLocator.detect(path)
        let splits = DatasetLocator.defaultSplits(format)
        let train = try DatasetLocator.open(path, split: splits.train, format: format)
        let test = try DatasetLocator.open(path, split: splits.eval, format: format)
        var config = ViTConfig(dim: 32, depth: 4, heads: 2, mlpDim: 64, patch: 8, imageSize: imageSize)
        config.classes = 0
        let backbone = try ExperimentBackbone(config: config, tensors: Dictionary(
            uniqueKeysWithValues: try VisionTransformer(config: config, seed: 2).stateDict().map { ($0.name, $0.tensor) }))
        let model = try backbone.makeModel(tuning: .defaults(for: .sparseTuning), classes: train.classNames.count)
        var options = TrainingOptions.completeDataset
        XCTAssertEqual(options.mixup, 0.8)
        XCTAssertEqual(options.cutmix, 1.0)
        XCTAssertEqual(options.labelSmoothing, 0.1)
        XCTAssertTrue(options.augment)
        XCTAssertEqual(options.warmupEpochs, 20)
        XCTAssertEqual(options.epochs, 100)
        options.epochs = 1
        options.batchSize = 8
        let trainer = try Trainer(model: model, options: options, train: train, eval: test, normalization: .inception,
                                  evalResize: .shortSideCrop(cropPct: 0.9), output: "\(dir)/task.safetensors",
                                  metricsPath: "\(dir)/metrics.jsonl", classNames: train.classNames)
        return (try trainer.run(), model)
    }

    func testCompleteRecipeOnCIFAR100Binaries() throws {
        let dir = temporaryDirectory(self)
        let root = try writeCIFAR100(in: dir, train: 24, test: 10)
        XCTAssertEqual(try DatasetLocator.detect(root), .cifar)
        let (summary, model) = try trainComplete(root, dir: dir, imageSize: 32)
        XCTAssertEqual(model.config.classes, 100)
        XCTAssertEqual(summary.epochs, 1)
        XCTAssertEqual(summary.steps, 3)  // 24 images, batch 8
        XCTAssertTrue(summary.finalLoss.isFinite && summary.finalLoss > 0)
        let eval = try XCTUnwrap(summary.evaluation)
        XCTAssertEqual(eval.samples, 10)
        XCTAssertTrue((0...1).contains(eval.top1))
        let task = try TrainingCheckpoint.loadTask("\(dir)/task.safetensors")
        XCTAssertEqual(task.tensors["head.weight"]?.shape, [100, 32])
        let saved = try TaskConfig.decode(task.configJSON, file: "task.safetensors")
        XCTAssertEqual(saved.classNames?.first, "class0")
        XCTAssertEqual(try String(contentsOfFile: "\(dir)/metrics.jsonl", encoding: .utf8).split(separator: "\n").count, 1)
    }

    func testCompleteRecipeOnFood101Layout() throws {
        let dir = temporaryDirectory(self)
        let root = try writeFood101(in: dir, perClassTrain: 6, perClassTest: 2)
        XCTAssertEqual(try DatasetLocator.detect(root), .food101)
        let (summary, model) = try trainComplete(root, dir: dir, imageSize: 32)
        XCTAssertEqual(model.config.classes, 3)
        XCTAssertEqual(summary.steps, 2)  // 18 images, batch 8, last partial batch dropped
        XCTAssertTrue(summary.finalLoss.isFinite)
        XCTAssertEqual(summary.evaluation?.samples, 6)
        let saved = try TaskConfig.decode(try TrainingCheckpoint.loadTask("\(dir)/task.safetensors").configJSON, file: "task")
        XCTAssertEqual(saved.classNames, ["apple_pie", "baby_back_ribs", "baklava"])
    }

    func testBinaryTrainsCompleteRecipeOnCIFAR100() throws {
        let dir = temporaryDirectory(self)
        let root = try writeCIFAR100(in: dir, train: 16, test: 8)
        let (weights, _) = try writeTinyBackbone(in: dir)
        let (code, out, err) = try runSparseTune(["train", "--recipe", "complete", "--weights", weights] + tinyModelFlags
            + ["--data", root, "--epochs", "1", "--batch", "8", "--output", "\(dir)/cifar.safetensors", "--json"])
        XCTAssertEqual(code, 0, err)
        XCTAssertTrue(out.contains("\"eval_top1\""), out)
        XCTAssertTrue(err.contains("100 classes, cifar"), err)
    }
}
