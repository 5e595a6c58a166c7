// Safetensors reader and writer: round trips, files written by the Python `safetensors` package (F16/BF16),
// and one malformed file per validation rule, each error checked for the file, tensor and rule it names.
import XCTest
import Foundation
@testable import SparseTuning

final class CheckpointSafetensorsTests: XCTestCase {
    // MARK: Round trips and fixtures

    func testWriteThenReadRoundTripsValuesShapesAndMetadata() throws {
        let dir = temporaryDirectory(self)
        let path = dir + "/model.safetensors"
        let matrix = Tensor(shape: [2, 3], values: [1, -2, 3.5, .infinity, -0.0, 1e-42])
        let cube = Tensor(shape: [2, 2, 2], values: (0..<8).map { Float($0) * 0.25 })
        let scalar = Tensor(shape: [], values: [7])
        let empty = Tensor(zeros: [0, 5])
        let metadata = ["sparse_tuning.config": "{\"depth\": 12, \"note\": \"tab\\there \u{1}\"}", "ünï": "çødé\n"]
        try Safetensors.write([("z.matrix", matrix), ("a.cube", cube), ("scalar", scalar), ("empty", empty)],
                              metadata: metadata, to: path)

        let file = try SafetensorsFile.open(path)
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(file.names, ["a.cube", "empty", "scalar", "z.matrix"])
        XCTAssertEqual(file.entry("z.matrix"), SafetensorsEntry(name: "z.matrix", dtype: .f32, shape: [2, 3],
                                                                elementCount: 6, dataRange: 36..<60))
        let all = try file.loadAll()
        XCTAssertEqual(Set(all.keys), ["a.cube", "empty", "scalar", "z.matrix"])
        for (name, original) in [("z.matrix", matrix), ("a.cube", cube), ("scalar", scalar), ("empty", empty)] {
            let read = try XCTUnwrap(all[name])
            XCTAssertEqual(read.shape, original.shape, name)
            XCTAssertEqual(read.values.map(\.bitPattern), original.values.map(\.bitPattern), name)
        }
        XCTAssertNil(file.entry("missing"))

        // Header: sorted keys, space padding so the data starts 8-byte aligned.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        XCTAssertEqual(headerLength % 8, 0)
        let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{\"__metadata__\":{"), header)
        let keys = ["\"__metadata__\"", "\"a.cube\"", "\"empty\"", "\"scalar\"", "\"z.matrix\""]
        let positions = keys.map { header.range(of: $0)!.lowerBound }
        XCTAssertEqual(positions, positions.sorted())
        XCTAssertTrue(header.contains("\"z.matrix\":{\"data_offsets\":[36,60],\"dtype\":\"F32\",\"shape\":[2,3]}"), header)
        XCTAssertEqual(bytes.count, 8 + headerLength + 4 * (6 + 8 + 1 + 0))
    }

    func testWriterLeavesNoTemporaryFileAndReplacesAnExistingFile() throws {
        let dir = temporaryDirectory(self)
        let path = dir + "/out.safetensors"
        try Safetensors.write([("a", Tensor(shape: [1], values: [1]))], to: path)
        try Safetensors.write([("b", Tensor(shape: [2], values: [2, 3]))], to: path)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["out.safetensors"])
        let file = try SafetensorsFile.open(path)
        XCTAssertEqual(file.names, ["b"])
        XCTAssertEqual(file.metadata, [:])
        XCTAssertEqual(try file.tensor("b").values, [2, 3])
    }

    func testWriterFailuresNameThePathAndLeaveNothingBehind() throws {
        let dir = temporaryDirectory(self)
        let blocked = dir + "/is-a-directory.safetensors"
        try FileManager.default.createDirectory(atPath: blocked + "/inside", withIntermediateDirectories: true)
        let one = [(name: "a", tensor: Tensor(shape: [1], values: [1]))]
        assertCheckpointError(["is-a-directory.safetensors", "cannot replace the file"]) {
            try Safetensors.write(one, to: blocked)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["is-a-directory.safetensors"])
        assertCheckpointError(["no-such-dir/x.safetensors", "cannot create a temporary file"]) {
            try Safetensors.write(one, to: dir + "/no-such-dir/x.safetensors")
        }
        assertCheckpointError(["dup.safetensors", "'a' appears more than once"]) {
            try Safetensors.write(one + one, to: dir + "/dup.safetensors")
        }
        assertCheckpointError(["meta.safetensors", "'__metadata__' is reserved"]) {
            try Safetensors.write([("__metadata__", Tensor(shape: [1], values: [1]))], to: dir + "/meta.safetensors")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["is-a-directory.safetensors"])
    }

    /// `halfs.safetensors` was written by the Python `safetensors` package; each F16/BF16 tensor sits next to
    /// its fp32 value as numpy (F16) and torch (BF16) convert it.
    func testPythonWrittenHalfAndBFloat16MatchNumpyAndTorch() throws {
        let file = try SafetensorsFile.open(fixturePath("checkpoint/halfs.safetensors"))
        XCTAssertEqual(file.names, ["bf16_expected", "empty", "f16_expected", "f32_matrix", "scalar", "bf16", "f16"])
        XCTAssertEqual(file.metadata, ["sparse_tuning.config": "{\"method\": \"dense\", \"note\": \"quote \\\" and ünicode\"}"])
        XCTAssertEqual(file.entry("f16")?.dtype, .f16)
        XCTAssertEqual(file.entry("bf16")?.dtype, .bf16)
        for (half, expected) in [("f16", "f16_expected"), ("bf16", "bf16_expected")] {
            let got = try file.tensor(half)
            let want = try file.tensor(expected)
            XCTAssertEqual(got.shape, want.shape, half)
            XCTAssertGreaterThan(got.count, 10, half)
            for i in 0..<got.count {
                if want[i].isNaN {
                    XCTAssertTrue(got[i].isNaN, "\(half)[\(i)]")
                } else {
                    XCTAssertEqual(got[i].bitPattern, want[i].bitPattern, "\(half)[\(i)]: \(got[i]) vs \(want[i])")
                }
            }
        }
        // Spot values, so the test cannot pass on two equally wrong readings.
        let f16 = try file.tensor("f16").values
        XCTAssertEqual(f16[7], 0x1p-24)            // smallest subnormal
        XCTAssertEqual(f16[6], 0x1p-14)            // smallest normal
        XCTAssertEqual(f16[4], 65504)
        XCTAssertEqual(f16[1].sign, .minus)
        XCTAssertEqual(f16[11], .infinity)
        XCTAssertTrue(f16[13].isNaN)
        let bf16 = try file.tensor("bf16").values
        XCTAssertEqual(bf16[7], Float(bitPattern: 0x0001_0000))  // bf16 subnormal
        XCTAssertEqual(bf16[3], -1.5)
        XCTAssertEqual(bf16[11], -.infinity)
        XCTAssertEqual(try file.tensor("f32_matrix").values, [-1, -0.5, 0, 0.5, 1, 1.5])
        let scalar = try file.tensor("scalar")
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.values, [3.5])
        XCTAssertEqual(try file.tensor("empty").shape, [0, 4])
        assertCheckpointError(["halfs.safetensors", "no tensor named 'nope'"]) { _ = try file.tensor("nope") }
    }

    func testHalfConversionIsExactForAllBitPatterns() {
        #if !(os(macOS) && arch(x86_64))
        for bits in 0...UInt16.max {
            let got = floatFromHalfBits(bits)
            let want = Float(Float16(bitPattern: bits))
            if want.isNaN {
                XCTAssertTrue(got.isNaN, "half 0x\(String(bits, radix: 16))")
            } else {
                XCTAssertEqual(got.bitPattern, want.bitPattern, "half 0x\(String(bits, radix: 16))")
            }
        }
        #endif
        XCTAssertEqual(floatFromHalfBits(0x0001), 0x1p-24)
        XCTAssertEqual(floatFromHalfBits(0x8000).bitPattern, (-0.0 as Float).bitPattern)
        XCTAssertEqual(floatFromHalfBits(0x7C00), .infinity)
        XCTAssertEqual(floatFromBFloat16Bits(0x3FC0), 1.5)
        XCTAssertEqual(floatFromBFloat16Bits(0xFF80), -.infinity)
        XCTAssertTrue(floatFromBFloat16Bits(0x7FC1).isNaN)
    }

    // MARK: Validation, one malformed file per rule

    func testFileTooShortOrHeaderLengthOutOfBounds() throws {
        let dir = temporaryDirectory(self)
        let short = writeFile([1, 2, 3, 4, 5], named: "short.safetensors", in: dir)
        assertCheckpointError(["short.safetensors", "5 bytes, too short", "8-byte header length"]) {
            _ = try SafetensorsFile.open(short)
        }
        let empty = writeFile([], named: "empty.safetensors", in: dir)
        assertCheckpointError(["empty.safetensors", "0 bytes, too short"]) { _ = try SafetensorsFile.open(empty) }
        let huge = writeFile(craftSafetensors("{}", headerLength: 100_000_001), named: "huge.safetensors", in: dir)
        assertCheckpointError(["huge.safetensors", "header length 100000001 exceeds the limit of 100000000"]) {
            _ = try SafetensorsFile.open(huge)
        }
        let past = writeFile(craftSafetensors("{}", headerLength: 3), named: "past.safetensors", in: dir)
        assertCheckpointError(["past.safetensors", "header length 3 runs past the end of the file", "only 2 bytes"]) {
            _ = try SafetensorsFile.open(past)
        }
        let maxLength = writeFile(craftSafetensors("{}", headerLength: .max), named: "max.safetensors", in: dir)
        assertCheckpointError(["max.safetensors", "exceeds the limit"]) { _ = try SafetensorsFile.open(maxLength) }
    }

    func testHeaderMustBeUTF8JSONObject() throws {
        let dir = temporaryDirectory(self)
        var notUTF8 = craftSafetensors("{\"a\":1}")
        notUTF8[10] = 0xFF
        assertMalformed(notUTF8, ["not valid JSON", "invalid UTF-8 at byte 2"], in: dir)
        assertMalformed(craftSafetensors("{\"a\": {\"dtype\": \"F32\",}}"), ["not valid JSON", "expected a string key"], in: dir)
        assertMalformed(craftSafetensors("{} x"), ["not valid JSON", "unexpected content after the JSON value"], in: dir)
        assertMalformed(craftSafetensors("{\"a\": 01}"), ["not valid JSON", "leading zeros"], in: dir)
        assertMalformed(craftSafetensors("{\"a\": 99999999999999999999}"), ["integer 99999999999999999999 is out of range"], in: dir)
        assertMalformed(craftSafetensors(String(repeating: "[", count: 70) + String(repeating: "]", count: 70)),
                        ["nesting deeper than 64 levels"], in: dir)
        assertMalformed(craftSafetensors("{\"a\": \"\\ud800\"}"), ["unpaired surrogate"], in: dir)
        assertMalformed(craftSafetensors("[1, 2]"), ["header must be a JSON object, found an array"], in: dir)
        assertMalformed(craftSafetensors("{\"a\": {}, \"a\": {}}"), ["duplicate key \"a\""], in: dir)
        // Escapes and whitespace padding are accepted.
        let ok = writeFile(craftSafetensors("{\"\\u00e9\\n\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}    ",
                                            data: floatBytes([2.5])), named: "ok.safetensors", in: dir)
        XCTAssertEqual(try SafetensorsFile.open(ok).tensor("é\n").values, [2.5])
    }

    func testEntriesMustBeWellTypedObjects() throws {
        let dir = temporaryDirectory(self)
        let four = floatBytes([1])
        assertMalformed(craftSafetensors("{\"w\": \"F32\"}"), ["tensor 'w'", "entry must be an object", "found a string"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", data: four),
                        ["tensor 'w'", "missing 'dtype'"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", data: four),
                        ["tensor 'w'", "missing 'shape'"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", data: four),
                        ["tensor 'w'", "missing 'data_offsets'"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": 32, \"shape\": [1], \"data_offsets\": [0, 4]}}", data: four),
                        ["tensor 'w'", "'dtype' must be a string, found an integer"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": \"F32\", \"shape\": 1, \"data_offsets\": [0, 4]}}", data: four),
                        ["tensor 'w'", "'shape' must be an array of integers, found an integer"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": \"F32\", \"shape\": [1.0], \"data_offsets\": [0, 4]}}", data: four),
                        ["tensor 'w'", "'shape' must be an array of integers, found a non-integer number in it"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, \"4\"]}}", data: four),
                        ["tensor 'w'", "'data_offsets' must be an array of integers, found a string in it"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}", data: four),
                        ["tensor 'w'", "exactly 2 integers", "found 3"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4], \"x\": 1}}", data: four),
                        ["tensor 'w'", "unexpected field 'x'"], in: dir)
    }

    func testUnsupportedDTypesAreRejectedByName() throws {
        let dir = temporaryDirectory(self)
        for (dtype, size) in [("I64", 8), ("F64", 8), ("U8", 1), ("f32", 4)] {
            assertMalformed(craftSafetensors("{\"ids\": {\"dtype\": \"\(dtype)\", \"shape\": [2], \"data_offsets\": [0, \(2 * size)]}}",
                                             data: Array(repeating: 0, count: 2 * size)),
                            ["tensor 'ids'", "dtype '\(dtype)' is not supported", "F32, F16, BF16"], in: dir)
        }
    }

    func testShapesAndOffsetsMustAgree() throws {
        let dir = temporaryDirectory(self)
        let twelve = floatBytes([1, 2, 3])
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": \"F32\", \"shape\": [3, -2], \"data_offsets\": [0, 12]}}", data: twelve),
                        ["tensor 'w'", "negative dimension -2 in shape [3, -2]"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 12]}}",
                                         data: twelve),
                        ["tensor 'w'", "shape [4294967296, 4294967296] has too many elements"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", data: twelve),
                        ["tensor 'w'", "span 8 bytes but shape [3] of F32 needs 12 bytes"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": \"BF16\", \"shape\": [3], \"data_offsets\": [0, 12]}}", data: twelve),
                        ["tensor 'w'", "span 12 bytes but shape [3] of BF16 needs 6 bytes"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [8, 4]}}", data: twelve),
                        ["tensor 'w'", "data_offsets [8, 4] end before they begin"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [4, 16]}}", data: twelve),
                        ["tensor 'w'", "data_offsets [4, 16] lie outside the data section (12 bytes)"], in: dir)
        assertMalformed(craftSafetensors("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [-4, 8]}}", data: twelve),
                        ["tensor 'w'", "negative value in data_offsets"], in: dir)
    }

    func testDataSectionMustBeCoveredExactly() throws {
        let dir = temporaryDirectory(self)
        let data = floatBytes([1, 2, 3, 4])
        func two(_ a: String, _ b: String) -> String {
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": \(a)}, "
                + "\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": \(b)}}"
        }
        assertMalformed(craftSafetensors(two("[0, 8]", "[4, 12]"), data: data),
                        ["tensors 'a' and 'b' overlap", "bytes 4..<8"], in: dir)
        assertMalformed(craftSafetensors(two("[0, 8]", "[0, 8]"), data: data), ["tensors 'a' and 'b' overlap"], in: dir)
        assertMalformed(craftSafetensors(two("[0, 8]", "[8, 16]"), data: data + [0, 0, 0]),
                        ["3 trailing bytes after the last tensor"], in: dir)
        assertMalformed(craftSafetensors(two("[8, 16]", "[16, 24]"), data: data + data),
                        ["hole in the data section", "bytes 0..<8 before tensor 'a'"], in: dir)
        assertMalformed(craftSafetensors("{}", data: [0]), ["1 trailing bytes after the last tensor"], in: dir)
        // Out-of-order offsets that tile the data exactly are fine; names come back in data order.
        let ok = writeFile(craftSafetensors(two("[8, 16]", "[0, 8]"), data: data), named: "order.safetensors", in: dir)
        let file = try SafetensorsFile.open(ok)
        XCTAssertEqual(file.names, ["b", "a"])
        XCTAssertEqual(try file.tensor("a").values, [3, 4])
        XCTAssertEqual(try file.tensor("b").values, [1, 2])
    }

    func testMetadataMustMapStringsToStrings() throws {
        let dir = temporaryDirectory(self)
        assertMalformed(craftSafetensors("{\"__metadata__\": [\"x\"]}"),
                        ["'__metadata__' must be an object of strings, found an array"], in: dir)
        assertMalformed(craftSafetensors("{\"__metadata__\": {\"epochs\": 100}}"),
                        ["'__metadata__' value for key 'epochs' must be a string, found an integer"], in: dir)
    }

    func testMissingFilesAndDirectoriesAreNamed() throws {
        let dir = temporaryDirectory(self)
        assertCheckpointError([dir + "/absent.safetensors", "no such file"]) {
            _ = try SafetensorsFile.open(dir + "/absent.safetensors")
        }
        assertCheckpointError([dir, "is a directory"]) { _ = try SafetensorsFile.open(dir) }
    }

    /// Writes `bytes` to a fresh file in `dir` and asserts opening it fails naming the file and `fragments`.
    private func assertMalformed(_ bytes: [UInt8], _ fragments: [String], in dir: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        let name = "bad-\(UUID().uuidString.prefix(8)).safetensors"
        let path = writeFile(bytes, named: name, in: dir)
        assertCheckpointError([name] + fragments, file: file, line: line) { _ = try SafetensorsFile.open(path) }
    }
}

// MARK: Helpers shared by the Checkpoint*Tests files

/// Asserts that `body` throws a ``SparseTuningError`` whose message contains every fragment.
func assertCheckpointError(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line,
                           _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected an error mentioning \(fragments)", file: file, line: line)
    } catch let error as SparseTuningError {
        for fragment in fragments where !error.message.contains(fragment) {
            XCTFail("error \"\(error.message)\" does not mention \"\(fragment)\"", file: file, line: line)
        }
    } catch {
        XCTFail("expected a SparseTuningError, got \(error)", file: file, line: line)
    }
}

/// Writes `bytes` to `dir/name` and returns the path.
func writeFile(_ bytes: [UInt8], named name: String, in dir: String) -> String {
    let path = dir + "/" + name
    precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot write \(path)")
    return path
}

/// Little-endian fp32 bytes of `values`.
func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
}

/// A safetensors file: 8-byte length (the header's own unless `headerLength` is given), header text, data.
func craftSafetensors(_ header: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
    let text = Array(header.utf8)
    return withUnsafeBytes(of: (headerLength ?? UInt64(text.count)).littleEndian, Array.init) + text + data
}
