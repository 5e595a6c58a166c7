// The `sparse-tune` executable end to end: forward against timm logits, and bad input → one `error:` line, exit 1.
import XCTest
import Foundation
@testable import SparseTuning

final class CLITests: XCTestCase {
    func run(_ args: [String]) throws -> (Int32, String, String) { try runSparseTune(args) }

    func assertError(_ args: [String], mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try assertCLIError(args, mentions: mentions, file: file, line: line)
    }

    func testForwardMatchesTimmFromBothFormats() throws {
        let dir = temporaryDirectory(self)
        let io = try Fixture("vit/io_tiny.safetensors")
        try NPY.write(io["x"], to: "\(dir)/x.npy")
        for weights in ["model_tiny.safetensors", "model_tiny.npz"] {
            let (code, _, err) = try run(["forward", "--weights", fixturePath("vit/\(weights)"), "--dim", "48", "--depth", "3",
                                          "--heads", "3", "--mlp", "96", "--patch", "8", "--input", "\(dir)/x.npy",
                                          "--output", "\(dir)/y.npy"])
            XCTAssertEqual(code, 0, err)
            let y = try XCTUnwrap(NPY.read(path: "\(dir)/y.npy").tensor)
            XCTAssertEqual(y.shape, [2, 10])
            assertClose(y.values, io["logits"].values, atol: 0, rtol: 1e-4, "CLI logits from \(weights)")
        }
    }

    func testBadInputsGiveOneErrorLine() throws {
        let dir = temporaryDirectory(self)
        let tiny = fixturePath("vit/model_tiny.safetensors")
        let dims = ["--dim", "48", "--depth", "3", "--heads", "3", "--mlp", "96", "--patch", "8"]
        try NPY.write(Tensor(zeros: [1, 3, 30, 30]), to: "\(dir)/odd.npy")
        try NPY.write(Tensor(zeros: [2, 5]), to: "\(dir)/flat.npy")
        try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: "\(dir)/junk.safetensors"))
        try assertError(["forward", "--weights", "\(dir)/missing.safetensors", "--arch", "vit-ti16", "--input", "x", "--output", "y"],
                        mentions: "missing.safetensors")
        try assertError(["forward", "--weights", "\(dir)/junk.safetensors", "--arch", "vit-ti16", "--input", "x", "--output", "y"],
                        mentions: "junk.safetensors")
        try assertError(["forward", "--weights", tiny, "--arch", "vit-b16", "--input", "\(dir)/odd.npy", "--output", "\(dir)/y.npy"],
                        mentions: "--arch vit-b16: dim 768 disagrees")
        try assertError(["forward", "--weights", tiny] + dims + ["--input", "\(dir)/odd.npy", "--output", "\(dir)/y.npy"],
                        mentions: "multiples of the patch size 8")
        try assertError(["forward", "--weights", tiny] + dims + ["--input", "\(dir)/flat.npy", "--output", "\(dir)/y.npy"],
                        mentions: "flat.npy")
        try assertError(["forward", "--weights", tiny] + dims + ["--input", "\(dir)/nothere.npy", "--output", "\(dir)/y.npy"],
                        mentions: "nothere.npy")
        try assertError(["forward", "--weights", tiny] + dims + ["--keep-rate", "1.5", "--input", "\(dir)/flat.npy", "--output", "y"],
                        mentions: "--keep-rate")
        try assertError(["flops", "--arch", "vit-q16"], mentions: "vit-q16")
        try assertError(["flops", "--dim", "50", "--depth", "2", "--heads", "3", "--patch", "8"], mentions: "--heads")
        try assertError(["flops", "--arch", "vit-b16", "--image-size", "100"], mentions: "--image-size")
        try assertError(["bench", "--arch", "vit-ti16", "--batch", "1,x"], mentions: "--batch")
        try assertError(["predict", "--weights", tiny] + dims + ["--image", "\(dir)/flat.npy"], mentions: "flat.npy")
        try assertError(["inspect", "\(dir)/junk.safetensors"], mentions: "junk.safetensors")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/y.npy"), "no output written on error")
    }

    func testInspectJSONKeepsItsKeys() throws {
        let (code, out, err) = try run(["inspect", fixturePath("hf/vit_cls"), "--json"])
        XCTAssertEqual(code, 0, err)
        let hf = try jsonTree(out)
        XCTAssertEqual(hf.keys, ["file", "format", "parameters", "metadata", "tensors", "huggingface_config"])
        XCTAssertEqual(hf["tensors"]?[0]?.keys, ["name", "dtype", "shape"])
        XCTAssertEqual(hf["huggingface_config"]?.keys, ["file", "architecture", "dim", "depth", "heads", "mlp", "patch",
                                                         "image_size", "eps", "qkv_bias", "class_names"])
        let (gcode, gout, gerr) = try run(["inspect", fixturePath("checkpoint/tiny_google.npz"), "--json"])
        XCTAssertEqual(gcode, 0, gerr)
        let google = try jsonTree(gout)
        XCTAssertEqual(google["google_layout"]?.keys, ["dim", "depth", "heads", "mlp", "patch", "tokens", "head_classes"])
        XCTAssertFalse(gout.contains(#"\/"#), "slashes are not escaped")
    }

    func testFlopsJSON() throws {
        let (code, out, _) = try run(["flops", "--arch", "vit-b16", "--json"])
        XCTAssertEqual(code, 0)
        let json = try jsonTree(out)
        XCTAssertEqual(json["flops"]?.int, 17_582_740_224)
        XCTAssertEqual(json["gflops"]?.double ?? 0, 17.582740224, accuracy: 1e-9)
        XCTAssertEqual(json.keys, ["gflops", "flops", "convention", "image_size", "frames", "sequences", "by_operator", "blocks"])
        XCTAssertEqual(json["frames"]?.int, 1)
        XCTAssertEqual(json["by_operator"]?.keys, ["linear", "matmul", "conv", "layer_norm"])
        XCTAssertEqual(json["blocks"]?.array?.count, 12)
        XCTAssertEqual(json["blocks"]?[0]?.keys, ["block", "tokens_in", "tokens_out", "gflops"])
    }
}
