// timm's backbone families (Fixtures/families/ from scripts/fixtures/family_fixtures.py, built by timm itself):
// DeiT distilled, DINOv2 with and without registers, CLIP with QuickGELU. The architecture is read from the
// checkpoint (tensor shapes + timm's config.json) and the logits equal timm's within 1e-4 of the largest logit,
// including DINOv2's position grid resampled to another image size (docs/BACKBONES.md).
import XCTest
import Foundation
@testable import SparseTuning

final class CheckpointFamiliesTests: XCTestCase {
    /// The library path a program takes: load, read the architecture, build, run at the input's size.
    func check(_ family: String, expect: (ViTConfig) -> Void, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = fixturePath("families/\(family)/model.safetensors")
        let checkpoint = try Checkpoint.load(path)
        let timm = try XCTUnwrap(try TimmConfigFile.beside(path), file: file, line: line)
        let stated = try timm.statedConfig()
        let arch = try ViTConfig.inferred(fromShapes: checkpoint.tensors.mapValues(\.shape),
                                          stated: (stated, timm.path), source: path)
        XCTAssertEqual(arch.notes, [], "everything is read or stated", file: file, line: line)
        expect(arch.config)
        let model = try TunedViT(backbone: VisionTransformer(config: arch.config, seed: nil))
        try model.load(checkpoint.tensors)
        let io = try Fixture("families/\(family)/io.safetensors")
        let logits = try model.forward(io["x"])
        let ref = io["logits"].values
        let scale = ref.map(abs).max()!
        XCTAssertEqual(logits.shape, io["logits"].shape, file: file, line: line)
        assertClose(logits.values, ref, atol: 1e-4 * scale, rtol: 0, "\(family): logits vs timm", file: file, line: line)
        print("\(family): max |logit diff| \(maxAbsDiff(logits.values, ref)) (largest logit \(scale))")
    }

    func testDeiTDistilled() throws {
        try check("deit_distilled") { c in
            XCTAssertTrue(c.distilled)
            XCTAssertEqual([c.prefixTokens, c.headWidth, c.heads, c.classes], [2, 48, 3, 5])
        }
    }

    func testDINOv2WithRegistersResampled() throws {
        try check("dinov2_registers") { c in
            XCTAssertEqual([c.registers, c.prefixTokens, c.heads, c.imageSize, c.classes], [2, 3, 2, 20, 0])
            XCTAssertFalse(c.posEmbedCoversPrefix)
            XCTAssertTrue(c.layerScale)
        }
    }

    func testDINOv2Resampled() throws {
        try check("dinov2") { c in
            XCTAssertTrue(c.posEmbedCoversPrefix)
            XCTAssertTrue(c.layerScale)
            XCTAssertEqual([c.prefixTokens, c.heads, c.imageSize], [1, 3, 16])
        }
    }

    func testCLIPQuickGELU() throws {
        try check("clip_quickgelu") { c in
            XCTAssertTrue(c.preNorm)
            XCTAssertFalse(c.patchBias)
            XCTAssertEqual(c.activation, .quickGELU)
            XCTAssertEqual(c.eps, 1e-5)
            XCTAssertEqual(c.heads, 4)
        }
    }

    /// Without config.json the shapes still give everything but heads, epsilon and activation: a width of 32 has
    /// no standard head count, so the error asks for --heads.
    func testWithoutConfigHeadsMustBeGiven() throws {
        let path = fixturePath("families/clip_quickgelu_noconfig/model.safetensors")
        XCTAssertNil(try TimmConfigFile.beside(path))
        let shapes = try Checkpoint.load(path).tensors.mapValues(\.shape)
        XCTAssertThrowsError(try ViTConfig.inferred(fromShapes: shapes, source: path)) { error in
            XCTAssertTrue("\(error)".contains("--heads"), "\(error)")
        }
    }

