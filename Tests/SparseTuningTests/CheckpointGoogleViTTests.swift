// Google ViT .npz → timm mapping: the tiny fixture (built in Python with the inverse mapping and checked with
// timm's own loader) must equal the timm-named safetensors fixture; index-level checks of each transform;
// missing, unknown and wrongly shaped arrays are named in errors.
import XCTest
import Foundation
@testable import SparseTuning

final class CheckpointGoogleViTTests: XCTestCase {
    private let expectedLayout = GoogleViTLayout(dim: 8, depth: 2, heads: 2, mlpDim: 16, patchSize: 4, tokens: 5,
                                                 headClasses: 3)

    /// The fixture's Google arrays as fp32 tensors.
    private func googleArrays(_ fixture: String = "tiny_google.npz") throws -> [String: Tensor] {
        try NPZ.read(path: fixturePath("checkpoint/" + fixture)).mapValues { $0.tensor! }
    }

    func testStoredAndCompressedNPZMapToTheTimmFixtureTensorByTensor() throws {
        let timm = try SafetensorsFile.open(fixturePath("checkpoint/tiny_timm.safetensors")).loadAll()
        XCTAssertEqual(timm.count, 8 + 2 * 12)
        for fixture in ["tiny_google.npz", "tiny_google_compressed.npz"] {
            let mapped = try GoogleViT.timmStateDict(try googleArrays(fixture), file: fixture)
            XCTAssertEqual(Set(mapped.keys), Set(timm.keys), fixture)
            for (name, want) in timm {
                let got = try XCTUnwrap(mapped[name], "\(fixture): \(name)")
                XCTAssertEqual(got.shape, want.shape, "\(fixture): \(name)")
                XCTAssertEqual(got.values, want.values, "\(fixture): \(name)")
            }
        }
    }

    func testLayoutIsReadFromShapes() throws {
        let shapes = try googleArrays().mapValues(\.shape)
        XCTAssertEqual(try GoogleViT.layout(of: shapes, file: "vit.npz"), expectedLayout)
        var headless = shapes
        headless["head/kernel"] = nil
        headless["head/bias"] = nil
        XCTAssertNil(try GoogleViT.layout(of: headless, file: "vit.npz").headClasses)
    }

    /// The array shapes of Google's `ViT-L_16.npz` and `ViT-H_14.npz` (written out from the layout of
    /// docs/METHOD.md §7, as the released files have them) give those architectures: heads from the attention kernels.
    func testLargeAndHugeLayouts() throws {
        func shapes(c: Int, depth: Int, heads: Int, mlp: Int, patch: Int, grid: Int, classes: Int?) -> [String: [Int]] {
            let d = c / heads
            var s: [String: [Int]] = ["embedding/kernel": [patch, patch, 3, c], "embedding/bias": [c], "cls": [1, 1, c],
                                      "Transformer/posembed_input/pos_embedding": [1, 1 + grid * grid, c],
                                      "Transformer/encoder_norm/scale": [c], "Transformer/encoder_norm/bias": [c]]
            for l in 0..<depth {
                let g = "Transformer/encoderblock_\(l)/", a = g + "MultiHeadDotProductAttention_1/"
                for n in ["LayerNorm_0", "LayerNorm_2"] { s[g + n + "/scale"] = [c]; s[g + n + "/bias"] = [c] }
                for n in ["query", "key", "value"] { s[a + n + "/kernel"] = [c, heads, d]; s[a + n + "/bias"] = [heads, d] }
                s[a + "out/kernel"] = [heads, d, c]; s[a + "out/bias"] = [c]
                s[g + "MlpBlock_3/Dense_0/kernel"] = [c, mlp]; s[g + "MlpBlock_3/Dense_0/bias"] = [mlp]
                s[g + "MlpBlock_3/Dense_1/kernel"] = [mlp, c]; s[g + "MlpBlock_3/Dense_1/bias"] = [c]
            }
            if let classes { s["head/kernel"] = [c, classes]; s["head/bias"] = [classes] }
            s["pre_logits/kernel"] = [c, c]; s["pre_logits/bias"] = [c]
            return s
        }
        let large = try GoogleViT.layout(of: shapes(c: 1024, depth: 24, heads: 16, mlp: 4096, patch: 16, grid: 14, classes: 21843),
                                         file: "ViT-L_16.npz")
        XCTAssertEqual([large.dim, large.depth, large.heads, large.mlpDim, large.patchSize, large.tokens], [1024, 24, 16, 4096, 16, 197])
        XCTAssertEqual(large.headClasses, 21843)
        let huge = try GoogleViT.layout(of: shapes(c: 1280, depth: 32, heads: 16, mlp: 5120, patch: 14, grid: 16, classes: nil),
                                        file: "ViT-H_14.npz")
        XCTAssertEqual([huge.dim, huge.depth, huge.heads, huge.mlpDim, huge.patchSize, huge.tokens], [1280, 32, 16, 5120, 14, 257])
        XCTAssertNil(huge.headClasses)
        XCTAssertEqual(ViTConfig(dim: huge.dim, depth: huge.depth, heads: huge.heads, mlpDim: huge.mlpDim, patch: huge.patchSize),
                       ViTConfig.preset("vit-h14"))
    }

