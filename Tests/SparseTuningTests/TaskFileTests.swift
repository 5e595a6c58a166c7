// Self-describing task files (docs/METHOD.md §7): every configuration field round-trips, older files without the
// new keys still load, the backbone fingerprint is stable across save/load and catches another backbone (with an
// override), the layering rules give clean errors instead of a crash, and `predict` serves a VTAB-trained task
// with the preprocessing it was evaluated with, so it agrees with `eval` on every image.
import XCTest
import Foundation
@testable import SparseTuning

final class TaskFileTests: XCTestCase {
    func fullConfig() -> TaskConfig {
        var vit = ViTConfig(dim: 32, depth: 4, heads: 2, mlpDim: 64, patch: 8, imageSize: 32)
        vit.classes = 3
        var recipe = TrainingOptions()
        recipe.epochs = 7
        recipe.ema = 0.999
        recipe.clipGrad = 1.5
        return TaskConfig(vit: vit, tuning: .defaults(for: .sparseTuning), classNames: ["a", "b", "c, d"],
                          normalization: "imagenet", backboneFingerprint: "fnv1a64-s1024:0123456789abcdef",
                          preprocessing: TaskPreprocessing(size: 32, mode: .shortSideCrop(cropPct: 0.875), normalization: .imagenet),
                          recipe: recipe,
                          metrics: TaskMetrics(epochs: 7, steps: 70, trainLoss: 0.5, trainAccuracy: 0.75, evalTop1: 0.625,
                                               evalTop5: 1, bestEvalTop1: 0.7, bestEpoch: 5),
                          libraryVersion: SparseTuningVersion.string)
    }

    func testTaskFileRoundTripsEveryField() throws {
        let dir = temporaryDirectory(self)
        let config = fullConfig()
        let path = "\(dir)/task.safetensors"
        try TrainingCheckpoint.saveTask([("head.weight", Tensor(zeros: [3, 32])), ("head.bias", Tensor(zeros: [3]))],
                                        configJSON: config.encoded(), to: path)
        let loaded = try TaskConfig.decode(try TrainingCheckpoint.loadTask(path).configJSON, file: path)
        XCTAssertEqual(loaded, config)
        XCTAssertEqual(loaded.preprocessing?.resize, "crop")
        XCTAssertEqual(loaded.preprocessing?.cropFraction, 0.875)
        XCTAssertEqual(try loaded.preprocessing?.resizeMode(file: path), .shortSideCrop(cropPct: 0.875))
        XCTAssertEqual(try loaded.preprocessing?.channelNormalization(file: path), .imagenet)
        XCTAssertEqual(loaded.recipe?.epochs, 7)
        XCTAssertEqual(loaded.recipe?.ema, 0.999)
        let json = config.encoded()
        for key in ["\"backboneFingerprint\"", "\"preprocessing\"", "\"recipe\"", "\"metrics\"", "\"libraryVersion\"",
                    "\"cropFraction\"", "\"mean\"", "\"std\""] {
            XCTAssertTrue(json.contains(key), "\(key) in \(json)")
        }
    }

    /// A task file as earlier versions wrote it (only vit, tuning, classNames, normalization) still loads: no
    /// fingerprint check, the commands' default preprocessing.
    func testOlderTaskFilesWithoutTheNewKeysStillLoad() throws {
        let dir = temporaryDirectory(self)
        let (backbone, _) = try writeTinyBackbone(in: dir)
        var vit = ViTConfig(dim: 32, depth: 4, heads: 2, mlpDim: 64, patch: 8, imageSize: 32)
        vit.classes = 2
        let legacyJSON = TaskConfig(vit: vit, tuning: .defaults(for: .linear), classNames: ["x", "y"],
                                    normalization: "inception").encoded()
        for key in ["backboneFingerprint", "preprocessing", "recipe", "metrics", "libraryVersion"] {
            XCTAssertFalse(legacyJSON.contains(key), legacyJSON)
        }
        let decoded = try TaskConfig.decode(legacyJSON, file: "old")
        XCTAssertNil(decoded.backboneFingerprint)
        XCTAssertNil(decoded.preprocessing)
        // A recipe from another version (unknown shape) is dropped, not fatal.
        let odd = legacyJSON.dropLast() + ",\"recipe\":{\"epochs\":\"many\"}}"
        XCTAssertNil(try TaskConfig.decode(String(odd), file: "odd").recipe)

        let task = "\(dir)/old.safetensors"
        var rng = SeededGenerator(seed: 5)
        let w = Tensor(zeros: [2, 32])
        for i in 0..<w.count { w[i] = rng.normal() }
        try TrainingCheckpoint.saveTask([("head.weight", w), ("head.bias", Tensor(zeros: [2]))], configJSON: legacyJSON, to: task)
        let image = try SyntheticImages(size: 40, classes: 2).sample(0, seed: 1).image
        try PNGEncoder.write(image, to: "\(dir)/a.png")
        let (code, out, err) = try runSparseTune(["predict", "--weights", backbone, "--weights", task, "--image", "\(dir)/a.png", "--json"])
        XCTAssertEqual(code, 0, err)
        XCTAssertTrue(out.contains("\"label\" : \"x\"") || out.contains("\"label\" : \"y\""), out)
    }

