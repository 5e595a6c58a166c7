// Every method against the PyTorch reference (Fixtures/sparse/*.safetensors from scripts/fixtures/sparse_fixtures.py):
// logits, kept tokens, token counts, loss, the gradient of every trainable tensor, BatchNorm running statistics.
import XCTest
import Foundation
@testable import SparseTuning

final class SparseReferenceTests: XCTestCase {
    struct CaseConfig: Decodable {
        let dim, depth, heads, mlp, patch, classes, batch: Int
        let image_size: Int
        let pool, method, adapter, reduction: String
        let keep_rate: Double
        let ts_layers: [Int]
        let tome_layers: [Int]?
        let tome_r: Int
        let fuse, bn_head, lora_qv_only: Bool
        let bn_mode: String
        let rank, lora_rank, vpt_prompts, adaptformer_dim, houlsby_dim: Int
        let official_dims: [Int]
        let trainable: [String]
        // Backbone variants (scripts/fixtures/sparse_reference.py, decision 10; absent from older cases)
        let eps: Float?
        let distilled: Bool?
        let registers: Int?
        let no_embed_class, layer_scale, pre_norm, patch_bias: Bool?
        let act: String?
        // Video (decision 11)
        let frames, tubelet: Int?
        let class_token, sinusoidal: Bool?
        let temporal_pool: String?
    }

    func run(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fx = try Fixture("sparse/\(name).safetensors")
        let cc = try JSONCoding.decode(CaseConfig.self, from: fx.meta("case_config"), source: "case_config")
        var vit = ViTConfig(dim: cc.dim, depth: cc.depth, heads: cc.heads, mlpDim: cc.mlp, patch: cc.patch,
                            imageSize: cc.image_size, classes: cc.classes, pool: Pooling(rawValue: cc.pool)!)
        vit.eps = cc.eps ?? 1e-6
        vit.distilled = cc.distilled ?? false
        vit.registers = cc.registers ?? 0
        vit.posEmbedCoversPrefix = !(cc.no_embed_class ?? false)
        vit.layerScale = cc.layer_scale ?? false
        vit.preNorm = cc.pre_norm ?? false
        vit.patchBias = cc.patch_bias ?? true
        vit.activation = Activation(rawValue: cc.act ?? "gelu")!
        vit.frames = cc.frames ?? 1
        vit.tubelet = cc.tubelet
        vit.classToken = cc.class_token ?? true
        vit.sinusoidalPositions = cc.sinusoidal ?? false
        var t = TuningConfig.defaults(for: TuningMethod(rawValue: cc.method)!)
        t.adapter = AdapterKind(rawValue: cc.adapter) ?? .none  // "adaptformer"/"houlsby" name the method's modules
        t.keepRate = cc.reduction == "evit" ? cc.keep_rate : 1
        t.reduction = cc.reduction == "tome" ? .tome : .evit
        t.tomeR = cc.tome_r
        t.tsLayers = cc.reduction == "tome" ? cc.tome_layers : cc.ts_layers
        t.fuse = cc.fuse
        t.bnHead = cc.bn_head
        t.rank = cc.rank
        t.loraRank = cc.lora_rank
        t.loraQVOnly = cc.lora_qv_only
        if cc.vpt_prompts > 0 { t.prompts = cc.vpt_prompts }
        t.adaptformerDim = cc.adaptformer_dim
        t.houlsbyDim = cc.houlsby_dim
        t.officialDims = cc.official_dims
        if cc.method == "evit" && cc.adapter == "adaptformer" { t.evitWithAdaptformer = true }
        if vit.sequencesPerSample > 1 { t.temporalPool = TemporalPooling(rawValue: cc.temporal_pool ?? "mean") }
        let model = try TunedViT(backbone: VisionTransformer(config: vit, seed: nil), tuning: t)
        var tensors: [String: Tensor] = [:]
        for (k, v) in fx.tensors {
            if k.hasPrefix("backbone.") { tensors[String(k.dropFirst("backbone.".count))] = v }
            else if cc.trainable.contains(k) || k.hasPrefix("head.0.") { tensors[k] = v }
        }
        try model.load(tensors, requireModules: true)
        XCTAssertEqual(Set(model.trainable.map(\.name)), Set(cc.trainable), "\(name): trainable set", file: file, line: line)

        let labels = fx["labels"].values.map { Int($0) }
        var rng = SeededGenerator(seed: 0)
        for p in model.trainable { p.zeroGrad() }
        let (loss, logits) = try model.forwardBackward(fx["x"], training: cc.bn_mode == "train", rng: &rng) {
            try CrossEntropy.forwardBackward(logits: $0, labels: labels)
        }
        assertClose(logits.values, fx["logits"].values, atol: 2e-5, rtol: 1e-5, "\(name): logits", file: file, line: line)
        XCTAssertEqual(Double(loss), Double(fx["loss"][0]), accuracy: 1e-5 * max(1, Double(abs(fx["loss"][0]))),
                       "\(name): loss", file: file, line: line)
        let pass = try model.forwardResult(fx["x"])  // token selection does not depend on the BatchNorm mode
        XCTAssertEqual(pass.tokenCounts, fx["tokens"].values.map { Int($0) }, "\(name): tokens per block", file: file, line: line)
        for (k, v) in fx.tensors where k.hasPrefix("kept.") {
            let block = Int(k.dropFirst("kept.".count))!
            let kept = pass.reductions[block]?.kept.flatMap { $0 } ?? []
            XCTAssertEqual(kept, v.values.map { Int($0) }, "\(name): kept tokens of block \(block)", file: file, line: line)
        }
        for p in model.trainable {
            let ref = fx["grad.\(p.name)"]
            assertClose(p.grad.values, ref.values, atol: 1e-6, rtol: 1e-4, "\(name): grad \(p.name)", file: file, line: line)
        }
        for (k, v) in fx.tensors where k.hasPrefix("after.") {
            let buffer = model.taskStateDict().first { $0.name == String(k.dropFirst("after.".count)) }!.tensor
            assertClose(buffer.values, v.values, atol: 1e-6, rtol: 1e-5, "\(name): \(k)", file: file, line: line)
        }
    }

