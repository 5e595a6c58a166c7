// The frozen-feature cache: training only the head on features computed once gives the same losses, head tensors,
// BatchNorm statistics and evaluation as running the frozen backbone every step.
import XCTest
@testable import SparseTuning

final class TrainingFeatureCacheTests: XCTestCase {
    /// 40 synthetic images of 4 classes (30 train, 10 eval); a random backbone with the given head options.
    func train(cache: Bool, tuning: TuningConfig, dir: String) throws -> (TrainingSummary, TunedViT) {
        let synthetic = try SyntheticImages(size: 32, classes: 4)
        let samples = (0..<40).map { synthetic.sample($0, seed: 1) }  // label = index % 4
        let train = try InMemoryDataset(images: samples[..<30].map(\.image), labels: (0..<30).map { $0 % 4 })
        let eval = try InMemoryDataset(images: samples[30...].map(\.image), labels: (30..<40).map { $0 % 4 })
        let config = ViTConfig(dim: 32, depth: 3, heads: 2, mlpDim: 48, patch: 8, imageSize: 32, classes: 4)
        let model = try TunedViT(backbone: VisionTransformer(config: config, seed: 3), tuning: tuning, seed: 4)
        var options = TrainingOptions()
        options.epochs = 3
        options.batchSize = 8  // 30 images: 3 full batches, the partial one dropped
        options.warmupEpochs = 1
        options.lr = 0.05
        options.cacheFeatures = cache
        options.workers = 1
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let trainer = try Trainer(model: model, options: options, train: train, eval: eval, normalization: .inception,
                                  output: "\(dir)/task.safetensors", metricsPath: nil)
        return (try trainer.run(), model)
    }

    func check(_ tuning: TuningConfig, _ label: String) throws {
        let dir = temporaryDirectory(self)
        let (cached, cachedModel) = try train(cache: true, tuning: tuning, dir: dir + "/cached")
        let (plain, plainModel) = try train(cache: false, tuning: tuning, dir: dir + "/plain")
        XCTAssertTrue(cachedModel.trainsHeadOnly, label)
        XCTAssertTrue(cached.featuresCached, label)
        XCTAssertFalse(plain.featuresCached, label)
        XCTAssertEqual(cached.steps, plain.steps, label)
        // Features in other batch compositions go through matrix products of other row counts: equal to float
        // rounding, not bit for bit.
        XCTAssertEqual(cached.finalLoss, plain.finalLoss, accuracy: 1e-5 * max(1, abs(plain.finalLoss)), "\(label): final loss")
        XCTAssertNotEqual(cached.finalLoss, 0, label)
        let a = cachedModel.taskStateDict(), b = plainModel.taskStateDict()
        XCTAssertEqual(a.map(\.name), b.map(\.name), label)
        for (x, y) in zip(a, b) {
            assertClose(x.tensor.values, y.tensor.values, atol: 1e-5, rtol: 1e-4, "\(label): \(x.name)")
        }
        let ce = try XCTUnwrap(cached.evaluation), pe = try XCTUnwrap(plain.evaluation)
        XCTAssertEqual(ce.samples, pe.samples, label)
        XCTAssertEqual(ce.top1, pe.top1, label)
        XCTAssertEqual(ce.loss, pe.loss, accuracy: 1e-5, "\(label): eval loss")
        XCTAssertEqual(ce.confusion.counts, pe.confusion.counts, label)
    }

    func testLinearProbeCachedEqualsUncached() throws {
        try check(.defaults(for: .linear), "linear")
    }

    /// The released code's BatchNorm head: batch statistics in training, running statistics saved in the task file.
    func testBatchNormHeadCachedEqualsUncached() throws {
        var t = TuningConfig.defaults(for: .linear)
        t.bnHead = true
        try check(t, "linear + BatchNorm head")
    }

    /// EViT without adapters trains only the head too; its sparsified features are cached the same way.
    func testEViTHeadOnlyCachedEqualsUncached() throws {
        var t = TuningConfig.defaults(for: .evit)
        t.keepRate = 0.5
        t.tsLayers = [1]
        try check(t, "evit")
    }

    /// A model whose blocks train never takes the cached path.
    func testAdaptersAreNotHeadOnly() throws {
        let config = ViTConfig(dim: 32, depth: 3, heads: 2, mlpDim: 48, patch: 8, imageSize: 32, classes: 4)
        for method in [TuningMethod.sparseTuning, .adaptformer, .lora, .vptDeep, .full] {
            let m = try TunedViT(backbone: VisionTransformer(config: config, seed: 3), tuning: .defaults(for: method))
            XCTAssertFalse(m.trainsHeadOnly, method.rawValue)
            XCTAssertThrowsError(try m.headForwardBackward(Tensor(zeros: [2, 32]), training: true) { ($0.values[0], $0) })
        }
    }
}
