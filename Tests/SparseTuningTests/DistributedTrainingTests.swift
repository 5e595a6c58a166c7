// Data-parallel training under `mpirun -np 2` (docs/DISTRIBUTED.md): the same global batch gives the same task as one
// process up to summation order, only rank 0 writes files, summaries report the world size, and without mpirun
// nothing touches MPI. mpirun is a CI dependency (openmpi-bin via scripts/install-deps.sh): a missing one fails.
import XCTest
import Foundation
@testable import SparseTuning

final class DistributedTrainingTests: XCTestCase {
    let mpirun = "/usr/bin/mpirun"

    func runMPI(ranks: Int, _ args: [String]) throws -> (Int32, String, String) {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: mpirun), "mpirun missing: install openmpi-bin (scripts/install-deps.sh)")
        return try runProcess(mpirun, ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)", "--bind-to", "none",
                                       try sparseTuneBinary()] + args)
    }

    func testTwoRanksEqualOneProcess() throws {
        let dir = temporaryDirectory(self)
        let data = try SyntheticImages(size: 32, classes: 3).writeVTABTask(root: "\(dir)/vtab", task: "shapes", trainCount: 16,
                                                                            testCount: 7, seed: 3, writeClassNames: true)
        let backbone = fixturePath("families/dinov2/model.safetensors")
        func train(_ output: String) -> [String] {
            ["train", "--weights", backbone, "--data", data, "--keep-rate", "0.5", "--ts-layers", "1", "--rank", "4",
             "--epochs", "2", "--batch", "8", "--warmup-epochs", "0", "--lr", "0.01", "--threads", "1", "--workers", "0",
             "--output", output, "--json"]
        }
        let one = try runSparseTune(train("\(dir)/one.safetensors"))
        XCTAssertEqual(one.0, 0, one.2)
        let two = try runMPI(ranks: 2, train("\(dir)/two.safetensors"))
        XCTAssertEqual(two.0, 0, two.2)
        // One summary (rank 0's), naming the world size; logs name the rank.
        let lines = two.1.split(separator: "\n").filter { $0.hasPrefix("{") }
        XCTAssertEqual(lines.count, 1, two.1)
        let summary = try jsonTree(String(lines[0]))
        XCTAssertEqual(summary["world_size"]?.int, 2)
        XCTAssertEqual(try jsonTree(one.1)["world_size"]?.int, 1)
        XCTAssertTrue(two.2.contains("[rank 1/2]") && two.2.contains("[rank 0/2]"), two.2)
        // The same optimisation: every trained tensor, the loss and the evaluation (sharded and reduced) agree.
        let a = try Checkpoint.load("\(dir)/one.safetensors").tensors, b = try Checkpoint.load("\(dir)/two.safetensors").tensors
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for (name, t) in a { assertClose(b[name]!.values, t.values, atol: 2e-5, rtol: 1e-4, "tensor \(name)") }
        XCTAssertEqual(summary["final_loss"]?.double ?? 0, try jsonTree(one.1)["final_loss"]?.double ?? 1, accuracy: 1e-4)
        XCTAssertEqual(summary["eval_top1"]?.double, try jsonTree(one.1)["eval_top1"]?.double)
        // Rank 0 alone wrote the metrics log: one record per epoch.
        let metrics = try String(contentsOfFile: "\(dir)/two.metrics.jsonl", encoding: .utf8)
        XCTAssertEqual(metrics.split(separator: "\n").count, 2, metrics)
    }

    func testGlobalBatchMustSplitEvenly() throws {
        let dir = temporaryDirectory(self)
        let data = try SyntheticImages(size: 32, classes: 3).writeVTABTask(root: "\(dir)/vtab", task: "shapes", trainCount: 8,
                                                                            testCount: 3, seed: 3, writeClassNames: true)
        let r = try runMPI(ranks: 2, ["train", "--weights", fixturePath("families/dinov2/model.safetensors"), "--data", data,
                                      "--epochs", "1", "--batch", "3", "--threads", "1", "--output", "\(dir)/t.safetensors"])
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("--batch 3 is the global batch") && r.2.contains("2 ranks"), r.2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/t.safetensors"))
    }

    /// DistributedSampler semantics: the ranks' k-th batches together are one process's k-th batch.
    func testShardsPartitionEveryGlobalBatch() throws {
        let source = try SyntheticDataset(count: 10, size: 8, classes: 2, seed: 1)
        let whole = try BatchLoader(source: source, batchSize: 4, shuffle: true, augmentation: .eval(size: 8, mode: .squash),
                                    normalization: .inception, seed: 5)
        let shards = try (0..<2).map {
            try BatchLoader(source: source, batchSize: 2, shuffle: true, augmentation: .eval(size: 8, mode: .squash),
                            normalization: .inception, seed: 5, shard: ($0, 2))
        }
        for epoch in 0..<3 {
            let all = whole.order(epoch: epoch), parts = shards.map { $0.order(epoch: epoch) }
            XCTAssertEqual(parts[0].count, 5)
            for k in 0..<2 {
                let global = Set(all[(4 * k)..<(4 * k + 4)])
                XCTAssertEqual(Set(parts[0][(2 * k)..<(2 * k + 2)] + parts[1][(2 * k)..<(2 * k + 2)]), global, "epoch \(epoch) batch \(k)")
            }
        }
        // Fewer samples than ranks: the order is repeated to fill every rank.
        let tiny = try SyntheticDataset(count: 1, size: 8, classes: 2, seed: 1)
        let r3 = try BatchLoader(source: tiny, batchSize: 1, shuffle: false, augmentation: .eval(size: 8, mode: .squash),
                                 normalization: .inception, shard: (2, 3))
        XCTAssertEqual(r3.order(epoch: 0), [0])
    }
}