    func testEViTFused() throws { try run("evit_fuse") }
    func testEViTUnfusedAvgPool() throws { try run("evit_nofuse_avg") }
    func testEViTNoOp() throws { try run("evit_noop") }
    func testEViTHalfKeepThreeBlocks() throws { try run("evit_k05_3blocks") }
    func testDenseAdaptersFused() throws { try run("dense_fuse") }
    func testDenseAdaptersUnfused() throws { try run("dense_nofuse") }
    func testDenseAdaptersWithoutSparsification() throws { try run("dense_keep1") }
    func testOfficialAdaptersTwoStages() throws { try run("official_2_4") }
    func testOfficialAdaptersDefaultLike() throws { try run("official_default_like") }
    func testBatchNormHeadTraining() throws { try run("bn_train") }
    func testBatchNormHeadEval() throws { try run("bn_eval") }
    func testFullDense() throws { try run("full_dense") }
    func testFullWithEViT() throws { try run("full_evit") }
    func testLinearProbe() throws { try run("linear") }
    func testAdaptFormer() throws { try run("adaptformer") }
    func testHoulsby() throws { try run("houlsby") }
    func testLoRA() throws { try run("lora_qkv") }
    func testLoRAQV() throws { try run("lora_qv") }
    func testVPTDeep() throws { try run("vpt_deep") }
    func testEViTWithAdaptFormer() throws { try run("evit_adaptformer") }
    func testToMeWithDenseAdapters() throws { try run("tome_dense") }
    // Backbone variants with extra prefix tokens (docs/BACKBONES.md)
    func testDistilledDeiTWithDenseAdapters() throws { try run("deit_distilled_dense") }
    func testDINOv2RegistersWithDenseAdapters() throws { try run("dinov2_registers_dense") }
    func testCLIPPreNormQuickGELUFullWithEViT() throws { try run("clip_full_evit") }
    func testDINOv2LayerScaleFullWithBatchNormHead() throws { try run("dinov2_full_bn") }
    func testDistilledDeiTWithDeepPrompts() throws { try run("deit_vpt") }
    func testVideoMAESpaceTimeWithoutClassTokenDenseAdapters() throws { try run("videomae_dense") }
    func testPerFrameVideoAttentionPoolingDenseAdapters() throws { try run("perframe_attention_dense") }
}
