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
