// Video models against their PyTorch references (Fixtures/video_models/ from scripts/fixtures/video_model_fixtures.py):
// VideoMAE from transformers' own save_pretrained files and from the original repository's names equals transformers'
// logits and features; the per-frame ViT with mean temporal pooling equals timm run per frame, then pooled.
import XCTest
import Foundation
@testable import SparseTuning

final class VideoModelTests: XCTestCase {
    /// The library path a program takes: load the checkpoint, read the architecture (shapes + a config.json beside
    /// the weights when there is one), build, run the clips.
    func videoMAE(_ relative: String, heads: Int? = nil) throws -> (TunedViT, ViTConfig) {
        let path = fixturePath("video_models/\(relative)")
        let checkpoint = try Checkpoint.load(path)
        let stated = try VideoMAE.statedConfig(besideWeights: path)
        let arch = try ViTConfig.inferred(fromShapes: checkpoint.tensors.mapValues(\.shape), stated: stated, heads: heads,
                                          source: path)
        let model = try TunedViT(backbone: VisionTransformer(config: arch.config, seed: nil))
        try model.load(checkpoint.tensors)
        return (model, arch.config)
    }

    func testVideoMAEFromTransformersEqualsTransformers() throws {
        let (model, c) = try videoMAE("videomae_hf/model.safetensors")
        XCTAssertEqual([c.frames, c.tubelet ?? 0, c.prefixTokens, c.heads, c.classes, c.tokens], [4, 2, 0, 2, 3, 8])
        XCTAssertTrue(c.sinusoidalPositions)
        XCTAssertEqual(c.eps, 1e-12)
        XCTAssertEqual(c.pool, .avg)
        XCTAssertTrue(model.backbone.normAfterPooling)
        let io = try Fixture("video_models/io.safetensors")
        let logits = try model.forward(io["x"])
        XCTAssertEqual(logits.shape, [2, 3])
        assertClose(logits.values, io["videomae.logits"].values, atol: 1e-5, rtol: 1e-5, "VideoMAE logits vs transformers")
    }

    func testVideoMAEOriginalNamesEqualTransformers() throws {
        // No config.json: timm's conventions (eps 1e-6) and the width's heads would apply; the tiny model has 2 heads.
        let (model, c) = try videoMAE("videomae_original.safetensors", heads: 2)
        XCTAssertEqual(c.eps, 1e-6)
        XCTAssertEqual(c.tubelet, 2)
        XCTAssertEqual(c.frames, 16, "VideoMAE's 16 frames when nothing states the clip length (inputs may have fewer)")
        let io = try Fixture("video_models/io.safetensors")
        assertClose(try model.forward(io["x"]).values, io["videomae_eps6.logits"].values, atol: 1e-5, rtol: 1e-5,
                    "original-name VideoMAE logits vs transformers")
    }

    func testVideoMAEModelWithoutQKVBiasFeatures() throws {
        let (model, c) = try videoMAE("videomae_base_hf/model.safetensors")
        XCTAssertEqual([c.frames, c.classes], [2, 0])
        let io = try Fixture("video_models/io.safetensors")
        let x = io["x"]  // (B, 4, 3, 16, 16)
        let first2 = Tensor(uninitialized: [2, 2, 3, 16, 16])  // (B, 2, 3, H, W): the first two frames of each clip
        for b in 0..<2 { (first2.data + b * 2 * 768).update(from: x.data + b * 4 * 768, count: 2 * 768) }
        // VideoMAEModel has no final norm: the loader adds VideoMAE fine-tuning's unit fc_norm after the mean pooling.
        assertClose(try model.forward(first2).values, io["base.features"].values, atol: 1e-5, rtol: 1e-5,
                    "VideoMAEModel features vs transformers (mean, unit fc_norm)")
    }

    func testVideoMAEPretrainingCheckpointAsBackbone() throws {
        // VideoMAEForPreTraining: decoder, encoder_to_decoder and mask_token dropped; use_mean_pooling false gives a final
        // LayerNorm over the tokens, whose mean is the feature (transformers: last_hidden_state.mean(1)).
        let (model, c) = try videoMAE("videomae_pretrain_hf/model.safetensors")
        XCTAssertEqual([c.frames, c.classes, c.prefixTokens], [4, 0, 0])
        XCTAssertFalse(model.backbone.normAfterPooling)
        let io = try Fixture("video_models/io.safetensors")
        assertClose(try model.forward(io["x"]).values, io["pretrain.features"].values, atol: 1e-5, rtol: 1e-5,
                    "VideoMAE pretraining backbone features vs transformers")
    }

    func testPerFrameViTEqualsTimmPerFrameThenMean() throws {
        let path = fixturePath("video_models/perframe_vit.safetensors")
        let checkpoint = try Checkpoint.load(path)
        var c = try ViTConfig.inferred(fromShapes: checkpoint.tensors.mapValues(\.shape), heads: 2, source: path).config
        c.frames = 4
        XCTAssertEqual(c.sequencesPerSample, 4)
        let model = try TunedViT(backbone: VisionTransformer(config: c, seed: nil))
        try model.load(checkpoint.tensors)
        let io = try Fixture("video_models/io.safetensors")
        assertClose(try model.forward(io["x"]).values, io["perframe.logits"].values, atol: 1e-5, rtol: 1e-5,
                    "per-frame ViT logits vs timm per frame + mean")
        // The same clip as images through the image model, averaged by hand: the per-frame model is exactly that.
        var image = c
        image.frames = 1
        let imageModel = try TunedViT(backbone: VisionTransformer(config: image, seed: nil))
        try imageModel.load(checkpoint.tensors)
        XCTAssertThrowsError(try imageModel.forward(io["x"]), "an image model refuses clips") { e in
            XCTAssertTrue("\(e)".contains("(B, 3, H, W)"), "\(e)")
        }
    }

    func testClipShapeErrors() throws {
        var c = ViTConfig(dim: 24, depth: 1, heads: 2, patch: 8, imageSize: 16, classes: 3)
        c.frames = 4
        c.tubelet = 2
        let model = try TunedViT(backbone: VisionTransformer(config: c))
        XCTAssertThrowsError(try model.forward(Tensor(zeros: [1, 3, 3, 16, 16]))) { e in
            XCTAssertTrue("\(e)".contains("multiple of 2"), "\(e)")
        }
        XCTAssertThrowsError(try model.forward(Tensor(zeros: [1, 3, 16, 16]))) { e in
            XCTAssertTrue("\(e)".contains("(B, T, 3, H, W)"), "\(e)")
        }
        c.classToken = false
        c.pool = .token
        XCTAssertThrowsError(try c.validate())
    }
}
