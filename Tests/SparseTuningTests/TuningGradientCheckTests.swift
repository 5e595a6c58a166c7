// Finite-difference checks of the backward pass of every method on tiny random models, and the fresh-model
// identity (adapters initialised so that the adapted model computes the backbone's function).
import XCTest
@testable import SparseTuning

final class TuningGradientCheckTests: XCTestCase {
    /// A tiny random backbone (dim 16, depth 4, 17 tokens) adapted by `tuning`, every trainable tensor randomised.
    func makeModel(_ tuning: TuningConfig, seed: UInt64 = 3) throws -> TunedViT {
        var cfg = ViTConfig(dim: 16, depth: 4, heads: 2, mlpDim: 24, patch: 4, imageSize: 16, classes: 3)
        cfg.pool = .token
        let model = try TunedViT(backbone: VisionTransformer(config: cfg, seed: seed), tuning: tuning, seed: seed)
        var rng = SeededGenerator(seed: seed + 100)
        for p in model.trainable { for i in 0..<p.value.count { p.value[i] += rng.normal() * 0.2 } }
        model.parametersUpdated()
        return model
    }

    func input(batch: Int = 2) -> (Tensor, [Int]) {
        var rng = SeededGenerator(seed: 11)
        let x = Tensor(zeros: [batch, 3, 16, 16])
        for i in 0..<x.count { x[i] = rng.normal() }
        return (x, (0..<batch).map { $0 % 3 })
    }

    /// Seed of the generator the checked passes draw drop-path masks from (every pass draws the same masks).
    static let dropSeed: UInt64 = 5

    /// The drop-path scales (attention and MLP branch, per sample) of every block in `checkGradients`' passes, read
    /// from the tape of a training pass with the same model, input and generator seed.
    func dropMasks(_ tuning: TuningConfig, batch: Int = 2) throws -> [(attn: [Float], mlp: [Float])] {
        let model = try makeModel(tuning)
        XCTAssertEqual(model.firstTrainableBlock, 0, "every block keeps a tape")
        let (x, _) = input(batch: batch)
        var rng = SeededGenerator(seed: Self.dropSeed)
        let tape = ModelTape()
        _ = try model.arenas.with("masks") { arena in
            try withUnsafeMutablePointer(to: &rng) {
                try model.run(x, arena: arena, keepRate: model.tuning.keepRate, training: true, tape: tape, rng: $0)
            }
        }
        return try tape.blocks.map { try XCTUnwrap($0?.dropMasks, "a training pass with drop-path draws masks") }
    }

