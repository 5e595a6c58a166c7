// The one JSON stack: JSONCoding's formatting, its error shape (source, key path, problem), strict unknown-key
// rejection, round trips of the documents the library writes, and permissive reading of Hugging Face config.json.
import XCTest
import Foundation
@testable import SparseTuning

final class JSONCodingTests: XCTestCase {
    /// The message of the error `body` throws.
    func message(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { try body() } catch { return "\(error)" }
        XCTFail("expected an error", file: file, line: line)
        return ""
    }

    // MARK: Formatting

    func testEncoderSortsKeysKeepsSlashesAndIndentsOnlyWhenPretty() throws {
        struct Doc: Encodable { var zeta = 1, alpha = "a/b", mid = 0.1 }
        XCTAssertEqual(try JSONCoding.string(Doc()), #"{"alpha":"a/b","mid":0.1,"zeta":1}"#)
        XCTAssertEqual(try JSONCoding.string(Doc(), pretty: true), """
            {
              "alpha" : "a/b",
              "mid" : 0.1,
              "zeta" : 1
            }
            """)
    }

    // MARK: Error shape

    /// A small strict type, to test the helper apart from any file format.
    struct Strict: Decodable, Equatable {
        var a: Int
        var b: String?
        private enum CodingKeys: String, CodingKey, CaseIterable { case a, b }
        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            a = try c.decode(Int.self, forKey: .a)
            b = try c.decodeIfPresent(String.self, forKey: .b)
        }
    }

    struct Holder: Decodable, Equatable { var items: [Strict] }

