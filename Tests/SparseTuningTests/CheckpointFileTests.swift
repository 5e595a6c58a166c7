// Checkpoint loading across formats: format detection, load, layering of several files, and inspect listings.
import XCTest
import Foundation
@testable import SparseTuning

final class CheckpointFileTests: XCTestCase {
    private let timmPath = fixturePath("checkpoint/tiny_timm.safetensors")
    private let npzPath = fixturePath("checkpoint/tiny_google_compressed.npz")

    func testFormatIsDetectedFromTheFirstBytes() throws {
        let dir = temporaryDirectory(self)
        XCTAssertEqual(try Checkpoint.format(of: timmPath), .safetensors)
        XCTAssertEqual(try Checkpoint.format(of: npzPath), .googleNPZ)
        // A zip under another extension is still a .npz; a safetensors file under .bin is still safetensors.
        let zipped = dir + "/weights.bin"
        try FileManager.default.copyItem(atPath: npzPath, toPath: zipped)
        XCTAssertEqual(try Checkpoint.format(of: zipped), .googleNPZ)
        XCTAssertEqual(try Checkpoint.load(zipped).format, .googleNPZ)

        let fake = writeFile(craftSafetensors("{}"), named: "fake.npz", in: dir)
        assertCheckpointError(["fake.npz", "not a zip archive"]) { _ = try Checkpoint.load(fake) }
        let npy = fixturePath("checkpoint/npy/f4_v1.npy")
        assertCheckpointError(["f4_v1.npy", "single .npy array, not a checkpoint"]) { _ = try Checkpoint.load(npy) }
        let junk = writeFile(Array("definitely not a checkpoint".utf8), named: "junk.bin", in: dir)
        assertCheckpointError(["junk.bin", "header length", "exceeds the limit"]) { _ = try Checkpoint.load(junk) }
        assertCheckpointError([dir + "/absent.safetensors", "no such file"]) { _ = try Checkpoint.load(dir + "/absent.safetensors") }
        assertCheckpointError([dir, "is a directory"]) { _ = try Checkpoint.load(dir) }
        assertCheckpointError([dir, "is a directory"]) { _ = try Checkpoint.inspect(dir) }
    }

    func testLoadGivesTimmNamesForBothFormats() throws {
        let timm = try Checkpoint.load(timmPath)
        XCTAssertEqual(timm.format, .safetensors)
        XCTAssertEqual(timm.path, timmPath)
        XCTAssertEqual(timm.metadata, [:])
        let google = try Checkpoint.load(npzPath)
        XCTAssertEqual(google.format, .googleNPZ)
        XCTAssertEqual(Set(google.tensors.keys), Set(timm.tensors.keys))
        for (name, tensor) in timm.tensors {
            XCTAssertEqual(google.tensors[name]?.values, tensor.values, name)
        }
        let halfs = try Checkpoint.load(fixturePath("checkpoint/halfs.safetensors"))
        XCTAssertEqual(halfs.metadata["sparse_tuning.config"], "{\"method\": \"dense\", \"note\": \"quote \\\" and ünicode\"}")
        XCTAssertEqual(halfs.tensors["f32_matrix"]?.values, [-1, -0.5, 0, 0.5, 1, 1.5])
    }

    func testNPZWithIntegerArrayIsRejected() throws {
        let dir = temporaryDirectory(self)
        let ids = craftNPY("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", data: [1, 0, 0, 0, 0, 0, 0, 0])
        let path = writeFile(craftZip([ZipMember(name: "cls.npy", payload: ids)]), named: "ints.npz", in: dir)
        assertCheckpointError(["ints.npz", "array 'cls' holds integers ('<i8')"]) { _ = try Checkpoint.load(path) }
    }