extension DistributedTrainingTests {
    func data(in dir: String, train: Int = 16) throws -> String {
        try SyntheticImages(size: 32, classes: 3).writeVTABTask(root: "\(dir)/vtab", task: "shapes", trainCount: train,
                                                                 testCount: 7, seed: 3, writeClassNames: true)
    }

    /// The resume state holds nothing rank-specific, and the global batches do not depend on the number of ranks:
    /// an epoch on two ranks continued by one process equals two epochs of one process.
    func testResumeOnAnotherNumberOfRanks() throws {
        let dir = temporaryDirectory(self)
        let data = try data(in: dir)
        func train(_ output: String, _ extra: [String]) -> [String] {
            ["train", "--weights", fixturePath("families/dinov2/model.safetensors"), "--data", data, "--rank", "4",
             "--epochs", "2", "--batch", "8", "--warmup-epochs", "0", "--lr", "0.01", "--threads", "1", "--workers", "0",
             "--no-eval", "--output", output] + extra
        }
        let whole = try runSparseTune(train("\(dir)/whole.safetensors", []))
        XCTAssertEqual(whole.0, 0, whole.2)
        let first = try runMPI(ranks: 2, train("\(dir)/split.safetensors", ["--stop-after", "1"]))
        XCTAssertEqual(first.0, 0, first.2)
        let rest = try runSparseTune(train("\(dir)/split.safetensors", ["--resume"]))
        XCTAssertEqual(rest.0, 0, rest.2)
        let a = try Checkpoint.load("\(dir)/whole.safetensors").tensors, b = try Checkpoint.load("\(dir)/split.safetensors").tensors
        for (name, t) in a { assertClose(b[name]!.values, t.values, atol: 2e-5, rtol: 1e-4, "tensor \(name)") }
    }

    /// A rank killed mid-run stops the others with an error, and the last task file written stays whole.
    func testAKilledRankStopsTheRunAndKeepsTheLastCheckpoint() throws {
        let dir = temporaryDirectory(self)
        let data = try data(in: dir, train: 32)
        let task = "\(dir)/t.safetensors"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mpirun)
        p.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "2", "--bind-to", "none", try sparseTuneBinary(),
                       "train", "--weights", fixturePath("families/dinov2/model.safetensors"), "--data", data, "--rank", "4",
                       "--epochs", "400", "--batch", "8", "--warmup-epochs", "0", "--threads", "1", "--workers", "0", "--no-eval",
                       "--output", task]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: task) && Date() < deadline && p.isRunning { usleep(100_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: task), "no epoch finished")
        // Kill one rank: the youngest sparse-tune process under this mpirun.
        let pids = try runProcess("/usr/bin/pgrep", ["-P", "\(p.processIdentifier)", "-f", "sparse-tune"]).1
            .split(separator: "\n").compactMap { Int32($0) }.sorted()
        XCTAssertEqual(pids.count, 2, "ranks: \(pids)")
        if let victim = pids.last { kill(victim, SIGKILL) }
        while p.isRunning && Date() < deadline { usleep(100_000) }
        XCTAssertFalse(p.isRunning, "the run did not stop")
        if p.isRunning { p.terminate() }
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        print("killed-rank run, stderr tail:\n" + stderr.split(separator: "\n").suffix(12).joined(separator: "\n"))
        XCTAssertNotEqual(p.terminationStatus, 0, stderr)
        XCTAssertTrue(stderr.contains("signal 9") || stderr.contains("Killed") || stderr.contains("exited"), stderr)
        let checkpoint = try Checkpoint.load(task)  // whole: written atomically after an epoch
        XCTAssertFalse(checkpoint.tensors.isEmpty)
    }
}