    func testFingerprintIsStableAcrossSaveLoadAndSeesAChangedTensor() throws {
        let dir = temporaryDirectory(self)
        let (path, config) = try writeTinyBackbone(in: dir)
        func model(_ file: String) throws -> TunedViT {
            let m = try TunedViT(backbone: VisionTransformer(config: config, seed: 99), tuning: .defaults(for: .linear))
            try m.load(try Checkpoint.load(file).tensors)
            return m
        }
        let original = try TunedViT(backbone: VisionTransformer(config: config, seed: 1), tuning: .defaults(for: .linear))
        let a = try XCTUnwrap(original.backboneFingerprint)
        XCTAssertTrue(a.hasPrefix("fnv1a64-s1024:"), a)
        XCTAssertEqual(a.count, "fnv1a64-s1024:".count + 16)
        XCTAssertEqual(try model(path).backboneFingerprint, a)
        // Re-saving the loaded fp32 tensors gives the same fingerprint.
        let again = "\(dir)/again.safetensors"
        try Safetensors.write(try model(path).backbone.stateDict(), to: again)
        XCTAssertEqual(try model(again).backboneFingerprint, a)
        // The fingerprint covers the frozen tensors only: the trained tensors of other methods do not enter it,
        // and full fine-tuning freezes nothing.
        let sparse = try TunedViT(backbone: VisionTransformer(config: config, seed: 1), tuning: .defaults(for: .sparseTuning))
        XCTAssertEqual(sparse.backboneFingerprint, a)
        XCTAssertNil(try TunedViT(backbone: VisionTransformer(config: config, seed: 1), tuning: .defaults(for: .full)).backboneFingerprint)
        // One tensor changed (shifted) → another fingerprint; another seed → another fingerprint.
        let changed = try writeChangedBackbone(path, in: dir)
        XCTAssertNotEqual(try model(changed).backboneFingerprint, a)
        XCTAssertNotEqual(try TunedViT(backbone: VisionTransformer(config: config, seed: 2), tuning: .defaults(for: .linear)).backboneFingerprint, a)
    }

    /// Trains a sparse-tuning task with the VTAB recipe for 2 epochs on a generated 4-class VTAB folder of 48×48
    /// images (the model sees 32×32, so squash and centre crop differ); returns (backbone, task, data folder).
    func trainVTABTask(in dir: String) throws -> (backbone: String, task: String, data: String) {
        let (backbone, _) = try writeTinyBackbone(in: dir)
        let data = try SyntheticImages(size: 48, classes: 4).writeVTABTask(root: "\(dir)/vtab", task: "shapes",
                                                                            trainCount: 24, testCount: 16, seed: 7,
                                                                            writeClassNames: true)
        let task = "\(dir)/task.safetensors"
        let (code, out, err) = try runSparseTune(["train", "--weights", backbone] + tinyModelFlags
            + ["--rank", "4", "--data", data, "--epochs", "2", "--batch", "8", "--warmup-epochs", "0", "--lr", "0.01",
               "--output", task, "--json"])
        XCTAssertEqual(code, 0, err)
        // The one-line summary scripts/ read keeps its keys.
        XCTAssertEqual(out.split(separator: "\n").count, 1, out)
        XCTAssertEqual(try jsonTree(out).keys, [
            "method", "epochs", "steps", "final_loss", "train_accuracy", "train_images_per_s", "seconds", "peak_rss_mb",
            "trainable_parameters", "trainable_parameters_without_head", "gflops", "output", "eval_top1", "eval_top5",
            "eval_images_per_s", "skipped_samples", "world_size", "allreduce_seconds", "allreduce_bytes_per_step"])
        return (backbone, task, data)
    }

