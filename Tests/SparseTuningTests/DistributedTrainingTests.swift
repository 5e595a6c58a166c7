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
