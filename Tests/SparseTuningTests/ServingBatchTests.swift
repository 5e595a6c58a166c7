// Tasks sharing one frozen backbone, batched into one pass (docs/SERVING.md): views share the trunk's tensors,
// a task file loads onto a loaded trunk, and a shared pass over several tasks' rows gives each task exactly the
// logits of its own forward pass, for every method structure (adapters, LoRA, prompts, BatchNorm head, EViT and
// ToMe schedules) and for a backbone with extra prefix tokens.
import XCTest
@testable import SparseTuning

final class ServingBatchTests: XCTestCase {
    /// Tasks of `tuning` on one trunk, each with its own perturbed modules and a head of `classes[i]` outputs.
    func tasks(_ tuning: TuningConfig, classes: [Int], base: VisionTransformer) throws -> [TunedViT] {
        try classes.enumerated().map { i, k in
            let m = try TunedViT(backbone: base.sharingTrunk(classes: k), tuning: tuning, seed: UInt64(10 + i))
            var rng = SeededGenerator(seed: UInt64(100 + i))
            for p in m.trainable { for j in 0..<p.value.count { p.value[j] += 0.1 * rng.normal() } }
            if let bn = m.bnHead { for (_, t) in bn.buffers where t.count > 1 { for j in 0..<t.count { t[j] = 0.5 + abs(t[j]) + 0.1 * Float(j % 3) } } }
            m.parametersUpdated()
            return m
        }
    }

    func assertSharedPassEqualsOwnPasses(_ models: [TunedViT], batches: [Int], size: Int = 32, _ what: String,
                                         file: StaticString = #filePath, line: UInt = #line) throws {
        let parts = models.enumerated().map { i, m in (model: m, images: randomImages(batch: batches[i], size: size, seed: UInt64(7 + i))) }
        let shared = try TunedViT.forward(batch: parts)
        XCTAssertEqual(shared.count, parts.count, file: file, line: line)
        for (i, p) in parts.enumerated() {
            let own = try p.model.forward(p.images)
            XCTAssertEqual(shared[i].shape, own.shape, "\(what): task \(i) shape", file: file, line: line)
            // The same kernels on the same rows (oneDNN's products may block rows differently at another batch size).
            assertClose(shared[i].values, own.values, atol: 1e-5, rtol: 1e-5, "\(what): task \(i)", file: file, line: line)
        }
    }

    let config = ViTConfig(dim: 32, depth: 4, heads: 2, mlpDim: 64, patch: 8, imageSize: 32, classes: 0)

    func testEveryMethodStructureSharesAPass() throws {
        let base = try VisionTransformer(config: config, seed: 3)
        var sparse = TuningConfig.defaults(for: .sparseTuning)
        sparse.keepRate = 0.5; sparse.tsLayers = [1, 2]; sparse.rank = 8
        var bn = sparse; bn.bnHead = true
        var tome = TuningConfig.defaults(for: .sparseTuning)
        tome.reduction = .tome; tome.tomeR = 2; tome.keepRate = 1; tome.rank = 8
        var lora = TuningConfig.defaults(for: .lora); lora.loraRank = 4
        var vpt = TuningConfig.defaults(for: .vptDeep); vpt.prompts = 3
        var af = TuningConfig.defaults(for: .adaptformer); af.adaptformerDim = 8
        var houlsby = TuningConfig.defaults(for: .adapter); houlsby.houlsbyDim = 4
        var evit = TuningConfig.defaults(for: .evit); evit.keepRate = 0.6; evit.tsLayers = [1]; evit.evitWithAdaptformer = true
        for (t, name) in [(sparse, "sparse-tuning"), (bn, "BatchNorm head"), (tome, "ToMe"), (lora, "LoRA"), (vpt, "VPT-deep"),
                          (af, "AdaptFormer"), (houlsby, "Houlsby"), (evit, "EViT + AdaptFormer"),
                          (TuningConfig.defaults(for: .linear), "linear")] {
            let models = try tasks(t, classes: [5, 3, 7], base: base)
            XCTAssertEqual(Set(models.map(\.batchKey)).count, 1, name)
            try assertSharedPassEqualsOwnPasses(models, batches: [2, 1, 3], name)
        }
    }