    /// A config.json that contradicts the tensors is an error naming both.
    func testStatedArchitectureMustAgreeWithTensors() throws {
        let path = fixturePath("families/dinov2/model.safetensors")
        let shapes = try Checkpoint.load(path).tensors.mapValues(\.shape)
        var wrong = try XCTUnwrap(try TimmConfigFile.beside(path)).statedConfig()
        wrong.mlpDim = 40
        XCTAssertThrowsError(try ViTConfig.inferred(fromShapes: shapes, stated: (wrong, "config.json"), source: path)) { error in
            XCTAssertTrue("\(error)".contains("MLP width 40"), "\(error)")
            XCTAssertTrue("\(error)".contains("48"), "\(error)")
        }
    }

    func testTimmNames() throws {
        let deit = try XCTUnwrap(ViTConfig.timm("deit_base_distilled_patch16_224.fb_in1k"))
        XCTAssertEqual([deit.dim, deit.depth, deit.heads, deit.patch, deit.imageSize, deit.prefixTokens], [768, 12, 12, 16, 224, 2])
        let dino = try XCTUnwrap(ViTConfig.timm("vit_large_patch14_reg4_dinov2.lvd142m"))
        XCTAssertEqual([dino.dim, dino.heads, dino.patch, dino.imageSize, dino.registers], [1024, 16, 14, 518, 4])
        XCTAssertFalse(dino.posEmbedCoversPrefix)
        let clip = try XCTUnwrap(ViTConfig.timm("vit_base_patch16_clip_quickgelu_224.openai"))
        XCTAssertEqual(clip.activation, .quickGELU)
        XCTAssertEqual(ViTConfig.timm("vit_base_patch16_clip_224.laion2b")?.activation, .gelu)
        XCTAssertNil(ViTConfig.timm("vit_base_patch16_siglip_224"))
        XCTAssertNil(ViTConfig.timm("vit_giant_patch14_dinov2"))  // SwiGLU MLP
        XCTAssertNil(ViTConfig.timm("resnet50"))
    }

    /// The command line reads the architecture from the checkpoint: `forward` with no architecture flag.
    func testForwardCommandReadsTheArchitecture() throws {
        let dir = temporaryDirectory(self)
        let out = dir + "/y.npy"
        let (status, _, err) = try runSparseTune(["forward", "--weights", fixturePath("families/dinov2_registers/model.safetensors"),
                                                  "--input", fixturePath("families/dinov2_registers/x.npy"), "--output", out])
        XCTAssertEqual(status, 0, err)
        let y = try XCTUnwrap(NPY.read(path: out).tensor)
        let ref = try Fixture("families/dinov2_registers/io.safetensors")["logits"]
        assertClose(y.values, ref.values, atol: 1e-4 * ref.values.map(abs).max()!, rtol: 0, "forward CLI vs timm")
        // Without config.json: heads from the flag; a flag contradicting config.json is refused.
        let bare = fixturePath("families/clip_quickgelu_noconfig/model.safetensors")
        let x = fixturePath("families/clip_quickgelu/x.npy")
        var r = try runSparseTune(["forward", "--weights", bare, "--input", x, "--output", out])
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("error:") && r.2.contains("--heads"), r.2)
        r = try runSparseTune(["forward", "--weights", bare, "--input", x, "--output", out, "--heads", "4", "--act", "quick_gelu"])
        XCTAssertEqual(r.0, 0, r.2)
        let clipRef = try Fixture("families/clip_quickgelu/io.safetensors")["logits"]
        assertClose(try XCTUnwrap(NPY.read(path: out).tensor).values, clipRef.values, atol: 1e-4 * clipRef.values.map(abs).max()!, rtol: 0, "bare CLIP + flags")
        r = try runSparseTune(["forward", "--weights", fixturePath("families/clip_quickgelu/model.safetensors"), "--input", x,
                               "--output", out, "--heads", "8"])
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("--heads 8 disagrees") && r.2.contains("config.json"), r.2)
    }
}

/// The whole command line on backbones with extra prefix tokens: train, eval, predict and visualize with register
/// tokens and token sparsification; full fine-tuning of a layer-scale backbone layered back over it exactly.
final class FamiliesCLITests: XCTestCase {
    func data(in dir: String) throws -> String {
        try SyntheticImages(size: 32, classes: 3).writeVTABTask(root: "\(dir)/vtab", task: "shapes", trainCount: 12,
                                                                 testCount: 6, seed: 3, writeClassNames: true)
    }


