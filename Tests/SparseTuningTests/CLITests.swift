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
                        mentions: "cls_token")
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

    func testFlopsJSON() throws {
        let (code, out, _) = try run(["flops", "--arch", "vit-b16", "--json"])
        XCTAssertEqual(code, 0)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        XCTAssertEqual(json["flops"] as? Int, 17_582_740_224)
        XCTAssertEqual(json["gflops"] as? Double ?? 0, 17.582740224, accuracy: 1e-9)
    }
}