    func testLayeredFilesOverrideInOrder() throws {
        let dir = temporaryDirectory(self)
        let task = dir + "/task.safetensors"
        let head = Tensor(shape: [3, 8], values: (0..<24).map(Float.init))
        let adapter = Tensor(shape: [2], values: [0.5, -0.5])
        try Safetensors.write([("head.weight", head), ("adapters.0.down.weight", adapter)],
                              metadata: ["sparse_tuning.config": "{\"classes\": 3}"], to: task)

        let layered = try Checkpoint.loadLayered([npzPath, task])
        XCTAssertEqual(layered.tensors.count, 32 + 1)
        XCTAssertEqual(layered.tensors["head.weight"]?.values, head.values)
        XCTAssertEqual(layered.sources["head.weight"], task)
        XCTAssertEqual(layered.sources["adapters.0.down.weight"], task)
        XCTAssertEqual(layered.sources["blocks.1.attn.qkv.weight"], npzPath)
        XCTAssertEqual(layered.metadata, ["sparse_tuning.config": "{\"classes\": 3}"])

        XCTAssertEqual(layered.taskFile, task)

        // Layering rule 3: a backbone after the task file may not replace the task's head (no silent swap).
        assertCheckpointError([timmPath, "would replace tensor 'head.weight'", task]) {
            _ = try Checkpoint.loadLayered([task, timmPath])
        }
        // Rule 2: the last task file is the task; an earlier one serves as a backbone and may be replaced.
        let other = dir + "/other.safetensors"
        let head2 = Tensor(shape: [3, 8], values: (0..<24).map { -Float($0) })
        try Safetensors.write([("head.weight", head2)], metadata: ["sparse_tuning.config": "{\"classes\": 5}"], to: other)
        let two = try Checkpoint.loadLayered([npzPath, task, other])
        XCTAssertEqual(two.taskFile, other)
        XCTAssertEqual(two.tensors["head.weight"]?.values, head2.values)
        XCTAssertEqual(two.sources["adapters.0.down.weight"], task)
        XCTAssertEqual(two.metadata["sparse_tuning.config"], "{\"classes\": 5}")
        // … and rule 3 holds for every task file: a backbone may not replace the earlier task's adapter either.
        assertCheckpointError([timmPath, "'head.weight'", other]) { _ = try Checkpoint.loadLayered([task, other, timmPath]) }
        // A backbone file after another backbone file replaces its tensors (rule 1).
        let twice = try Checkpoint.loadLayered([npzPath, timmPath])
        XCTAssertEqual(twice.sources["head.weight"], timmPath)
        XCTAssertNil(twice.taskFile)

        assertCheckpointError([dir + "/nope.safetensors", "no such file"]) {
            _ = try Checkpoint.loadLayered([task, dir + "/nope.safetensors"])
        }
    }

    func testInspectListsStoredTensorsFromHeaders() throws {
        let halfs = try Checkpoint.inspect(fixturePath("checkpoint/halfs.safetensors"))
        XCTAssertEqual(halfs.format, .safetensors)
        XCTAssertEqual(halfs.rows.map(\.name), ["bf16_expected", "empty", "f16_expected", "f32_matrix", "scalar", "bf16", "f16"])
        XCTAssertEqual(halfs.rows.last, CheckpointInspection.Row(name: "f16", dtype: "F16", shape: [2, 7], elementCount: 14))
        XCTAssertEqual(halfs.rows[5].dtype, "BF16")
        XCTAssertEqual(halfs.totalParameters, 13 + 0 + 14 + 6 + 1 + 13 + 14)
        XCTAssertEqual(halfs.metadata.keys.sorted(), ["sparse_tuning.config"])
        XCTAssertNil(halfs.googleLayout)
        XCTAssertNil(halfs.mappingProblem)

        let timm = try Checkpoint.inspect(timmPath)
        for fixture in ["tiny_google.npz", "tiny_google_compressed.npz"] {
            let google = try Checkpoint.inspect(fixturePath("checkpoint/" + fixture))
            XCTAssertEqual(google.format, .googleNPZ)
            XCTAssertEqual(google.rows.count, 42)
            XCTAssertEqual(google.rows.first, CheckpointInspection.Row(name: "embedding/kernel", dtype: "<f4",
                                                                       shape: [4, 4, 3, 8], elementCount: 384))
            XCTAssertEqual(google.googleLayout, GoogleViTLayout(dim: 8, depth: 2, heads: 2, mlpDim: 16, patchSize: 4,
                                                                tokens: 5, headClasses: 3))
            XCTAssertNil(google.mappingProblem)
            // Same parameters as the timm file, plus pre_logits (8×8 + 8).
            XCTAssertEqual(google.totalParameters, timm.totalParameters + 72)
        }
    }

    func testInspectSaysWhenAnNPZDoesNotMapToTimm() throws {
        let dir = temporaryDirectory(self)
        let array = craftNPY("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data: Array(repeating: 0, count: 16))
        let path = writeFile(craftZip([ZipMember(name: "features.npy", payload: array)]), named: "other.npz", in: dir)
        let inspection = try Checkpoint.inspect(path)
        XCTAssertEqual(inspection.rows, [CheckpointInspection.Row(name: "features", dtype: "<f8", shape: [2], elementCount: 2)])
        XCTAssertNil(inspection.googleLayout)
        XCTAssertEqual(inspection.mappingProblem, "\(path): missing array 'embedding/kernel' (not a Google ViT checkpoint?)")
    }
}
