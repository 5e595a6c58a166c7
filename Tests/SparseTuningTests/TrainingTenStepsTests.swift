// Ten training steps of sparse-tuning against PyTorch, as llm.c's test_gpt2: the same tiny model, batch and AdamW
// settings as Fixtures/training/ten_steps.safetensors (scripts/fixtures/training_fixtures.py), the loss of every
// step and every trainable tensor after the tenth step compared with the reference.
import XCTest
import Foundation
@testable import SparseTuning

final class TrainingTenStepsTests: XCTestCase {
    /// `__metadata__["case_config"]` of the fixture (the keys used here).
    struct CaseConfig: Decodable {
        struct Optimizer: Decodable {
            let lr: Double
            let betas: [Double]
            let eps: Double
            let weight_decay: Double
            let schedule: String
        }
        let dim, depth, heads, mlp, patch, image_size, classes, batch, steps, rank: Int
        let pool, method, adapter, reduction: String
        let keep_rate: Double
        let ts_layers: [Int]
        let fuse: Bool
        let trainable, decay: [String]
        let optimizer: Optimizer
    }

    /// |loss − reference| ≤ lossRelTolerance·|reference| at every step. A float32 rerun of the reference in
    /// PyTorch lands 2.7e-7 (relative) from the stored float64 losses.
    static let lossRelTolerance: Float = 1e-5
    /// max|final − reference| ≤ tensorAbsTolerance + tensorRelTolerance·max|reference| for every trainable tensor.
    /// The PyTorch float32 rerun lands at most 5.7e-7 from the stored float64 tensors; every tensor moved by more
    /// than 5e-2 over the ten steps.
    static let tensorAbsTolerance: Float = 1e-5
    static let tensorRelTolerance: Float = 1e-5

