// The VTAB-1K experiment end to end on a generated two-task mini benchmark: configurations (embedded copies equal
// the repository's files, strict validation), results.csv / results.md contents, resumability, error paths, and
// the `sparse-tune vtab` binary. Also the helpers the other Experiment*Tests use.
import XCTest
import Foundation
@testable import SparseTuning

/// A tiny random ViT (32×32 images, patch 8, 4 blocks) saved as safetensors; returns the file and its config.
func writeTinyBackbone(in dir: String, seed: UInt64 = 1) throws -> (path: String, config: ViTConfig) {
    var config = ViTConfig(dim: 32, depth: 4, heads: 2, mlpDim: 64, patch: 8, imageSize: 32)
    config.classes = 0
    let path = "\(dir)/backbone.safetensors"
    try Safetensors.write(try VisionTransformer(config: config, seed: seed).stateDict(), to: path)
    return (path, config)
}

/// The model flags of the tiny backbone for the binary.
let tinyModelFlags = ["--dim", "32", "--depth", "4", "--heads", "2", "--mlp", "64", "--patch", "8", "--image-size", "32"]

/// Writes `vtab/cifar100` (the alias folder of `cifar`) and `vtab/eurosat`, 32×32 synthetic images, 16 train and 8
/// test images each; returns the root.
func writeMiniVTAB(in dir: String) throws -> String {
    let root = "\(dir)/vtab"
    let synth = try SyntheticImages(size: 32, classes: 4)
    try synth.writeVTABTask(root: root, task: "cifar100", trainCount: 16, testCount: 8, seed: 3)
    try synth.writeVTABTask(root: root, task: "eurosat", trainCount: 16, testCount: 8, seed: 4)
    return root
}

/// A benchmark probe that costs almost nothing.
let quickProbe = ThroughputProbe(batch: 2, warmup: 0, minIterations: 1, minSeconds: 0)

/// Asserts that `body` throws a ``SparseTuningError`` whose message contains every one of `mentions`.
func assertThrowsMessage(_ mentions: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected an error mentioning \(mentions)", file: file, line: line)
    } catch let error as SparseTuningError {
        for m in mentions { XCTAssertTrue(error.message.contains(m), "'\(error.message)' should mention '\(m)'", file: file, line: line) }
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}

final class ExperimentVTABTests: XCTestCase {
    var repo: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    func experiment(root: String, out: String, backbone: ExperimentBackbone, methods: [TuningMethod]) throws -> VTABExperiment {
        var e = VTABExperiment(root: root, outputDirectory: out, backbone: backbone, configs: try VTABConfigSet.embedded())
        e.methods = methods
        e.tasks = ["cifar100", "eurosat"]
        e.overrides.epochs = 2
        e.overrides.batchSize = 8
        e.overrides.warmupEpochs = 0
        e.throughput = quickProbe
        return e
    }

    // MARK: Configurations

    func testEmbeddedConfigsAreTheRepositoryFilesAndFollowSpec() throws {
        let dir = "\(repo)/configs/vtab"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertEqual(files.count, 19)
        XCTAssertEqual(VTABEmbeddedConfigs.files.map { $0.name + ".json" }.sorted(), files)
        for (name, json) in VTABEmbeddedConfigs.files {
            XCTAssertEqual(json, try String(contentsOfFile: "\(dir)/\(name).json", encoding: .utf8),
                           "\(name).json differs from the embedded copy: run configs/vtab/embed.sh")
        }
        let embedded = try VTABConfigSet.embedded(), onDisk = try VTABConfigSet.load(directory: dir)
        XCTAssertEqual(embedded.tasks, onDisk.tasks)
        for task in VTABDataset.tasks {
            let c = try XCTUnwrap(embedded.tasks[task.name])
            XCTAssertEqual(c.classes, task.classes)
            XCTAssertEqual(c.group, task.group)
            XCTAssertEqual(c.vptPrompts, task.vptPromptTokens, task.name)
            XCTAssertEqual(c.aliases, task.aliases)
            for method in TuningMethod.allCases {
                // docs/METHOD.md §5's VTAB-1K recipe: AdamW lr 1e-3, wd 1e-4, batch 64, 100 epochs, 10 warm-up, no
                // augmentation.
                XCTAssertEqual(c.trainingOptions(for: method), TrainingOptions(), "\(task.name) \(method)")
                XCTAssertEqual(c.tuning(for: method).dropPath, 0)
            }
            XCTAssertEqual(c.tuning(for: .vptDeep).prompts, task.vptPromptTokens)
        }
        XCTAssertEqual(embedded.config(named: "oxford_pet")?.name, "oxford_iiit_pet")
        XCTAssertEqual(embedded.config(named: "cifar100")?.classes, 100)
        XCTAssertNil(embedded.config(named: "imagenet"))
    }