extension DistributedTrainingTests {
    /// `mpirun -np 2 … vtab`: the ranks share the runs (each trained once), and rank 0's tables hold the same results
    /// as one process's.
    func testVTABSuiteSharedByTwoRanks() throws {
        let dir = temporaryDirectory(self)
        let (weights, _) = try writeTinyBackbone(in: dir)
        let root = try writeMiniVTAB(in: dir)
        func args(_ out: String) -> [String] {
            ["vtab", "--root", root, "--weights", weights] + tinyModelFlags
                + ["--method", "linear,sparse-tuning", "--tasks", "cifar100,eurosat", "--epochs", "1", "--batch", "8",
                   "--warmup-epochs", "0", "--bench-batch", "2", "--bench-seconds", "0", "--threads", "1", "--workers", "0",
                   "--out", out]
        }
        let one = try runSparseTune(args("\(dir)/one"))
        XCTAssertEqual(one.0, 0, one.2)
        let two = try runMPI(ranks: 2, args("\(dir)/two"))
        XCTAssertEqual(two.0, 0, two.2)
        XCTAssertTrue(two.1.contains("sparse-tuning: 2/19 tasks"), two.1)
        var claims = 0
        for method in ["linear", "sparse-tuning"] {
            for task in ["cifar", "eurosat"] {
                let runDir = "\(dir)/two/\(method)/\(task)"
                claims += try FileManager.default.contentsOfDirectory(atPath: runDir).filter { $0.hasPrefix(".claim-") }.count
                let a = try VTABRunResult.load("\(dir)/one/\(method)/\(task)/result.json")
                let b = try VTABRunResult.load("\(runDir)/result.json")
                XCTAssertEqual(a.top1, b.top1, "\(method)/\(task)")
                XCTAssertEqual(a.finalLoss, b.finalLoss, accuracy: 1e-9, "\(method)/\(task)")
            }
        }
        XCTAssertEqual(claims, 4, "each run claimed once")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/two/results.md"))
    }
}

extension DistributedTrainingTests {
    /// `mpirun -np 2 … sweep`: each point to train is trained once, by one rank; rank 0's table equals one process's.
    func testSweepSharedByTwoRanks() throws {
        let dir = temporaryDirectory(self)
        let (weights, _) = try writeTinyBackbone(in: dir)
        let data = try writeMiniVTAB(in: dir)
        func args(_ out: String) -> [String] {
            ["sweep", "--weights", weights] + tinyModelFlags
                + ["--data", "\(data)/eurosat", "--keep-rates", "1,0.6,0.4", "--epochs", "1", "--batch", "8", "--warmup-epochs", "0",
                   "--bench-batch", "2", "--bench-seconds", "0", "--threads", "1", "--workers", "0", "--chart-formats", "png",
                   "--out", out]
        }
        let one = try runSparseTune(args("\(dir)/one"))
        XCTAssertEqual(one.0, 0, one.2)
        let two = try runMPI(ranks: 2, args("\(dir)/two"))
        XCTAssertEqual(two.0, 0, two.2)
        func accuracies(_ csv: String) -> [String] {  // ts-layers, keep rate, top-1 of every row
            csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",").prefix(3).joined(separator: ",") }
        }
        let a = try String(contentsOfFile: "\(dir)/one/sweep.csv", encoding: .utf8)
        let b = try String(contentsOfFile: "\(dir)/two/sweep.csv", encoding: .utf8)
        XCTAssertEqual(accuracies(b), accuracies(a))
        XCTAssertEqual(accuracies(a).count, 3)
        let claims = try FileManager.default.subpathsOfDirectory(atPath: "\(dir)/two/points").filter { $0.contains(".claim-") }
        XCTAssertEqual(claims.count, 3, "\(claims)")
    }
}