    func testErrorsNameTheSourceAndTheKeyPath() {
        func decode(_ json: String) throws { _ = try JSONCoding.decode(Holder.self, from: json, source: "doc.json") }
        XCTAssertEqual(message { try decode(#"{"items": [{"a": 1}, {"a": "x"}]}"#) },
                       #"doc.json: at "items[1].a": expected an integer, found a string"#)
        XCTAssertEqual(message { try decode(#"{"items": [{"b": "y"}]}"#) }, #"doc.json: at "items[0].a": missing"#)
        XCTAssertEqual(message { try decode(#"{"items": [{"a": null}]}"#) },
                       #"doc.json: at "items[0].a": expected an integer, found null"#)
        XCTAssertEqual(message { try decode(#"{"items": {}}"#) }, #"doc.json: at "items": expected an array, found an object"#)
        XCTAssertEqual(message { try decode(#"[1]"#) }, "doc.json: expected an object, found an array")
        XCTAssertEqual(message { try decode(#"{"items": ["#) }, "doc.json: not valid JSON (or a number that does not fit its key)")
        XCTAssertNoThrow(try decode(#"{"items": [{"a": 1, "b": "y"}]}"#))
    }

    func testUnknownKeysAreRejectedNamingTheKeyAndTheAllowedOnes() {
        XCTAssertEqual(message { _ = try JSONCoding.decode(Holder.self, from: #"{"items": [{"a": 1, "c": 2, "bb": 3}]}"#, source: "doc.json") },
                       #"doc.json: at "items[0].bb": unknown key (allowed: a, b)"#)
        // Holder itself is not strict: its unknown keys are ignored.
        XCTAssertEqual(try JSONCoding.decode(Holder.self, from: #"{"items": [], "other": 1}"#, source: "doc.json"), Holder(items: []))
    }

    func testVTABTaskFilesAreStrictAtEveryLevel() {
        let head = #""name": "dtd", "classes": 47, "group": "Natural", "vpt_prompts": 10"#
        func parse(_ rest: String) throws { _ = try VTABTaskConfig.parse("{\(head)\(rest)}", file: "dtd.json") }
        XCTAssertNoThrow(try parse(#", "recipe": {"optimizer": "adamw", "lr": 0.1}, "methods": {"full": {"lr": 0.01}}"#))
        XCTAssertEqual(message { try parse(#", "colour": 1"#) },
                       #"dtd.json: at "colour": unknown key (allowed: name, classes, group, aliases, methods, recipe, vpt_prompts)"#)
        XCTAssertEqual(message { try parse(#", "recipe": {"lrr": 1}"#) },
                       #"dtd.json: at "recipe.lrr": unknown key (allowed: "# + RecipeOverrides.jsonKeys.joined(separator: ", ")
                        + ", optimizer)")
        XCTAssertEqual(message { try parse(#", "methods": {"full": {"optimizer": "adamw"}}"#) },
                       #"dtd.json: at "methods.full.optimizer": unknown key (allowed: "# + RecipeOverrides.jsonKeys.joined(separator: ", ") + ")")
        XCTAssertEqual(message { try parse(#", "recipe": {"ts_layers": [1, "x"]}"#) },
                       #"dtd.json: at "recipe.ts_layers[1]": expected an integer, found a string"#)
        XCTAssertEqual(message { try parse(#", "recipe": {"epochs": 1.5}"#) },
                       #"dtd.json: at "recipe.epochs": expected a whole number, found 1.5"#)
        XCTAssertEqual(message { try parse(#", "recipe": {"keep_rate": 0}"#) },
                       #"dtd.json: at "recipe.keep_rate": is 0.0, expected a number in (0, 1]"#)
    }

    // MARK: Hugging Face config.json

    func testHuggingFaceConfigIgnoresKeysItDoesNotReadAndTypeChecksTheOnesItDoes() throws {
        let base = #""hidden_size": 24, "num_hidden_layers": 2, "num_attention_heads": 3, "intermediate_size": 48, "patch_size": 4, "image_size": [16, 16]"#
        let extra = #""torch_dtype": "float32", "transformers_version": "4.40.0", "label2id": {"a": 0}, "architectures": 7, "attention_probs_dropout_prob": 0.0, "encoder_stride": 16"#
        let config = try HuggingFaceViTConfig.parse(Data("{\(base), \(extra)}".utf8), file: "config.json")
        XCTAssertEqual(config.dim, 24)
        XCTAssertEqual(config.imageSize, 16)
        XCTAssertNil(config.architecture)
        XCTAssertEqual(message { _ = try HuggingFaceViTConfig.parse(Data(#"{"hidden_size": "x"}"#.utf8), file: "config.json") },
                       #"config.json: at "hidden_size": expected an integer, found a string"#)
        XCTAssertEqual(message { _ = try HuggingFaceViTConfig.parse(Data("{\(base), \"qkv_bias\": 1}".utf8), file: "config.json") },
                       #"config.json: at "qkv_bias": expected true or false, found a number"#)
        XCTAssertEqual(message { _ = try HuggingFaceViTConfig.parse(Data("{\(base), \"id2label\": {\"0\": 1}}".utf8), file: "config.json") },
                       #"config.json: at "id2label.0": expected a string, found a number"#)
    }

    // MARK: Round trips

    func testDocumentsTheLibraryWritesReadBackEqual() throws {
        let record = MetricsRecord(epoch: 2, step: 40, loss: 0.5, lr: 1e-3, valAccuracy: 0.75, extra: ["grad_norm": 2],
                                   tags: ["phase": "val"])
        XCTAssertEqual(try JSONCoding.decode(MetricsRecord.self, from: try record.jsonLine(), source: "line"), record)

        for progress in [ResumeProgress(), ResumeProgress(epoch: 3, batchInEpoch: 2, step: 50, bestMetric: 0.25, bestEpoch: 1)] {
            let text = try JSONCoding.string(ResumeProgressRecord(format: 1, progress: progress))
            XCTAssertEqual(try JSONCoding.decode(ResumeProgressRecord.self, from: text, source: "progress").progress, progress)
        }
        // The resume progress keeps its on-disk form: every key, null when unknown.
        XCTAssertEqual(try JSONCoding.string(ResumeProgressRecord(format: 1, progress: ResumeProgress())),
                       #"{"batch_in_epoch":0,"best_epoch":null,"best_metric":null,"epoch":0,"format":1,"step":0}"#)

        let task = TaskConfig(vit: ViTConfig(dim: 8, depth: 2, heads: 2, mlpDim: 16, patch: 4, imageSize: 16, classes: 3),
                              tuning: TuningConfig.defaults(for: .sparseTuning), classNames: ["a", "b/c", "d"])
        let again = try TaskConfig.decode(task.encoded(), file: "task.safetensors")
        XCTAssertEqual(again.encoded(), task.encoded())
        XCTAssertEqual(again.classNames, ["a", "b/c", "d"])

        let tree = #"{"a":[1,2.5,"x",true,null],"b":{"c":{}}}"#
        XCTAssertEqual(try JSONCoding.string(try JSONCoding.decode(JSONTree.self, from: tree, source: "tree")), tree)
    }

    func testConfigurationsCompareAsJSONValues() throws {
        let a = JSONTree.object(try TrainingCheckpoint.parseConfig(#"{"x": 1, "y": {"z": [1, 2]}, "w": "s"}"#, path: "p", what: "a"))
        let b = JSONTree.object(try TrainingCheckpoint.parseConfig(#"{"w":"s","y":{"z":[1,3]},"x":1,"v":0}"#, path: "p", what: "b"))
        XCTAssertEqual(a.differences(from: a), [])
        XCTAssertEqual(a.differences(from: b), ["v", "y.z"])
        XCTAssertEqual(a.differences(from: b, ignoring: ["y"]), ["v"])
    }
}
