// Segmentation against the PyTorch reference (Fixtures/segmentation/ from scripts/fixtures/segmentation_model_fixtures.py,
// sparse_reference.py decision 12): Sparse-Tuning with EViT, the last block densely restored by `copy` or `nearest`,
// the linear head, bilinear upsampling and pixel cross-entropy with an ignore label — restored features, logits,
// loss and the gradient of every adapter and head tensor.
import XCTest
import Foundation
@testable import SparseTuning

final class SegmentationReferenceTests: XCTestCase {
    struct CaseConfig: Decodable {
        let dim, depth, heads, mlp, patch, image_size, rank, seg_classes: Int
        let keep_rate: Double
        let ts_layers: [Int]
        let rule: String
        let trainable: [String]
        let head: String?
        let channels: Int?
    }

    func run(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fx = try Fixture("segmentation/\(name).safetensors")
        let cc = try JSONCoding.decode(CaseConfig.self, from: fx.meta("case_config"), source: "case_config")
        let vit = ViTConfig(dim: cc.dim, depth: cc.depth, heads: cc.heads, mlpDim: cc.mlp, patch: cc.patch,
                            imageSize: cc.image_size, classes: 0)
        var t = TuningConfig.defaults(for: .sparseTuning)
        t.keepRate = cc.keep_rate
        t.tsLayers = cc.ts_layers
        t.rank = cc.rank
        let trunk = try TunedViT(backbone: VisionTransformer(config: vit, seed: nil), tuning: t)
        var tensors: [String: Tensor] = [:]
        for (k, v) in fx.tensors {
            if k.hasPrefix("backbone.") { tensors[String(k.dropFirst("backbone.".count))] = v }
            else if cc.trainable.contains(k) && !k.hasPrefix("decode_head.") && !k.hasPrefix("neck.") { tensors[k] = v }
        }
        try trunk.load(tensors, requireModules: true)
        var seg = SegmentationConfig(classes: cc.seg_classes, head: SegmentationHeadKind(rawValue: cc.head ?? "linear")!,
                                     restore: RestoreRule(rawValue: cc.rule)!)
        seg.ignoreIndex = 255
        seg.channels = cc.channels ?? 512
        let model = try SegmentationModel(trunk: trunk, settings: seg)
        var headTensors: [String: Tensor] = [:]
        for (k, v) in fx.tensors where k.hasPrefix("decode_head.") || k.hasPrefix("neck.") { headTensors[k] = v }
        try model.load(tensors.merging(headTensors) { a, _ in a }, requireHead: true, requireModules: true)
        XCTAssertEqual(Set(model.trainable.map(\.name)), Set(cc.trainable), file: file, line: line)

        let x = fx["x"]
        assertClose(try model.restoredFeatures(x)[cc.depth - 1]!.values, fx["dense"].values, atol: 2e-5, rtol: 1e-5,
                    "\(name): restored features", file: file, line: line)
        if cc.head != "upernet" {  // eval-mode BatchNorm would differ from the reference's training-mode pass
            assertClose(try model.forward(x).values, fx["logits"].values, atol: 2e-5, rtol: 1e-5, "\(name): logits", file: file, line: line)
        }
        for p in model.trainable { p.zeroGrad() }
        var rng = SeededGenerator(seed: 0)
        let labels = fx["labels"].values.map { Int32($0) }
        let (loss, logits) = try model.forwardBackward(x, labels: labels, training: true, rng: &rng)
        XCTAssertEqual(Double(loss), Double(fx["loss"][0]), accuracy: 1e-5, "\(name): loss", file: file, line: line)
        assertClose(logits.values, fx["logits"].values, atol: 2e-5, rtol: 1e-5, "\(name): training logits", file: file, line: line)
        // The UPerNet case's pyramid pooling at scale 1 normalises 2 values per channel (batch 2, 1×1): its tiny
        // gradients (≈5e-4) carry float32 rounding of a few 1e-6.
        let atol: Float = cc.head == "upernet" ? 1e-5 : 1e-6
        for p in model.trainable {
            assertClose(p.grad.values, fx["grad.\(p.name)"].values, atol: atol, rtol: 1e-4, "\(name): grad \(p.name)",
                        file: file, line: line)
        }
    }

    func testCopyRestorationLinearHead() throws { try run("seg_copy") }
    func testNearestRestorationLinearHead() throws { try run("seg_nearest") }
    func testNearestRestorationUPerNetFourLevels() throws { try run("seg_upernet_nearest") }
}