    /// Central differences on a few entries of every trainable tensor against the analytic gradient.
    func checkGradients(_ tuning: TuningConfig, training: Bool = false, samples: Int = 4, batch: Int = 2, eps: Float = 3e-3,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try makeModel(tuning)
        let (x, labels) = input(batch: batch)
        var rng = SeededGenerator(seed: Self.dropSeed)
        for p in model.trainable { p.zeroGrad() }
        let loss: (Tensor) throws -> (Float, Tensor) = { try CrossEntropy.forwardBackward(logits: $0, labels: labels) }
        _ = try model.forwardBackward(x, training: training, rng: &rng, loss: loss)
        let grads = model.trainable.map { $0.grad.copy() }
        func lossValue() throws -> Double {
            var r = SeededGenerator(seed: Self.dropSeed)  // the same drop-path masks as the analytic pass
            let logits = try model.arenas.with("check") { arena in
                try withUnsafeMutablePointer(to: &r) {
                    try model.run(x, arena: arena, keepRate: model.tuning.keepRate, training: training, tape: nil, rng: $0).logits
                }
            }
            return Double(try CrossEntropy.loss(logits: logits, targets: .hard(labels)))
        }
        var pick = SeededGenerator(seed: 9)
        var checked = 0
        for (pi, p) in model.trainable.enumerated() {
            for _ in 0..<min(samples, p.value.count) {
                let i = Int(pick.next() % UInt64(p.value.count))
                let orig = p.value[i]
                p.value[i] = orig + eps; model.parametersUpdated()
                let lp = try lossValue()
                p.value[i] = orig - eps; model.parametersUpdated()
                let lm = try lossValue()
                p.value[i] = orig; model.parametersUpdated()
                let numeric = (lp - lm) / (2 * Double(eps)), analytic = Double(grads[pi][i])
                XCTAssertEqual(analytic, numeric, accuracy: 2e-3 + 3e-2 * abs(numeric),
                               "\(tuning.method.rawValue): d loss / d \(p.name)[\(i)]", file: file, line: line)
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 0, file: file, line: line)
    }

    func config(_ method: TuningMethod, _ edit: (inout TuningConfig) -> Void = { _ in }) -> TuningConfig {
        var t = TuningConfig.defaults(for: method)
        t.tsLayers = [1, 2]
        t.keepRate = method == .sparseTuning || method == .sparseTuningOfficial || method == .evit ? 0.5 : 1
        t.rank = 4
        t.prompts = 2
        edit(&t)
        return t
    }

    func testSparseTuningDenseAdaptersWithFusion() throws { try checkGradients(config(.sparseTuning)) }
    func testSparseTuningWithoutFusion() throws { try checkGradients(config(.sparseTuning) { $0.fuse = false }) }
    func testSparseTuningOfficialAdapters() throws { try checkGradients(config(.sparseTuningOfficial)) }
    // BatchNorm with batch statistics is ill-conditioned for float32 finite differences at these sizes; its
    // training-mode gradients are checked against PyTorch autograd in SparseReferenceTests.
    func testBatchNormHeadEvalMode() throws {
        try checkGradients(config(.sparseTuning) { $0.bnHead = true }, training: false)
    }
    func testFullFineTuningWithSparsification() throws {
        try checkGradients(config(.full) { $0.keepRate = 0.5; $0.adapter = .none }, samples: 2)
    }
    func testLinear() throws { try checkGradients(config(.linear)) }
    func testAdaptFormer() throws { try checkGradients(config(.adaptformer)) }
    func testHoulsbyAdapter() throws { try checkGradients(config(.adapter)) }
    func testLoRA() throws { try checkGradients(config(.lora)) }
    func testLoRAQVOnly() throws { try checkGradients(config(.lora) { $0.loraQVOnly = true }) }
    func testVPTDeep() throws { try checkGradients(config(.vptDeep)) }
    func testEViTWithAdaptFormer() throws { try checkGradients(config(.evit) { $0.evitWithAdaptformer = true }) }
    func testToMeWithDenseAdapters() throws {
        try checkGradients(config(.sparseTuning) { $0.reduction = .tome; $0.tomeR = 3; $0.tsLayers = [0, 1, 2, 3] })
    }

    /// Drop-path in training mode: some branches of some samples dropped (scale 0), the others kept and scaled by
    /// 1/(1 − p_l); the finite differences draw the same masks, so the gradient must match through both cases.
    func checkDropPathGradients(_ tuning: TuningConfig, samples: Int = 4, file: StaticString = #filePath,
                                line: UInt = #line) throws {
        let masks = try dropMasks(tuning)
        let all = masks.flatMap { $0.attn + $0.mlp }
        print("drop-path masks (\(tuning.method.rawValue), rate \(tuning.dropPath)): \(masks.map { "\($0.attn)/\($0.mlp)" })")
        XCTAssertTrue(all.contains(0), "at least one branch of one sample is dropped: \(masks)", file: file, line: line)
        XCTAssertTrue(all.contains { $0 > 1 }, "at least one branch is kept with a scale above 1: \(masks)", file: file, line: line)
        try checkGradients(tuning, training: true, samples: samples, file: file, line: line)
    }

    func testSparseTuningWithDropPath() throws { try checkDropPathGradients(config(.sparseTuning) { $0.dropPath = 0.6 }) }
    func testFullFineTuningWithDropPath() throws {
        try checkDropPathGradients(config(.full) { $0.keepRate = 0.5; $0.adapter = .none; $0.dropPath = 0.6 }, samples: 2)
    }

    /// bf16 products (frozen forward and input gradients, attention) give gradients close to fp32's, not equal to
    /// them, for every trainable tensor. The adapters are randomised (`makeModel`), so the gradients pass back
    /// through every frozen product — `proj` is square, where a W/Wᵀ mix-up in the packed weights once went unseen.
    func testBF16TrainingGradientsStayClose() throws {
        let model = try makeModel(config(.sparseTuning))
        let (x, labels) = input()
        func gradients() throws -> [[Float]] {
            for p in model.trainable { p.zeroGrad() }
            var rng = SeededGenerator(seed: 1)
            _ = try model.forwardBackward(x, training: true, rng: &rng) { try CrossEntropy.forwardBackward(logits: $0, labels: labels) }
            return model.trainable.map { $0.grad.values }
        }
        let fp32 = try gradients()
        model.precision = .bf16
        let bf16 = try gradients()
        model.precision = .fp32
        var rounded = false
        for (p, (a, b)) in zip(model.trainable, zip(bf16, fp32)) {
            let scale = b.map(abs).max() ?? 0
            XCTAssertGreaterThan(scale, 0, "\(p.name): gradient reaches the tensor")
            XCTAssertLessThanOrEqual(maxAbsDiff(a, b), 3e-2 * scale, "\(p.name): bf16 gradient within 3% of the fp32 one's largest entry")
            rounded = rounded || maxAbsDiff(a, b) > 0
        }
        XCTAssertTrue(rounded, "the bf16 path should round")
    }

    /// docs/METHOD.md §3a/§3b/§4: freshly initialised adapters, LoRA and AdaptFormer leave the backbone's function
    /// unchanged.
    func testFreshModulesComputeTheBackbone() throws {
        let cfg = ViTConfig(dim: 16, depth: 4, heads: 2, mlpDim: 24, patch: 4, imageSize: 16, classes: 3)
        let (x, _) = input()
        let reference = try TunedViT(backbone: VisionTransformer(config: cfg, seed: 1)).forward(x)
        for method in [TuningMethod.sparseTuning, .adaptformer, .adapter, .lora] {
            var t = TuningConfig.defaults(for: method)
            t.keepRate = 1
            t.tsLayers = [1, 3]
            let model = try TunedViT(backbone: VisionTransformer(config: cfg, seed: 1), tuning: t)
            assertClose(try model.forward(x).values, reference.values, atol: 1e-5, rtol: 1e-5, "fresh \(method.rawValue)")
        }
    }
}
