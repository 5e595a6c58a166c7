// Hugging Face transformers ViT checkpoints (ViTForImageClassification, ViTModel; model.safetensors + config.json):
// mapped to timm names, architecture from config.json, outputs equal to transformers' own (docs/METHOD.md §7).
import XCTest
import Foundation
@testable import SparseTuning

final class CheckpointHFViTTests: XCTestCase {
    /// The shipping path: the checkpoint read, a plain TunedViT built from the architecture config.json names.
    func model(_ name: String) throws -> (TunedViT, LoadedCheckpoint) {
        let checkpoint = try Checkpoint.load(fixturePath("hf/\(name)/model.safetensors"))
        XCTAssertEqual(checkpoint.format, .huggingFaceViT)
        let hf = try XCTUnwrap(checkpoint.huggingFace)
        let classes = checkpoint.tensors["head.weight"]?.shape[0] ?? 0
        let model = try TunedViT(backbone: VisionTransformer(config: hf.vitConfig(classes: classes), seed: nil))
        try model.load(checkpoint.tensors)
        return (model, checkpoint)
    }

    func testClassifierLogitsMatchTransformers() throws {
        let io = try Fixture("hf/io.safetensors")
        let (vit, checkpoint) = try model("vit_cls")
        let hf = try XCTUnwrap(checkpoint.huggingFace)
        XCTAssertEqual(hf.architecture, "ViTForImageClassification")
        XCTAssertEqual([hf.dim, hf.depth, hf.heads, hf.mlpDim, hf.patchSize, hf.imageSize], [24, 2, 3, 48, 4, 16])
        XCTAssertEqual(hf.eps, 1e-12)
        XCTAssertEqual(vit.backbone.config.eps, 1e-12)
        XCTAssertEqual(hf.classNames, ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead"])
        let logits = try vit.forward(io["x"])
        XCTAssertEqual(logits.shape, [2, 5])
        assertClose(logits.values, io["cls.logits"].values, atol: 0, rtol: 1e-4, "logits vs transformers")
        print("HF ViTForImageClassification: max |logit diff| \(maxAbsDiff(logits.values, io["cls.logits"].values))")
    }

    func testViTModelFeaturesMatchTransformersAndPoolerIsIgnored() throws {
        let io = try Fixture("hf/io.safetensors")
        let (vit, checkpoint) = try model("vit_base")
        let hf = try XCTUnwrap(checkpoint.huggingFace)
        XCTAssertEqual(hf.architecture, "ViTModel")
        XCTAssertFalse(hf.qkvBias)
        XCTAssertNil(hf.classNames)
        XCTAssertNil(checkpoint.tensors["head.weight"])
        XCTAssertFalse(checkpoint.tensors.keys.contains { $0.contains("pooler") })
        let features = try vit.forward(io["x"])
        XCTAssertEqual(features.shape, [2, 24])
        assertClose(features.values, io["base.features"].values, atol: 0, rtol: 1e-4, "features vs transformers")
    }

    func testDirectoryResolvesToModelSafetensors() throws {
        let checkpoint = try Checkpoint.load(fixturePath("hf/vit_cls"))
        XCTAssertEqual(checkpoint.path, fixturePath("hf/vit_cls/model.safetensors"))
        XCTAssertEqual(checkpoint.format, .huggingFaceViT)
        XCTAssertEqual(try Checkpoint.inspect(fixturePath("hf/vit_cls")).format, .huggingFaceViT)
    }

    /// A copy of the vit_cls directory with config.json edited by `edit` (keys removed or replaced).
    func editedCopy(_ edit: (inout [String: JSONTree]) -> Void) throws -> String {
        let dir = temporaryDirectory(self)
        try FileManager.default.copyItem(atPath: fixturePath("hf/vit_cls/model.safetensors"), toPath: "\(dir)/model.safetensors")
        let data = try Data(contentsOf: URL(fileURLWithPath: fixturePath("hf/vit_cls/config.json")))
        var json = try JSONCoding.decode([String: JSONTree].self, from: data, source: "config.json")
        edit(&json)
        try JSONCoding.encode(json).write(to: URL(fileURLWithPath: "\(dir)/config.json"))
        return dir
    }

    func testConfigErrors() throws {
        func assertLoadError(_ dir: String, mentions: [String], line: UInt = #line) {
            XCTAssertThrowsError(try Checkpoint.load(dir), line: line) { error in
                let message = (error as? SparseTuningError)?.message ?? "\(error)"
                for m in mentions { XCTAssertTrue(message.contains(m), "'\(m)' not in: \(message)", line: line) }
            }
        }
        assertLoadError(try editedCopy { $0["hidden_size"] = nil }, mentions: ["config.json: at \"hidden_size\": missing"])
        assertLoadError(try editedCopy { $0["hidden_act"] = "gelu_new" }, mentions: ["config.json", "hidden_act", "gelu_new"])
        assertLoadError(try editedCopy { $0["intermediate_size"] = 64 },
                        mentions: ["model.safetensors", "intermediate.dense.weight", "intermediate_size 64", "[64, 24]"])
        assertLoadError(try editedCopy { $0["num_hidden_layers"] = 3 }, mentions: ["num_hidden_layers 3", "0, 1"])
        assertLoadError(try editedCopy { $0["image_size"] = 32 }, mentions: ["position_embeddings", "image_size 32"])
        let noConfig = temporaryDirectory(self)
        try FileManager.default.copyItem(atPath: fixturePath("hf/vit_cls/model.safetensors"), toPath: "\(noConfig)/model.safetensors")
        assertLoadError(noConfig, mentions: ["config.json", "no such file"])
        assertLoadError(temporaryDirectory(self), mentions: ["without model.safetensors"])
    }

    func testCLIForwardAndErrors() throws {
        let dir = temporaryDirectory(self)
        let io = try Fixture("hf/io.safetensors")
        try NPY.write(io["x"], to: "\(dir)/x.npy")
        for weights in [fixturePath("hf/vit_cls/model.safetensors"), fixturePath("hf/vit_cls")] {
            let (code, _, err) = try runSparseTune(["forward", "--weights", weights, "--input", "\(dir)/x.npy",
                                                    "--output", "\(dir)/y.npy"])
            XCTAssertEqual(code, 0, err)
            let y = try XCTUnwrap(NPY.read(path: "\(dir)/y.npy").tensor)
            XCTAssertEqual(y.shape, [2, 5])
            assertClose(y.values, io["cls.logits"].values, atol: 0, rtol: 1e-4, "CLI logits from \(weights)")
        }
        // Flags that agree are accepted; the ViTModel's pooler is named as ignored.
        let (code, _, err) = try runSparseTune(["forward", "--weights", fixturePath("hf/vit_base"), "--depth", "2", "--dim", "24",
                                                "--input", "\(dir)/x.npy", "--output", "\(dir)/f.npy"])
        XCTAssertEqual(code, 0, err)
        XCTAssertTrue(err.contains("pooler"), err)
        let f = try XCTUnwrap(NPY.read(path: "\(dir)/f.npy").tensor)
        assertClose(f.values, io["base.features"].values, atol: 0, rtol: 1e-4, "CLI features")

        // predict labels classes with config.json's id2label.
        let (pcode, out, perr) = try runSparseTune(["predict", "--weights", fixturePath("hf/vit_cls"), "--top", "5",
                                                    "--image", fixturePath("images/jpeg_baseline420.jpg")])
        XCTAssertEqual(pcode, 0, perr)
        for name in ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead"] {
            XCTAssertTrue(out.contains(name), "predict output should name \(name): \(out)")
        }

        let cls = fixturePath("hf/vit_cls/model.safetensors")
        let run = ["--input", "\(dir)/x.npy", "--output", "\(dir)/z.npy"]
        try assertCLIError(["forward", "--weights", cls, "--depth", "6"] + run, mentions: "--depth 6 disagrees")
        try assertCLIError(["forward", "--weights", cls, "--arch", "vit-b16"] + run, mentions: "hidden_size is 24")
        try assertCLIError(["forward", "--weights", try editedCopy { $0["num_attention_heads"] = nil }] + run,
                           mentions: "config.json: at \"num_attention_heads\": missing")
        try assertCLIError(["forward", "--weights", try editedCopy { $0["hidden_act"] = "relu" }] + run, mentions: "hidden_act")
        try assertCLIError(["forward", "--weights", try editedCopy { $0["hidden_size"] = 48; $0["intermediate_size"] = 96 }] + run,
                           mentions: "hidden_size 48")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/z.npy"))
    }
}