    /// Each transform checked element by element against docs/METHOD.md §7, independently of the Python fixture.
    func testTransformsFollowTheSpecIndexByIndex() throws {
        let g = try googleArrays()
        let t = try GoogleViT.timmStateDict(g, file: "vit.npz")
        let (c, heads, d, p, m) = (8, 2, 4, 4, 16)
        let kernel = g["embedding/kernel"]!, patch = t["patch_embed.proj.weight"]!
        for (y, x, i, o) in [(0, 0, 0, 0), (1, 3, 2, 5), (3, 2, 1, 7)] {
            XCTAssertEqual(patch[((o * 3 + i) * p + y) * p + x], kernel[((y * p + x) * 3 + i) * c + o])
        }
        let block = "Transformer/encoderblock_1/MultiHeadDotProductAttention_1/"
        let qkv = t["blocks.1.attn.qkv.weight"]!, qkvBias = t["blocks.1.attn.qkv.bias"]!
        for (part, name) in ["query", "key", "value"].enumerated() {
            let w = g[block + name + "/kernel"]!, b = g[block + name + "/bias"]!
            for (input, h, e) in [(0, 0, 0), (5, 1, 2), (7, 1, 3)] {
                let output = h * d + e
                XCTAssertEqual(qkv[(part * c + output) * c + input], w[(input * heads + h) * d + e], name)
                XCTAssertEqual(qkvBias[part * c + output], b[h * d + e], name)
            }
        }
        let out = g[block + "out/kernel"]!, proj = t["blocks.1.attn.proj.weight"]!
        for (h, e, o) in [(0, 0, 0), (1, 2, 6), (0, 3, 7)] {
            XCTAssertEqual(proj[o * c + h * d + e], out[(h * d + e) * c + o])
        }
        let dense0 = g["Transformer/encoderblock_0/MlpBlock_3/Dense_0/kernel"]!, fc1 = t["blocks.0.mlp.fc1.weight"]!
        let dense1 = g["Transformer/encoderblock_0/MlpBlock_3/Dense_1/kernel"]!, fc2 = t["blocks.0.mlp.fc2.weight"]!
        for (i, j) in [(0, 0), (3, 11), (7, 15)] {
            XCTAssertEqual(fc1[j * c + i], dense0[i * m + j])
            XCTAssertEqual(fc2[i * m + j], dense1[j * c + i])
        }
        XCTAssertEqual(t["norm.weight"]!.values, g["Transformer/encoder_norm/scale"]!.values)
        XCTAssertEqual(t["blocks.0.norm2.bias"]!.values, g["Transformer/encoderblock_0/LayerNorm_2/bias"]!.values)
        XCTAssertEqual(t["head.weight"]![2 * c + 5], g["head/kernel"]![5 * 3 + 2])
        XCTAssertEqual(t["pos_embed"]!.shape, [1, 5, 8])
        XCTAssertEqual(t["cls_token"]!.values, g["cls"]!.values)
    }

    func testHeadAndPreLogitsAreOptional() throws {
        var g = try googleArrays()
        g["pre_logits/kernel"] = nil
        g["pre_logits/bias"] = nil
        g["head/kernel"] = nil
        g["head/bias"] = nil
        let t = try GoogleViT.timmStateDict(g, file: "vit.npz")
        XCTAssertNil(t["head.weight"])
        XCTAssertNil(t["head.bias"])
        XCTAssertEqual(t.count, 6 + 2 * 12)
    }