    func testConfigOverridesLayerAndBadFilesNameFileAndKey() throws {
        let text = """
        {"name": "dtd", "classes": 47, "group": "Natural", "vpt_prompts": 10,
         "recipe": {"optimizer": "AdamW", "lr": 0.002, "epochs": 50},
         "methods": {"full": {"lr": 0.0001, "weight_decay": 0}, "sparse-tuning": {"keep_rate": 0.5, "ts_layers": [2, 5, 8]}}}
        """
        let c = try VTABTaskConfig.parse(text, file: "dtd.json")
        XCTAssertEqual(c.trainingOptions(for: .linear).lr, 0.002)
        XCTAssertEqual(c.trainingOptions(for: .linear).epochs, 50)
        XCTAssertEqual(c.trainingOptions(for: .full).lr, 0.0001)
        XCTAssertEqual(c.trainingOptions(for: .full).weightDecay, 0)
        XCTAssertEqual(c.trainingOptions(for: .full).epochs, 50)
        XCTAssertEqual(c.tuning(for: .sparseTuning).keepRate, 0.5)
        XCTAssertEqual(c.tuning(for: .sparseTuning).tsLayers, [2, 5, 8])
        XCTAssertEqual(c.tuning(for: .evit).keepRate, 0.7)

        func bad(_ json: String, _ mentions: String...) {
            assertThrowsMessage(["bad.json"] + mentions) { _ = try VTABTaskConfig.parse(json, file: "bad.json") }
        }
        let head = #""name": "dtd", "classes": 47, "group": "Natural""#
        bad("{\(head)}", "vpt_prompts", "missing")
        bad("{\(head), \"vpt_prompts\": 10, \"colour\": 1}", "at \"colour\": unknown key (allowed: name, classes")
        bad("{\(head), \"vpt_prompts\": \"ten\"}", "at \"vpt_prompts\": expected an integer, found a string")
        bad("{\(head), \"vpt_prompts\": 10, \"recipe\": {\"lr\": -1}}", "recipe.lr")
        bad("{\(head), \"vpt_prompts\": 10, \"recipe\": {\"learning_rate\": 1}}", "recipe.learning_rate")
        bad("{\(head), \"vpt_prompts\": 10, \"recipe\": {\"optimizer\": \"sgd\"}}", "recipe.optimizer", "sgd")
        bad("{\(head), \"vpt_prompts\": 10, \"methods\": {\"noah\": {}}}", "methods.noah")
        bad("{\(head), \"vpt_prompts\": 10, \"methods\": {\"full\": {\"optimizer\": \"adamw\"}}}", "methods.full.optimizer")
        bad("{\(head), \"vpt_prompts\": 10, \"methods\": {\"evit\": {\"keep_rate\": 1.5}}}", "methods.evit.keep_rate", "(0, 1]")
        bad("{\(head), \"vpt_prompts\": 10, \"recipe\": {\"ts_layers\": [6, 3]}}", "recipe.ts_layers")
        bad(#"{"name": "dtd", "classes": 47, "group": "Nature", "vpt_prompts": 1}"#, "group", "Nature")
        bad("{\(head), \"vpt_prompts\": 10", "not valid JSON")

        // A folder: the file name, the docs/METHOD.md §8 table and completeness are checked.
        let dir = temporaryDirectory(self)
        for (name, json) in VTABEmbeddedConfigs.files { try json.write(toFile: "\(dir)/\(name).json", atomically: true, encoding: .utf8) }
        XCTAssertEqual(try VTABConfigSet.load(directory: dir).tasks.count, 19)
        try "{\(head.replacingOccurrences(of: "47", with: "46")), \"vpt_prompts\": 10}".write(toFile: "\(dir)/dtd.json", atomically: true, encoding: .utf8)
        assertThrowsMessage(["dtd.json", "classes", "47"]) { _ = try VTABConfigSet.load(directory: dir) }
        try "{\(head), \"vpt_prompts\": 10}".write(toFile: "\(dir)/texture.json", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: "\(dir)/dtd.json")
        assertThrowsMessage(["texture.json", "dtd.json"]) { _ = try VTABConfigSet.load(directory: dir) }
        try FileManager.default.removeItem(atPath: "\(dir)/texture.json")
        assertThrowsMessage(["lack", "dtd.json"]) { _ = try VTABConfigSet.load(directory: dir) }
        assertThrowsMessage(["\(dir)/nothing", "not found"]) { _ = try VTABConfigSet.load(directory: "\(dir)/nothing") }
    }

    // MARK: The experiment

    func testMiniVTABEndToEndTablesAndNoRerun() throws {
        let dir = temporaryDirectory(self)
        let (weights, config) = try writeTinyBackbone(in: dir)
        let root = try writeMiniVTAB(in: dir)
        let backbone = try ExperimentBackbone(config: config, weights: [weights])
        var lines: [String] = []
        var e = try experiment(root: root, out: "\(dir)/out", backbone: backbone, methods: [.sparseTuning, .linear])
        e.log = { lines.append($0) }

        let first = try e.run()
        XCTAssertEqual(first.trained, ["cifar/sparse-tuning", "cifar/linear", "eurosat/sparse-tuning", "eurosat/linear"])
        XCTAssertEqual(first.skipped, [])
        XCTAssertTrue(lines.contains { $0.hasPrefix("[1/4] cifar · sparse-tuning: training on 16 images for 2 epochs") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("[4/4] eurosat · linear: top-1 ") }, "\(lines)")

        let fm = FileManager.default
        for m in ["sparse-tuning", "linear"] {
            for t in ["cifar", "eurosat"] {
                let run = "\(dir)/out/\(m)/\(t)"
                for f in ["task.safetensors", "metrics.jsonl", "run.json", "result.json"] {
                    XCTAssertTrue(fm.fileExists(atPath: "\(run)/\(f)"), "\(run)/\(f)")
                }
                XCTAssertFalse(fm.fileExists(atPath: "\(run)/task.resume.safetensors"), "resume state removed when finished")
                let r = try VTABRunResult.load("\(run)/result.json")
                XCTAssertEqual(r.testSamples, 8)
                XCTAssertEqual(r.trainSamples, 16)
                XCTAssertEqual(r.options.epochs, 2)
                XCTAssertGreaterThan(r.imagesPerSecond, 0)
                XCTAssertEqual(r.benchmarkBatch, 2)
                let metrics = try String(contentsOfFile: "\(run)/metrics.jsonl", encoding: .utf8)
                XCTAssertEqual(metrics.split(separator: "\n").count, 2)
            }
        }
        let sparse = try VTABRunResult.load("\(dir)/out/sparse-tuning/cifar/result.json")
        let linear = try VTABRunResult.load("\(dir)/out/linear/cifar/result.json")
        XCTAssertEqual(linear.trainableParameters, 32 * 100 + 100)  // the head of cifar's 100 classes
        XCTAssertEqual(linear.trainableParametersWithoutHead, 0)
        XCTAssertGreaterThan(sparse.trainableParametersWithoutHead, 0)
        var cifarConfig = config
        cifarConfig.classes = 100  // the head counts too
        XCTAssertEqual(sparse.tuning.keepRate, 0.7)
        XCTAssertEqual(sparse.tuning.reductionBlocks(depth: 4), [1, 2, 3])
        XCTAssertTrue(sparse.tuning.fuse)
        XCTAssertEqual(sparse.tuning.adapter, .dense)
        XCTAssertEqual(linear.tuning.keepRate, 1)
        // GFLOPs counted by hand (tokens 17 → 14 → 12 → 10 under κ 0.7 at blocks 1, 2, 3, Dense Adapters of rank 32).
        let sparseFLOPs = handCountedFLOPs(cifarConfig, keepRate: 0.7, reducing: [1, 2, 3], denseRank: sparse.tuning.rank)
        XCTAssertEqual(sparse.gflops, Double(sparseFLOPs) / 1e9, accuracy: 1e-12, "sparse-tuning GFLOPs vs the hand count")
        XCTAssertEqual(linear.gflops, Double(handCountedFLOPs(cifarConfig)) / 1e9, accuracy: 1e-12, "linear GFLOPs vs the hand count")

        // results.csv: header, one row per run, methods in table order (linear before sparse-tuning).
        let csv = try String(contentsOfFile: "\(dir)/out/results.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(csv.first, "task,group,method,top1,top5,trainable_params,trainable_params_without_head,gflops,images_per_s")
        XCTAssertEqual(csv.count, 5)
        XCTAssertEqual(csv.dropFirst().map { $0.split(separator: ",").prefix(3).joined(separator: ",") },
                       ["cifar,Natural,linear", "eurosat,Specialized,linear", "cifar,Natural,sparse-tuning", "eurosat,Specialized,sparse-tuning"])
        let row = csv[3].split(separator: ",").map(String.init)
        XCTAssertEqual(row.count, 9)
        XCTAssertEqual(Double(row[3])!, 100 * sparse.top1, accuracy: 0.006)
        XCTAssertEqual(Int(row[5]), sparse.trainableParameters)

        // results.md: the papers' layout, both mean conventions labelled, "–" for the 17 tasks not run.
        let md = try String(contentsOfFile: "\(dir)/out/results.md", encoding: .utf8)
        let table = md.split(separator: "\n").filter { $0.hasPrefix("|") }.map { $0.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast().map { $0.trimmingCharacters(in: .whitespaces) } }
        XCTAssertEqual(table.count, 5, md)  // group header, alignment, task names, two methods
        let width = 1 + 19 + 3 + 2 + 3
        XCTAssertTrue(table.allSatisfy { $0.count == width }, md)
        XCTAssertEqual(table[0][1], "Natural")
        XCTAssertEqual(table[0][8], "Specialized")
        XCTAssertEqual(table[0][12], "Structured")
        XCTAssertEqual(Array(table[0].suffix(5)), ["Mean (group avg., NOAH/VPT/SPT)", "Mean (19 tasks, SSF)", "Params (M)", "GFLOPs", "images/s"])
        XCTAssertEqual(Array(table[2][1...19]), VTABDataset.tasks.map(\.name))
        XCTAssertEqual(Array(table[2][20...22]), ["Natural", "Specialized", "Structured"])
        XCTAssertEqual(table[3][0], "linear")
        XCTAssertEqual(table[4][0], "sparse-tuning")
        let s = table[4]
        XCTAssertEqual(s[1], String(format: "%.1f", 100 * sparse.top1))  // cifar
        XCTAssertEqual(s[2], "–")  // caltech101 not run
        XCTAssertEqual(s[1...19].filter { $0 == "–" }.count, 17)
        let eurosat = try VTABRunResult.load("\(dir)/out/sparse-tuning/eurosat/result.json")
        XCTAssertEqual(s[20], String(format: "%.1f*", 100 * sparse.top1))  // Natural: one of seven tasks
        XCTAssertEqual(s[21], String(format: "%.1f*", 100 * eurosat.top1))
        XCTAssertEqual(s[22], "–")  // no Structured task
        let groupAvg = (100 * sparse.top1 + 100 * eurosat.top1) / 2  // mean of the two group means present
        XCTAssertEqual(s[23], String(format: "%.1f*", groupAvg))
        XCTAssertEqual(s[24], String(format: "%.1f*", (100 * sparse.top1 + 100 * eurosat.top1) / 2))
        XCTAssertEqual(s[25], String(format: "%.2f", Double(sparse.trainableParametersWithoutHead + eurosat.trainableParametersWithoutHead) / 2e6))
        XCTAssertEqual(table[3][25], "0.00")
        XCTAssertTrue(md.contains("mean of the three group means"), md)
        XCTAssertTrue(md.contains("mean of all 19 tasks"), md)

        // A second run trains nothing: results and task files keep their timestamps.
        let stamp = { (path: String) in try fm.attributesOfItem(atPath: path)[.modificationDate] as! Date }
        let before = try stamp("\(dir)/out/linear/eurosat/task.safetensors")
        let resultBefore = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/out/linear/eurosat/result.json"))
        lines = []
        e.log = { lines.append($0) }
        let second = try e.run()
        XCTAssertEqual(second.trained, [])
        XCTAssertEqual(second.skipped.count, 4)
        XCTAssertEqual(try stamp("\(dir)/out/linear/eurosat/task.safetensors"), before)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/out/linear/eurosat/result.json")), resultBefore)
        XCTAssertTrue(lines.allSatisfy { $0.contains("done earlier") }, "\(lines)")
        XCTAssertEqual(second.report.results.count, 4)
        // Tables of finished runs regenerate without the data (e.g. after merging folders from several machines).
        var tablesOnly = e
        tablesOnly.root = "\(dir)/data-elsewhere"
        try fm.removeItem(atPath: "\(dir)/out/results.md")
        XCTAssertEqual(try tablesOnly.run().skipped.count, 4)
        XCTAssertTrue(fm.fileExists(atPath: "\(dir)/out/results.md"))

        // Another method later adds its row; earlier results stay in the tables.
        var more = e
        more.methods = [.linear, .full]
        more.tasks = ["eurosat"]
        let third = try more.run()
        XCTAssertEqual(third.trained, ["eurosat/full"])
        XCTAssertEqual(third.report.methods, ["full", "linear", "sparse-tuning"])
        let csv3 = try String(contentsOfFile: "\(dir)/out/results.csv", encoding: .utf8)
        XCTAssertEqual(csv3.split(separator: "\n").count, 6)
    }

    func testInterruptedRunResumesAndRefusesOtherSettings() throws {
        let dir = temporaryDirectory(self)
        let (weights, config) = try writeTinyBackbone(in: dir)
        let root = try writeMiniVTAB(in: dir)
        let backbone = try ExperimentBackbone(config: config, weights: [weights])
        var e = try experiment(root: root, out: "\(dir)/out", backbone: backbone, methods: [.linear])
        e.tasks = ["eurosat"]
        var lines: [String] = []
        e.log = { lines.append($0) }

        // Simulate a run stopped after its first epoch: the plan on disk, one epoch of training and its resume state.
        let task = try XCTUnwrap(e.configs.tasks["eurosat"])
        let plan = try e.plan(task: task, method: .linear)
        let run = e.runDirectory(task: "eurosat", method: .linear)
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        try JSONCoding.encode(plan).write(to: URL(fileURLWithPath: "\(run)/run.json"))
        let train = try VTABDataset.open(root: root, task: "eurosat", split: "train800val200")
        let model = try backbone.makeModel(tuning: plan.tuning, classes: 10, seed: 0)
        _ = try Trainer(model: model, options: plan.options, train: train, eval: nil, normalization: .inception,
                        output: "\(run)/task.safetensors", metricsPath: "\(run)/metrics.jsonl", classNames: train.classNames)
            .run(stopAfter: 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run)/task.resume.safetensors"))

        // Other settings are refused, naming what differs.
        var other = e
        other.overrides.lr = 0.5
        assertThrowsMessage(["other settings", "options.lr"]) { try other.run() }

        let outcome = try e.run()
        XCTAssertEqual(outcome.resumed, ["eurosat/linear"])
        XCTAssertEqual(outcome.trained, ["eurosat/linear"])
        XCTAssertTrue(lines.contains { $0.contains("resuming after epoch 1 of 2") }, "\(lines)")
        let metrics = try String(contentsOfFile: "\(run)/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(metrics.count, 2, "epoch 1 kept, epoch 2 appended")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run)/result.json"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(run)/task.resume.safetensors"))
    }

    func testMissingDataAndBadRequestsFailBeforeTraining() throws {
        let dir = temporaryDirectory(self)
        let (weights, config) = try writeTinyBackbone(in: dir)
        let root = try writeMiniVTAB(in: dir)
        let backbone = try ExperimentBackbone(config: config, weights: [weights])
        var e = try experiment(root: "\(dir)/no-such-folder", out: "\(dir)/out", backbone: backbone, methods: [.linear])
        assertThrowsMessage(["VTAB-1K root folder", "no-such-folder", "not found", "vtab"]) { try e.run() }

        e.root = root
        e.tasks = ["eurosat", "dtd", "oxford_pet"]
        assertThrowsMessage(["lacks the task folder(s)", "dtd", "oxford_iiit_pet/oxford_pet", "cifar100", "eurosat", "--tasks"]) { try e.run() }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/out/linear/eurosat"), "nothing trained before the check")

        e.tasks = ["imagenet"]
        assertThrowsMessage(["unknown VTAB-1K task 'imagenet'", "smallnorb_ele"]) { try e.run() }
        e.tasks = nil
        assertThrowsMessage(["lacks the task folder(s)", "caltech101"]) { try e.run() }
        e.tasks = ["eurosat"]
        e.methods = []
        assertThrowsMessage(["no method"]) { try e.run() }
        e.methods = [.linear]
        e.overrides.batchSize = 0
        assertThrowsMessage(["--batch"]) { try e.run() }

        // A task folder without its list files.
        try FileManager.default.removeItem(atPath: "\(root)/eurosat/test.txt")
        e.overrides.batchSize = 8
        assertThrowsMessage(["test.txt", "train800val200.txt"]) { try e.run() }
    }

    func testBinaryRunsVTABAndReportsErrors() throws {
        let dir = temporaryDirectory(self)
        let (weights, _) = try writeTinyBackbone(in: dir)
        let root = try writeMiniVTAB(in: dir)
        let args = ["vtab", "--root", root, "--weights", weights] + tinyModelFlags
            + ["--method", "linear,sparse-tuning", "--tasks", "cifar100,eurosat", "--epochs", "1", "--batch", "8",
               "--warmup-epochs", "0", "--bench-batch", "2", "--bench-seconds", "0", "--out", "\(dir)/out"]
        let (code, out, err) = try runSparseTune(args)
        XCTAssertEqual(code, 0, err)
        XCTAssertTrue(out.contains("4 run(s) trained now"), out)
        XCTAssertTrue(out.contains("sparse-tuning: 2/19 tasks"), out)
        XCTAssertTrue(err.contains("[1/4] cifar · linear"), err)
        let md = try String(contentsOfFile: "\(dir)/out/results.md", encoding: .utf8)
        XCTAssertTrue(md.contains("| sparse-tuning |"), md)
        let r = try VTABRunResult.load("\(dir)/out/sparse-tuning/eurosat/result.json")
        XCTAssertEqual(r.options.epochs, 1)
        XCTAssertEqual(r.tuning.prompts, 100, "eurosat's VPT-deep prompt count from its configuration")

        let (again, out2, _) = try runSparseTune(args)
        XCTAssertEqual(again, 0)
        XCTAssertTrue(out2.contains("0 run(s) trained now (0 resumed), 4 done earlier"), out2)

        // Errors (into a fresh output folder: with every run finished, the data would not be needed).
        for (bad, mention) in [(["--root", "\(dir)/nowhere", "--out", "\(dir)/out2"], "nowhere"), (["--tasks", "cifar,mnist"], "mnist"),
                               (["--method", "linear,noah"], "noah"), (["--norm", "vgg"], "--norm")] {
            var a = args
            for i in stride(from: 0, to: bad.count, by: 2) {
                if let at = a.firstIndex(of: bad[i]) { a[at + 1] = bad[i + 1] } else { a += [bad[i], bad[i + 1]] }
            }
            let (c, _, e) = try runSparseTune(a)
            XCTAssertEqual(c, 1, "\(bad)")
            XCTAssertTrue(e.hasPrefix("error: ") && e.contains(mention), e)
            XCTAssertEqual(e.split(separator: "\n").count, 1, e)
        }
    }
}