    func testVTABTaskIsSelfDescribingAndPredictAgreesWithEvalOnEveryImage() throws {
        let dir = temporaryDirectory(self)
        let (backbone, task, data) = try trainVTABTask(in: dir)
        let config = try TaskConfig.decode(try TrainingCheckpoint.loadTask(task).configJSON, file: task)
        XCTAssertEqual(config.preprocessing, TaskPreprocessing(size: 32, mode: .squash, normalization: .inception))
        XCTAssertEqual(config.classNames, SyntheticImages.shapes.prefix(4).map { $0 })
        XCTAssertEqual(config.tuning.method, .sparseTuning)
        XCTAssertEqual(config.recipe?.epochs, 2)
        XCTAssertEqual(config.recipe?.lr, 0.01)
        XCTAssertEqual(config.metrics?.epochs, 2)
        XCTAssertEqual(config.metrics?.steps, 6)
        XCTAssertNotNil(config.metrics?.evalTop1)
        XCTAssertEqual(config.libraryVersion, SparseTuningVersion.string)
        let m = try TunedViT(backbone: VisionTransformer(config: config.vit, seed: nil), tuning: config.tuning)
        try m.load(try Checkpoint.load(backbone).tensors, freshHead: true)
        XCTAssertEqual(config.backboneFingerprint, m.backboneFingerprint)

        // eval: per-image predictions (squash, from the task file).
        let csv = "\(dir)/pred.csv"
        let (ecode, _, eerr) = try runSparseTune(["eval", "--weights", backbone, "--weights", task, "--data", data,
                                                  "--predictions", csv])
        XCTAssertEqual(ecode, 0, eerr)
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(rows.count, 16)
        var evalTop1: [String: Int] = [:]
        for row in rows {
            let f = row.split(separator: ",").map(String.init)
            evalTop1[f[1]] = Int(f[3])!
        }
        // predict with no preprocessing flags: the task's squash + inception.
        let images = evalTop1.keys.sorted()
        let (pcode, out, perr) = try runSparseTune(["predict", "--weights", backbone, "--weights", task, "--top", "1", "--json"]
                                                   + images.flatMap { ["--image", $0] })
        XCTAssertEqual(pcode, 0, perr)
        let predicted = try predictTop1(out)
        XCTAssertEqual(predicted.count, images.count)
        for image in images { XCTAssertEqual(predicted[image], evalTop1[image], image) }

        // Explicit flags still override: --resize crop gives other inputs (at least one probability changes).
        let (ccode, cropped, cerr) = try runSparseTune(["predict", "--weights", backbone, "--weights", task, "--top", "1",
                                                        "--json", "--resize", "crop"] + images.flatMap { ["--image", $0] })
        XCTAssertEqual(ccode, 0, cerr)
        XCTAssertNotEqual(cropped, out)
        // eval --eval-resize crop overrides the task's squash too.
        let (c2, o2, e2) = try runSparseTune(["eval", "--weights", backbone, "--weights", task, "--data", data,
                                              "--eval-resize", "crop", "--predictions", "\(dir)/crop.csv", "--json"])
        XCTAssertEqual(c2, 0, e2)
        let evaluation = try jsonTree(o2)
        XCTAssertEqual(evaluation.keys, ["samples", "top1", "top5", "loss", "images_per_s", "skipped_images", "per_class_accuracy"])
        XCTAssertLessThanOrEqual(try XCTUnwrap(evaluation["top1"]?.double), 1, "top1 is a fraction")
        XCTAssertEqual(evaluation["per_class_accuracy"]?[0]?.keys, ["class", "name", "accuracy", "support"])
        XCTAssertNotEqual(try String(contentsOfFile: "\(dir)/crop.csv", encoding: .utf8).count, 0)
        // visualize defaults to the task's preprocessing as well.
        let (vcode, vout, verr) = try runSparseTune(["visualize", "--weights", backbone, "--weights", task, "--image", images[0],
                                                     "--out", "\(dir)/v.png"])
        XCTAssertEqual(vcode, 0, verr)
        XCTAssertTrue(vout.contains("v.png"), vout)
    }