    func testMissingUnknownAndMisshapenArraysAreNamed() throws {
        let base = try googleArrays()
        func check(_ fragments: [String], line: UInt = #line, _ edit: (inout [String: Tensor]) -> Void) {
            var arrays = base
            edit(&arrays)
            assertCheckpointError(["vit.npz"] + fragments, line: line) {
                _ = try GoogleViT.timmStateDict(arrays, file: "vit.npz")
            }
        }
        check(["missing arrays 'Transformer/encoderblock_1/LayerNorm_2/bias'", "dim 8, depth 2"]) {
            $0["Transformer/encoderblock_1/LayerNorm_2/bias"] = nil
        }
        check(["unknown arrays 'Transformer/encoderblock_0/MlpBlock_2/Dense_0/bias', 'foo/bar'"]) {
            $0["foo/bar"] = Tensor(zeros: [1])
            $0["Transformer/encoderblock_0/MlpBlock_2/Dense_0/bias"] = Tensor(zeros: [16])
        }
        check(["missing arrays 'head/bias'", "unknown arrays 'extra'"]) {
            $0["head/bias"] = nil
            $0["extra"] = Tensor(zeros: [1])
        }
        check(["array 'Transformer/encoderblock_1/MlpBlock_3/Dense_1/bias': expected shape [8], got [9]"]) {
            $0["Transformer/encoderblock_1/MlpBlock_3/Dense_1/bias"] = Tensor(zeros: [9])
        }
        check(["array 'head/bias': expected shape [3], got [4]"]) { $0["head/bias"] = Tensor(zeros: [4]) }
        check(["array 'embedding/kernel': expected shape (p, p, 3, C), got [4, 4, 1, 8]"]) {
            $0["embedding/kernel"] = Tensor(zeros: [4, 4, 1, 8])
        }
        check(["missing array 'embedding/kernel'"]) { $0["embedding/kernel"] = nil }
        check(["missing array 'Transformer/posembed_input/pos_embedding'"]) {
            $0["Transformer/posembed_input/pos_embedding"] = nil
        }
        check(["array 'Transformer/encoderblock_0/MultiHeadDotProductAttention_1/query/kernel'",
               "expected shape (8, heads, 8 / heads), got [8, 3, 3]"]) {
            $0["Transformer/encoderblock_0/MultiHeadDotProductAttention_1/query/kernel"] = Tensor(zeros: [8, 3, 3])
        }
        check(["missing arrays of 'Transformer/encoderblock_0'", "blocks up to 1"]) { arrays in
            for name in arrays.keys where name.hasPrefix("Transformer/encoderblock_0/") { arrays[name] = nil }
        }
        check(["missing arrays of 'Transformer/encoderblock_2'", "blocks up to 3"]) {
            $0["Transformer/encoderblock_3/LayerNorm_0/scale"] = Tensor(zeros: [8])
        }
        check(["missing arrays 'Transformer/encoderblock_2/"]) {
            $0["Transformer/encoderblock_2/LayerNorm_0/scale"] = Tensor(zeros: [8])
        }
    }

    /// A Google .npz states its architecture: flags that disagree are refused (they used to be ignored without
    /// --dim), flags that agree are accepted.
    func testCLIFlagsMustAgreeWithTheNPZ() throws {
        let dir = temporaryDirectory(self)
        let io = try Fixture("vit/io_tiny.safetensors")
        try NPY.write(io["x"], to: "\(dir)/x.npy")
        let npz = fixturePath("vit/model_tiny.npz")
        let run = ["--input", "\(dir)/x.npy", "--output", "\(dir)/y.npy"]
        try assertCLIError(["forward", "--weights", npz, "--depth", "6"] + run, mentions: "--depth 6 disagrees with")
        try assertCLIError(["forward", "--weights", npz, "--heads", "4"] + run, mentions: "the attention heads is 3")
        try assertCLIError(["forward", "--weights", npz, "--arch", "vit-b16"] + run, mentions: "the embedding width is 48")
        let (code, _, err) = try runSparseTune(["forward", "--weights", npz, "--depth", "3", "--heads", "3"] + run)
        XCTAssertEqual(code, 0, err)
        let y = try XCTUnwrap(NPY.read(path: "\(dir)/y.npy").tensor)
        assertClose(y.values, io["logits"].values, atol: 0, rtol: 1e-4, "logits with agreeing flags")
    }
}