    func testTenStepsMatchPyTorch() throws {
        let fx = try Fixture("training/ten_steps.safetensors")
        let cc = try JSONCoding.decode(CaseConfig.self, from: fx.meta("case_config"), source: "case_config")
        XCTAssertEqual(cc.optimizer.schedule, "constant")
        XCTAssertEqual(cc.reduction, "evit")

        // The model of the fixture: a backbone to be loaded, sparse-tuning with dense adapters and EViT.
        var vit = ViTConfig(dim: cc.dim, depth: cc.depth, heads: cc.heads, mlpDim: cc.mlp, patch: cc.patch,
                            imageSize: cc.image_size, classes: cc.classes, pool: try XCTUnwrap(Pooling(rawValue: cc.pool)))
        vit.eps = 1e-6
        var tuning = TuningConfig.defaults(for: try XCTUnwrap(TuningMethod(rawValue: cc.method)))
        tuning.adapter = try XCTUnwrap(AdapterKind(rawValue: cc.adapter))
        tuning.reduction = .evit
        tuning.keepRate = cc.keep_rate
        tuning.tsLayers = cc.ts_layers
        tuning.fuse = cc.fuse
        tuning.rank = cc.rank
        let model = try TunedViT(backbone: VisionTransformer(config: vit, seed: nil), tuning: tuning, seed: 0)
        XCTAssertEqual(model.trainable.map(\.name), cc.trainable, "trainable tensors and their order")
        // Which tensors decay is checked here, by name: over ten steps, weight decay 1e-4 at lr 1e-2 moves the tensors
        // by at most 6.5e-6, below the tensor tolerance (the decay arithmetic itself: TrainingAdamWTests).
        XCTAssertEqual(model.trainable.filter(\.weightDecay).map(\.name), cc.decay, "tensors with weight decay")

        // Frozen backbone from the file; then every trainable tensor overwritten with the reference's initial value
        // (the model initialised its own from the seed: zero up projections, a fresh head).
        var backbone: [String: Tensor] = [:]
        for (k, v) in fx.tensors where k.hasPrefix("backbone.") { backbone[String(k.dropFirst("backbone.".count))] = v }
        try model.load(backbone, freshHead: true)
        XCTAssertEqual(Set(fx.tensors.keys.filter { $0.hasPrefix("init.") }), Set(cc.trainable.map { "init." + $0 }))
        for p in model.trainable {
            let initial = fx["init.\(p.name)"]
            XCTAssertEqual(initial.shape, p.value.shape, "shape of \(p.name)")
            p.value.data.update(from: initial.data, count: initial.count)
        }
        model.parametersUpdated()

        let images = fx["x"]
        let labels = fx["labels"].values.map { Int($0) }
        XCTAssertEqual(labels.count, cc.batch)
        let reference = fx["losses"].values
        XCTAssertEqual(reference.count, cc.steps)
        let lr = Float(cc.optimizer.lr)
        let optimizer = try AdamW(parameters: model.trainable, lr: lr,
                                  betas: (Float(cc.optimizer.betas[0]), Float(cc.optimizer.betas[1])),
                                  eps: Float(cc.optimizer.eps), weightDecay: Float(cc.optimizer.weight_decay))
        var rng = SeededGenerator(seed: 0)  // drop-path is off: nothing is drawn

        // Ten steps: zero the gradients, forward + backward (loss before the update), AdamW, re-pack the weights.
        var maxLossDiff: Float = 0
        var lossesOK = true
        for step in 0..<cc.steps {
            optimizer.zeroGrad()
            let (loss, _) = try model.forwardBackward(images, training: true, rng: &rng) { logits in
                try CrossEntropy.forwardBackward(logits: logits, targets: .hard(labels), labelSmoothing: 0)
            }
            let ref = reference[step]
            let diff = abs(loss - ref) / abs(ref)
            let ok = diff <= Self.lossRelTolerance
            lossesOK = lossesOK && ok
            maxLossDiff = max(maxLossDiff, diff)
            print("step \(step): loss \(fmt("%.6f", loss)) (reference \(fmt("%.6f", ref)), relative diff "
                  + "\(fmt("%.1e", diff))) \(ok ? "OK" : "MISMATCH")")
            XCTAssertLessThanOrEqual(diff, Self.lossRelTolerance, "step \(step): loss \(loss), reference \(ref)")
            optimizer.step(lr: lr)
            model.parametersUpdated()
        }
        XCTAssertEqual(optimizer.stepCount, cc.steps)

        // Every trainable tensor after the last step.
        var maxTensorDiff: Float = 0
        var worstTensor = ""
        var tensorsOK = true
        for p in model.trainable {
            let expected = fx["final.\(p.name)"].values
            let initial = fx["init.\(p.name)"].values
            let scale = expected.reduce(Float(0)) { max($0, abs($1)) }
            let bound = Self.tensorAbsTolerance + Self.tensorRelTolerance * scale
            let diff = maxAbsDiff(p.value.values, expected)
            if diff > maxTensorDiff { maxTensorDiff = diff; worstTensor = p.name }
            tensorsOK = tensorsOK && diff <= bound
            XCTAssertLessThanOrEqual(diff, bound, "\(p.name) after \(cc.steps) steps: max abs diff \(diff)")
            // The comparison means something only if training moved the tensor well beyond the tolerance.
            XCTAssertGreaterThan(maxAbsDiff(expected, initial), 100 * bound, "\(p.name) barely moves in the reference")
        }
        let verdict = lossesOK && tensorsOK ? "OK" : "FAILED"
        print("ten_steps: \(verdict), max loss diff \(fmt("%.1e", maxLossDiff)) (relative, tolerance "
              + "\(fmt("%.0e", Self.lossRelTolerance))), max tensor diff \(fmt("%.1e", maxTensorDiff)) (\(worstTensor); "
              + "tolerance \(fmt("%.0e", Self.tensorAbsTolerance)) + \(fmt("%.0e", Self.tensorRelTolerance))·max|tensor|)")
    }

    private func fmt(_ format: String, _ x: Float) -> String { String(format: format, Double(x)) }
}