    /// Tasks of different methods with the same token schedule share a pass, each with its own modules; repeated
    /// parts of one task form one segment; the released code's adapters share with no other task.
    func testDifferentMethodsOfOneScheduleShareAPass() throws {
        let base = try VisionTransformer(config: config, seed: 5)
        var dense = TuningConfig.defaults(for: .sparseTuning); dense.keepRate = 1; dense.rank = 8
        var dense4 = dense; dense4.rank = 4
        var bn = dense; bn.bnHead = true
        var lora = TuningConfig.defaults(for: .lora); lora.loraRank = 4
        var af = TuningConfig.defaults(for: .adaptformer); af.adaptformerDim = 8
        var houlsby = TuningConfig.defaults(for: .adapter); houlsby.houlsbyDim = 4
        let plain = [dense, TuningConfig.defaults(for: .linear), lora, af, houlsby, bn, dense4]
        let unreduced = try plain.enumerated().flatMap { i, t in try tasks(t, classes: [3 + i], base: base) }
        XCTAssertEqual(Set(unreduced.map(\.batchKey)).count, 1)
        try assertSharedPassEqualsOwnPasses(unreduced, batches: [1, 2, 1, 2, 1, 3, 2], "seven methods without reduction")

        var sparse = TuningConfig.defaults(for: .sparseTuning); sparse.keepRate = 0.5; sparse.tsLayers = [1, 2]; sparse.rank = 8
        var evit = TuningConfig.defaults(for: .evit); evit.keepRate = 0.5; evit.tsLayers = [1, 2]
        var evitAF = evit; evitAF.evitWithAdaptformer = true
        let reduced = try [sparse, evit, evitAF].enumerated().flatMap { i, t in try tasks(t, classes: [4 + i], base: base) }
        XCTAssertEqual(Set(reduced.map(\.batchKey)).count, 1)
        try assertSharedPassEqualsOwnPasses(reduced, batches: [2, 2, 1], "EViT schedule across methods")

        // One task's requests next to each other form one segment; results stay per request.
        let m = reduced[0], x1 = randomImages(batch: 1, seed: 31), x2 = randomImages(batch: 2, seed: 32)
        let out = try TunedViT.forward(batch: [(m, x1), (m, x2), (reduced[1], x1)])
        assertClose(out[0].values, try m.forward(x1).values, atol: 1e-5, rtol: 1e-5, "first request")
        assertClose(out[1].values, try m.forward(x2).values, atol: 1e-5, rtol: 1e-5, "second request")

        var official = TuningConfig.defaults(for: .sparseTuningOfficial); official.officialDims = [8, 4]; official.tsLayers = [1, 2]
        let o = try tasks(official, classes: [3, 3], base: base)
        XCTAssertNotEqual(o[0].batchKey, o[1].batchKey)
        let alone = try TunedViT.forward(batch: [(o[0], x1), (o[0], x2)])
        assertClose(alone[1].values, try o[0].forward(x2).values, atol: 1e-5, rtol: 1e-5, "released-code adapters, one task")
    }

    func testPrefixTokenBackboneSharesAPass() throws {
        var cfg = config
        cfg.distilled = true; cfg.registers = 2; cfg.posEmbedCoversPrefix = false; cfg.layerScale = true
        let base = try VisionTransformer(config: cfg, seed: 4)
        var sparse = TuningConfig.defaults(for: .sparseTuning)
        sparse.keepRate = 0.5; sparse.tsLayers = [1, 2]; sparse.rank = 8
        try assertSharedPassEqualsOwnPasses(try tasks(sparse, classes: [4, 6], base: base), batches: [3, 2], "DeiT-style + registers")
    }

    func testViewsShareTheTrunkAndKeysSeparateWhatCannotShare() throws {
        let base = try VisionTransformer(config: config, seed: 3)
        let a = base.sharingTrunk(classes: 5), b = base.sharingTrunk(classes: 3)
        XCTAssertTrue(a.blocks[0] === b.blocks[0] && a.patchEmbed === b.patchEmbed)
        XCTAssertTrue(a.blocks[0].attn.qkv.weight === base.blocks[0].attn.qkv.weight)
        XCTAssertFalse(a.head === b.head)
        XCTAssertEqual(b.head?.weight.shape, [3, 32])
        let other = try VisionTransformer(config: config, seed: 3)
        XCTAssertFalse(other.blocks[0] === base.blocks[0] || other.patchEmbed === base.patchEmbed)
        let sparse = TuningConfig.defaults(for: .sparseTuning)
        var other70 = sparse; other70.keepRate = 0.6
        let m1 = try TunedViT(backbone: a, tuning: sparse), m2 = try TunedViT(backbone: b, tuning: other70)
        let m3 = try TunedViT(backbone: other.sharingTrunk(classes: 2), tuning: sparse)
        XCTAssertNotEqual(m1.batchKey, m2.batchKey, "another keep rate")
        XCTAssertNotEqual(m1.batchKey, m3.batchKey, "another trunk")
        XCTAssertThrowsError(try TunedViT.forward(batch: [(m1, randomImages(batch: 1, seed: 1)), (m3, randomImages(batch: 1, seed: 2))]))
    }

    /// A task file written by training loads onto a shared trunk alone; backbone tensors in it are refused.
    func testTaskFileLoadsOntoASharedTrunk() throws {
        let trained = try randomSparseModel(classes: 4, seed: 2)
        let base = trained.backbone.sharingTrunk(classes: 0)  // the loaded backbone, head dropped
        let served = try TunedViT(backbone: base.sharingTrunk(classes: 4), tuning: trained.tuning)
        let taskTensors = Dictionary(uniqueKeysWithValues: trained.taskStateDict().map { ($0.name, $0.tensor) })
        try served.loadTask(taskTensors, source: "task.safetensors")
        let x = randomImages(batch: 2, seed: 5)
        assertClose(try served.forward(x).values, try trained.forward(x).values, atol: 1e-6, rtol: 1e-6, "served task")
        var extra = taskTensors
        extra["blocks.0.norm1.weight"] = trained.backbone.blocks[0].norm1.weight
        XCTAssertThrowsError(try served.loadTask(extra, source: "task.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("blocks.0.norm1.weight") && "\(e)".contains("task.safetensors"), "\(e)")
        }
        var missing = taskTensors
        missing["head.weight"] = nil
        XCTAssertThrowsError(try served.loadTask(missing, source: "t.safetensors")) { e in XCTAssertTrue("\(e)".contains("head.weight"), "\(e)") }
        let full = try TunedViT(backbone: base.sharingTrunk(classes: 4), tuning: .defaults(for: .full))
        XCTAssertThrowsError(try full.loadTask([:], source: "full.safetensors")) { e in XCTAssertTrue("\(e)".contains("full"), "\(e)") }
    }
}