    func testSparseTuningOnDINOv2WithRegisters() throws {
        let dir = temporaryDirectory(self)
        let data = try data(in: dir)
        let backbone = fixturePath("families/dinov2_registers/model.safetensors")
        let task = "\(dir)/task.safetensors"
        var r = try runSparseTune(["train", "--weights", backbone, "--data", data, "--keep-rate", "0.5", "--ts-layers", "1",
                                   "--rank", "4", "--epochs", "1", "--batch", "4", "--warmup-epochs", "0", "--output", task])
        XCTAssertEqual(r.0, 0, r.2)
        r = try runSparseTune(["eval", "--weights", backbone, "--weights", task, "--data", data, "--json"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertNotNil(try jsonTree(r.1)["top1"]?.double, r.1)
        let image = "\(data)/images/test/000000.png"
        r = try runSparseTune(["predict", "--weights", backbone, "--weights", task, "--image", image])
        XCTAssertEqual(r.0, 0, r.2)
        r = try runSparseTune(["visualize", "--weights", backbone, "--weights", task, "--image", image, "--out", "\(dir)/v.png"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.1.contains("tokens kept"), r.1)
    }

    func testFullFineTuningOfLayerScaleBackboneLayersBackExactly() throws {
        let dir = temporaryDirectory(self)
        let data = try data(in: dir)
        let backbone = fixturePath("families/dinov2/model.safetensors")
        let task = "\(dir)/full.safetensors"
        var r = try runSparseTune(["train", "--weights", backbone, "--data", data, "--method", "full", "--epochs", "1",
                                   "--batch", "4", "--warmup-epochs", "0", "--lr", "0.01", "--output", task])
        XCTAssertEqual(r.0, 0, r.2)
        // The task file holds the trained (folded) Linears and unit layer scales: layered over the backbone, whose own
        // scales it replaces, it is the trained model; a second forward from the task file alone agrees.
        let x = fixturePath("families/dinov2/x.npy")
        r = try runSparseTune(["forward", "--weights", backbone, "--weights", task, "--input", x, "--output", "\(dir)/a.npy"])
        XCTAssertEqual(r.0, 0, r.2)
        r = try runSparseTune(["forward", "--weights", task, "--input", x, "--output", "\(dir)/b.npy"])
        XCTAssertEqual(r.0, 0, r.2)
        let a = try XCTUnwrap(NPY.read(path: "\(dir)/a.npy").tensor), b = try XCTUnwrap(NPY.read(path: "\(dir)/b.npy").tensor)
        XCTAssertEqual(a.values, b.values)
        let untrained = try Fixture("families/dinov2/io.safetensors")["logits"]
        XCTAssertEqual(a.shape, [2, 3])
        XCTAssertNotEqual(a.values, untrained.values, "the task changed the model")
    }
}

/// Flag and file combinations on family checkpoints: each a clean one-line `error:` naming the flag, file or
/// tensor, exit status 1.
final class FamiliesCLIErrorTests: XCTestCase {
    /// A copy of family `name`'s model.safetensors with `config` (JSON text) as its config.json.
    func copy(_ name: String, config: String?) throws -> String {
        let dir = temporaryDirectory(self) + "/\(name)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixturePath("families/\(name)/model.safetensors"), toPath: dir + "/model.safetensors")
        if let config { try config.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8) }
        return dir + "/model.safetensors"
    }

    func testFlagAndFileCombinations() throws {
        let deit = fixturePath("families/deit_distilled/model.safetensors")
        let dino = fixturePath("families/dinov2/model.safetensors")
        let x16 = fixturePath("families/deit_distilled/x.npy"), out = temporaryDirectory(self) + "/y.npy"
        func forward(_ weights: [String], _ flags: [String] = [], x: String = x16) -> [String] {
            ["forward"] + weights.flatMap { ["--weights", $0] } + ["--input", x, "--output", out] + flags
        }
        try assertCLIError(forward([deit], ["--pool", "avg"]), mentions: "distilled")
        try assertCLIError(forward([deit], ["--act", "relu"]), mentions: "--act 'relu'")
        try assertCLIError(forward([deit], ["--patch", "8"]), mentions: "--patch 8 disagrees")
        try assertCLIError(forward([deit], ["--mlp", "96"]), mentions: "--mlp 96 disagrees")
        try assertCLIError(forward([deit], ["--arch", "vit-b16"]), mentions: "--arch vit-b16: dim 768 disagrees")
        try assertCLIError(forward([deit], ["--image-size", "18"]), mentions: "--image-size 18")
        try assertCLIError(forward([deit], ["--classes", "3"]), mentions: "--classes 5")
        try assertCLIError(forward([dino], ["--act", "quick_gelu"]), mentions: "--act quick_gelu disagrees")
        try assertCLIError(forward([try copy("dinov2", config: "{\"architecture\": ")]), mentions: "config.json")
        try assertCLIError(forward([try copy("dinov2", config: "{\"architecture\": \"vit_base_patch16_siglip_224\"}")]),
                           mentions: "vit_base_patch16_siglip_224")
        try assertCLIError(forward([try copy("dinov2", config: "{\"architecture\": \"vit_small_patch14_dinov2\", "
                                             + "\"model_args\": {\"embed_dim\": 24, \"depth\": 3, \"num_heads\": 3}}")]),
                           mentions: "states depth 3, but the tensors have 2")
        try assertCLIError(forward([try copy("dinov2", config: "{\"architecture\": \"vit_small_patch14_dinov2\", "
                                             + "\"model_args\": {\"embed_dim\": 24, \"depth\": 2, \"num_heads\": 3, "
                                             + "\"act_layer\": \"swiglu\"}}")]), mentions: "act_layer 'swiglu'")
        // A register-token task file over a backbone without registers.
        let regs = fixturePath("families/dinov2_registers/model.safetensors")
        try assertCLIError(forward([dino, regs], x: fixturePath("families/dinov2/x.npy")), mentions: "register tokens 0")
    }
}

/// `inspect` shows the architecture a timm checkpoint is read as, and what is assumed.
final class FamiliesInspectTests: XCTestCase {
    func testInspectShowsTheArchitecture() throws {
        var r = try runSparseTune(["inspect", fixturePath("families/dinov2_registers/model.safetensors")])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.1.contains("heads 2") && r.1.contains("2 register tokens") && r.1.contains("layer scale"), r.1)
        r = try runSparseTune(["inspect", fixturePath("families/clip_quickgelu_noconfig/model.safetensors"), "--json"])
        XCTAssertEqual(r.0, 0, r.2)
        let arch = try XCTUnwrap(try jsonTree(r.1)["timm_architecture"])
        XCTAssertEqual(arch["config"]?["preNorm"], .bool(true))
        XCTAssertTrue(arch["notes"]?[0]?.string?.contains("--heads") == true, r.1)
    }
}

/// Meta's original DINOv2 layout (register_tokens, mask_token, a class row in pos_embed) maps to timm's on load.
final class MetaDINOv2Tests: XCTestCase {
    func testMetaLayoutLoadsAsTimms() throws {
        let path = fixturePath("families/dinov2_registers_meta/model.safetensors")
        let checkpoint = try Checkpoint.load(path)
        XCTAssertNil(checkpoint.tensors["mask_token"])
        XCTAssertEqual(checkpoint.tensors["reg_token"]?.shape, [1, 2, 24])
        XCTAssertEqual(checkpoint.tensors["pos_embed"]?.shape, [1, 25, 24])
        let timm = try XCTUnwrap(try TimmConfigFile.beside(path))
        let arch = try ViTConfig.inferred(fromShapes: checkpoint.tensors.mapValues(\.shape),
                                          stated: (try timm.statedConfig(), timm.path), source: path)
        let model = try TunedViT(backbone: VisionTransformer(config: arch.config, seed: nil))
        try model.load(checkpoint.tensors)
        let io = try Fixture("families/dinov2_registers/io.safetensors")
        let ref = io["logits"].values
        assertClose(try model.forward(io["x"]).values, ref, atol: 1e-4 * ref.map(abs).max()!, rtol: 0, "Meta layout vs timm")
        let r = try runSparseTune(["inspect", path])
        XCTAssertTrue(r.1.contains("2 register tokens"), r.1)
    }
}
