// Resuming through the Trainer itself, bit for bit: N epochs in one run equal `run(stopAfter: k)` followed by a new
// model and a new Trainer with `run(resume: true)` — the task files and resume states byte for byte, the final
// trainable tensors bit for bit, the per-epoch metrics (losses, accuracies, learning rates) equal. Covered: sparse-
// tuning (blocks train) with drop-path, augmentation, mixup/CutMix, κ warm-up crossing the resume point and gradient
// clipping; EMA with gradient accumulation (an incomplete group dropped every epoch) and a BatchNorm head; and a
// linear probe on cached frozen features.
import XCTest
import Foundation
@testable import SparseTuning

final class TrainingResumeTests: XCTestCase {
    /// 18 training images (batch 4: four batches, the partial fifth dropped) and 8 evaluation images, 4 classes.
    let train = try! SyntheticDataset(count: 18, size: 32, classes: 4, seed: 31)
    let eval = try! SyntheticDataset(count: 8, size: 32, classes: 4, seed: 32)

    /// The model both runs start from (built anew each time: identical frozen weights and initial trainables).
    func makeModel(_ tuning: TuningConfig) throws -> TunedViT {
        let cfg = ViTConfig(dim: 32, depth: 4, heads: 2, mlpDim: 64, patch: 8, imageSize: 32, classes: 4)
        return try TunedViT(backbone: VisionTransformer(config: cfg, seed: 5), tuning: tuning, seed: 6)
    }

    func trainer(_ model: TunedViT, _ options: TrainingOptions, dir: String) throws -> Trainer {
        try Trainer(model: model, options: options, train: train, eval: eval, normalization: .inception,
                    output: "\(dir)/task.safetensors", metricsPath: "\(dir)/metrics.jsonl")
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// `options.epochs` straight vs `stopAfter` epochs, then a fresh model and Trainer resuming to the end.
    func checkResume(_ tuning: TuningConfig, _ options: TrainingOptions, stopAfter: Int,
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let root = temporaryDirectory(self)
        let straightDir = "\(root)/straight", slicedDir = "\(root)/sliced"
        for d in [straightDir, slicedDir] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }

        let straight = try makeModel(tuning)
        let straightSummary = try trainer(straight, options, dir: straightDir).run()
        XCTAssertEqual(straightSummary.steps, options.epochs * max(1, 4 / options.accumulation), file: file, line: line)

        let first = try makeModel(tuning)
        let firstSummary = try trainer(first, options, dir: slicedDir).run(stopAfter: stopAfter)
        XCTAssertEqual(firstSummary.steps, stopAfter * max(1, 4 / options.accumulation), "the first slice stops",
                       file: file, line: line)
        let taskAfterSlice = try bytes("\(slicedDir)/task.safetensors")

        // A new process in all but name: a fresh model whose trainable tensors are scrambled (everything must come
        // from the resume state), a fresh Trainer.
        let resumed = try makeModel(tuning)
        var rng = SeededGenerator(seed: 99)
        for p in resumed.trainable { for i in 0..<p.value.count { p.value[i] = rng.normal() } }
        resumed.parametersUpdated()
        let resumedSummary = try trainer(resumed, options, dir: slicedDir).run(resume: true)
        XCTAssertEqual(resumedSummary.steps, straightSummary.steps, "steps after resuming", file: file, line: line)

        let straightTask = try bytes("\(straightDir)/task.safetensors"), slicedTask = try bytes("\(slicedDir)/task.safetensors")
        XCTAssertNotEqual(taskAfterSlice, straightTask, "the run trains after the resume point", file: file, line: line)
        XCTAssertEqual(slicedTask.count, straightTask.count, "task file sizes", file: file, line: line)
        XCTAssertTrue(slicedTask == straightTask, "task files differ: resuming is not bit-exact", file: file, line: line)
        XCTAssertTrue(try bytes("\(slicedDir)/task.resume.safetensors") == bytes("\(straightDir)/task.resume.safetensors"),
                      "resume states differ", file: file, line: line)
        for (a, b) in zip(straight.trainable, resumed.trainable) {
            assertBitIdentical(b.value.values, a.value.values, "final \(a.name)", file: file, line: line)
        }
        for (a, b) in zip(straight.taskStateDict(), resumed.taskStateDict()) where a.name.hasPrefix("head.0.") {
            assertBitIdentical(b.tensor.values, a.tensor.values, "final buffer \(a.name)", file: file, line: line)
        }

        // Per-epoch metrics: the resumed log keeps the first slice's lines and appends the rest.
        let m1 = try MetricsLog.read("\(straightDir)/metrics.jsonl"), m2 = try MetricsLog.read("\(slicedDir)/metrics.jsonl")
        XCTAssertEqual(m2.count, options.epochs, file: file, line: line)
        XCTAssertEqual(m1.map(\.epoch), m2.map(\.epoch), file: file, line: line)
        XCTAssertEqual(m1.map(\.step), m2.map(\.step), file: file, line: line)
        XCTAssertEqual(m1.map(\.loss), m2.map(\.loss), "training losses per epoch", file: file, line: line)
        XCTAssertEqual(m1.map(\.lr), m2.map(\.lr), "learning rates", file: file, line: line)
        XCTAssertEqual(m1.map(\.trainAccuracy), m2.map(\.trainAccuracy), file: file, line: line)
        XCTAssertEqual(m1.map(\.valAccuracy), m2.map(\.valAccuracy), file: file, line: line)
        XCTAssertEqual(straightSummary.evaluation?.top1, resumedSummary.evaluation?.top1, file: file, line: line)
    }

    func testSparseTuningWithDropPathMixupAndKeepRateWarmup() throws {
        var tuning = TuningConfig.defaults(for: .sparseTuning)
        tuning.keepRate = 0.5
        tuning.tsLayers = [1, 2]
        tuning.rank = 8
        tuning.dropPath = 0.2
        var o = TrainingOptions()
        o.epochs = 3
        o.batchSize = 4
        o.lr = 3e-3
        o.warmupEpochs = 1
        o.augment = true
        o.mixup = 0.8
        o.cutmix = 1.0
        o.labelSmoothing = 0.1
        o.clipGrad = 1
        o.keepRateWarmupEpochs = 2  // κ still rising when the first slice stops
        o.seed = 3
        let model = try makeModel(tuning)
        XCTAssertFalse(model.trainsHeadOnly)
        XCTAssertLessThan(model.firstTrainableBlock, 4, "blocks train")
        try checkResume(tuning, o, stopAfter: 1)
    }

    func testEMAWithAccumulationAndBatchNormHead() throws {
        var tuning = TuningConfig.defaults(for: .sparseTuning)
        tuning.keepRate = 0.7
        tuning.tsLayers = [2]
        tuning.rank = 4
        tuning.bnHead = true
        var o = TrainingOptions()
        o.epochs = 3
        o.batchSize = 4
        o.lr = 3e-3
        o.warmupEpochs = 0
        o.accumulation = 3  // four batches per epoch: one step, the fourth micro-batch dropped
        o.ema = 0.8
        o.seed = 4
        try checkResume(tuning, o, stopAfter: 2)
    }

    func testLinearProbeOnCachedFeatures() throws {
        var o = TrainingOptions()
        o.epochs = 3
        o.batchSize = 4
        o.lr = 1e-2
        o.warmupEpochs = 0
        o.seed = 5
        XCTAssertTrue(try makeModel(.defaults(for: .linear)).trainsHeadOnly)
        try checkResume(.defaults(for: .linear), o, stopAfter: 1)
    }
}