    /// image → top-1 class from `predict --json`.
    func predictTop1(_ json: String) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for p in try XCTUnwrap(try jsonTree(json)["predictions"]?.array) {
            out[try XCTUnwrap(p["image"]?.string)] = try XCTUnwrap(p["top"]?[0]?["class"]?.int)
        }
        return out
    }

    func testBackboneMismatchAndLayeringErrors() throws {
        let dir = temporaryDirectory(self)
        let (backbone, task, data) = try trainVTABTask(in: dir)
        let image = "\(data)/images/test/000000.png"
        let config = try TaskConfig.decode(try TrainingCheckpoint.loadTask(task).configJSON, file: task)
        let trainedOn = try XCTUnwrap(config.backboneFingerprint)

        // Same backbone: fine.
        let (ok, _, okErr) = try runSparseTune(["predict", "--weights", backbone, "--weights", task, "--image", image])
        XCTAssertEqual(ok, 0, okErr)
        // One tensor changed: an error naming both fingerprints and the files.
        let changed = try writeChangedBackbone(backbone, in: dir)
        let (code, _, err) = try runSparseTune(["predict", "--weights", changed, "--weights", task, "--image", image])
        XCTAssertEqual(code, 1)
        XCTAssertTrue(err.hasPrefix("error: "), err)
        XCTAssertEqual(err.split(separator: "\n").count, 1, err)
        for part in [trainedOn, "fnv1a64-s1024:", "changed.safetensors", "task.safetensors", "--ignore-backbone-mismatch"] {
            XCTAssertTrue(err.contains(part), "\(part) in \(err)")
        }
        let actual = err.components(separatedBy: "is ").last!.prefix("fnv1a64-s1024:".count + 16)
        XCTAssertTrue(actual.hasPrefix("fnv1a64-s1024:") && actual != Substring(trainedOn), err)
        try assertCLIError(["eval", "--weights", changed, "--weights", task, "--data", data], mentions: trainedOn)
        // The override: a note, and it runs.
        let (over, _, overErr) = try runSparseTune(["predict", "--weights", changed, "--weights", task, "--image", image,
                                                    "--ignore-backbone-mismatch"])
        XCTAssertEqual(over, 0, overErr)
        XCTAssertTrue(overErr.contains("note:") && overErr.contains(trainedOn), overErr)

        // The reported crash: a backbone with a 52-class head layered after the (4-class) task file is a clean error
        // naming both files, not an illegal instruction.
        var tensors = try Checkpoint.load(backbone).tensors
        tensors["head.weight"] = Tensor(zeros: [52, 32])
        tensors["head.bias"] = Tensor(zeros: [52])
        let headed = "\(dir)/backbone52.safetensors"
        try Safetensors.write(tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: headed)
        try assertCLIError(["predict", "--weights", headed, "--weights", task, "--weights", headed, "--image", image],
                           mentions: "would replace tensor 'head.bias' of task file \(task)")
        try assertCLIError(["predict", "--weights", backbone, "--weights", task, "--weights", headed, "--image", image],
                           mentions: "backbone52.safetensors")
        // Before the task file, the 52-class head is simply replaced by the task's (rule 1).
        let (before, _, beforeErr) = try runSparseTune(["predict", "--weights", headed, "--weights", task, "--image", image])
        XCTAssertEqual(before, 0, beforeErr)
        // A full fine-tune (a task file holding a whole network) serves as the backbone of a later task file.
        let full = "\(dir)/full.safetensors"
        let (fcode, _, ferr) = try runSparseTune(["train", "--weights", backbone] + tinyModelFlags
            + ["--method", "full", "--data", data, "--epochs", "1", "--batch", "8", "--no-eval", "--output", full])
        XCTAssertEqual(fcode, 0, ferr)
        let onFull = "\(dir)/on-full.safetensors"
        let (ocode, _, oerr) = try runSparseTune(["train", "--weights", full, "--method", "linear", "--data", data,
                                                  "--epochs", "1", "--batch", "8", "--no-eval", "--output", onFull])
        XCTAssertEqual(ocode, 0, oerr)
        let (lcode, _, lerr) = try runSparseTune(["predict", "--weights", full, "--weights", onFull, "--image", image])
        XCTAssertEqual(lcode, 0, lerr)
        // … but not on the original backbone (the full fine-tune changed every tensor).
        try assertCLIError(["predict", "--weights", backbone, "--weights", onFull, "--image", image], mentions: "trained on backbone")
        // A resume state; flags that contradict the task.
        try assertCLIError(["predict", "--weights", backbone, "--weights", TrainingCheckpoint.resumePath(forTask: task),
                            "--image", image], mentions: "is a resume state")
        try assertCLIError(["predict", "--weights", backbone, "--weights", task, "--classes", "52", "--image", image],
                           mentions: "--classes 52 disagrees with task file")
        try assertCLIError(["predict", "--weights", backbone, "--weights", task, "--method", "lora", "--image", image],
                           mentions: "--method lora disagrees with task file")
        try assertCLIError(["eval", "--weights", backbone, "--weights", task, "--depth", "6", "--dim", "32", "--heads", "2",
                            "--patch", "8", "--data", data], mentions: "--depth 6 disagrees with task file")
    }
}
