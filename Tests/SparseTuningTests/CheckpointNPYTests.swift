// .npy reader and writer: numpy-written files (format 1.0/2.0/3.0, every readable dtype, rejected layouts),
// byte-exact agreement with numpy's writer, and one crafted malformed file per validation rule.
import XCTest
import Foundation
@testable import SparseTuning

final class CheckpointNPYTests: XCTestCase {
    private let matrix: [Float] = [-1, -0.5, 0, 0.5, 1, 1.5]

    func testNumpyFloat32InAllThreeFormatVersions() throws {
        for version in 1...3 {
            let path = fixturePath("checkpoint/npy/f4_v\(version).npy")
            let array = try NPY.read(path: path)
            XCTAssertEqual(array.dtype, .float32)
            XCTAssertEqual(array.shape, [2, 3])
            let tensor = try XCTUnwrap(array.tensor)
            XCTAssertEqual(tensor.shape, [2, 3])
            XCTAssertEqual(tensor.values, matrix, "v\(version)")
            XCTAssertNil(array.int64Values)
            let header = try Data(contentsOf: URL(fileURLWithPath: path)).withUnsafeBytes { try NPYHeader($0, name: path) }
            XCTAssertEqual(header.version, version)
            XCTAssertEqual(header.dataOffset % 64, 0)
        }
    }

    func testNumpyOtherDTypesAreConverted() throws {
        let f8 = try NPY.read(path: fixturePath("checkpoint/npy/f8.npy"))
        XCTAssertEqual(f8.dtype, .float64)
        XCTAssertEqual(f8.tensor?.values.map(\.bitPattern),
                       [Float(0.1 as Double), Float(1.0 / 3.0 as Double), Float(1e-40 as Double), .infinity, -2].map(\.bitPattern))
        XCTAssertNotEqual(f8.tensor?.values[2], 0)   // fp32 subnormal kept

        let f2 = try NPY.read(path: fixturePath("checkpoint/npy/f2.npy"))
        XCTAssertEqual(f2.dtype, .float16)
        XCTAssertEqual(f2.shape, [2, 2])
        XCTAssertEqual(f2.tensor?.values, [1, -0.5, 0x1p-24, .infinity])

        let i8 = try NPY.read(path: fixturePath("checkpoint/npy/i8.npy"))
        XCTAssertEqual(i8.dtype, .int64)
        XCTAssertEqual(i8.shape, [2, 3])
        XCTAssertEqual(i8.int64Values, [0, -1, 1 << 40, 7, -(1 << 62), 3])
        XCTAssertNil(i8.tensor)

        let i4 = try NPY.read(path: fixturePath("checkpoint/npy/i4.npy"))
        XCTAssertEqual(i4.dtype, .int32)
        XCTAssertEqual(i4.int64Values, [5, -2147483648, 2147483647])

        let scalar = try NPY.read(path: fixturePath("checkpoint/npy/scalar.npy"))
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.tensor?.values, [2.25])
    }

    func testNumpyWrittenDTypesWeCannotReadAreRejected() {
        let cases = [("reject_object.npy", "object arrays ('|O') are not supported"),
                     ("reject_complex.npy", "complex arrays ('<c8') are not supported"),
                     ("reject_longdouble.npy", "long double"),
                     ("reject_unicode.npy", "string arrays ('<U2') are not supported"),
                     ("reject_structured.npy", "structured dtypes are not supported")]
        for (name, rule) in cases {
            assertCheckpointError([name, rule]) { _ = try NPY.read(path: fixturePath("checkpoint/npy/" + name)) }
        }
        assertCheckpointError(["reject_longdouble.npy", "'<f16'", "readable: float16/32/64"]) {
            _ = try NPY.read(path: fixturePath("checkpoint/npy/reject_longdouble.npy"))
        }
    }

    func testWriterMatchesNumpyByteForByteAndRoundTrips() throws {
        let dir = temporaryDirectory(self)
        let path = dir + "/m.npy"
        try NPY.write(Tensor(shape: [2, 3], values: matrix), to: path)
        let ours = try Data(contentsOf: URL(fileURLWithPath: path))
        let numpys = try Data(contentsOf: URL(fileURLWithPath: fixturePath("checkpoint/npy/f4_v1.npy")))
        XCTAssertEqual(ours, numpys)

        let ids: [Int64] = [3, -9, .max, .min, 0, 42]
        try NPY.writeInt64(ids, shape: [3, 1, 2], to: dir + "/ids.npy")
        let read = try NPY.read(path: dir + "/ids.npy")
        XCTAssertEqual(read.dtype, .int64)
        XCTAssertEqual(read.shape, [3, 1, 2])
        XCTAssertEqual(read.int64Values, ids)

        for shape in [[], [0, 3], [5]] {
            let tensor = Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { Float($0) - 2.5 })
            try NPY.write(tensor, to: dir + "/t.npy")
            let back = try NPY.read(path: dir + "/t.npy")
            XCTAssertEqual(back.shape, shape)
            XCTAssertEqual(back.tensor?.values, tensor.values)
        }
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)), ["m.npy", "ids.npy", "t.npy"])
    }

    func testWriterErrorsNameThePath() throws {
        let dir = temporaryDirectory(self)
        assertCheckpointError(["ids.npy", "5 values do not fill shape (2, 3)"]) {
            try NPY.writeInt64([1, 2, 3, 4, 5], shape: [2, 3], to: dir + "/ids.npy")
        }
        assertCheckpointError(["missing/t.npy", "cannot create a temporary file"]) {
            try NPY.write(Tensor(zeros: [1]), to: dir + "/missing/t.npy")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testPreambleValidation() {
        assertBadNPY([0x93, 0x4E, 0x55], ["truncated .npy header (3 bytes)"])
        assertBadNPY(Array("PK\u{3}\u{4}rest-of-it".utf8), ["not a .npy array", "\\x93NUMPY"])
        assertBadNPY(npyPreamble(version: 4) + [0, 0], ["unsupported .npy format version 4.0", "1.0, 2.0 or 3.0"])
        assertBadNPY([0x93] + Array("NUMPY".utf8) + [1, 1, 0, 0], ["unsupported .npy format version 1.1"])
        assertBadNPY(npyPreamble(version: 2) + withUnsafeBytes(of: UInt32(5_000_000).littleEndian, Array.init),
                     ["header length 5000000 exceeds the limit"])
        assertBadNPY(npyPreamble(version: 1) + withUnsafeBytes(of: UInt16(100).littleEndian, Array.init) + Array("{'descr'".utf8),
                     ["truncated .npy header"])
    }

    func testHeaderDictValidation() {
        let good = "'descr': '<f4', 'fortran_order': False, 'shape': (2,)"
        XCTAssertEqual(try NPY.read(data: Data(craftNPY("{\(good), }", data: floatBytes([1, 2]))), name: "x").tensor?.values, [1, 2])
        assertBadNPY(craftNPY("{'descr': '<f4', 'shape': (2,)}", data: floatBytes([1, 2])),
                     ["keys are [\"descr\", \"shape\"]", "expected exactly"])
        assertBadNPY(craftNPY("{\(good), 'extra': True}", data: floatBytes([1, 2])), ["keys are", "extra"])
        assertBadNPY(craftNPY("{\(good), 'shape': (2,)}", data: floatBytes([1, 2])), ["duplicate key 'shape'"])
        assertBadNPY(craftNPY("{'descr': 4, 'fortran_order': False, 'shape': (2,)}"), ["unexpected value"])
        assertBadNPY(craftNPY("{'descr': True, 'fortran_order': False, 'shape': (2,)}"), ["'descr' must be a string"])
        assertBadNPY(craftNPY("{'descr': [('a', '<f4'), ('b', '<i8')], 'fortran_order': False, 'shape': (2,)}"),
                     ["structured dtypes are not supported"])
        assertBadNPY(craftNPY("{'descr': '<f4', 'fortran_order': 'no', 'shape': (2,)}"), ["'fortran_order' must be True or False"])
        assertBadNPY(craftNPY("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}"), ["'shape' must be a tuple of integers"])
        assertBadNPY(craftNPY("{'descr': '<f4', 'fortran_order': 1, 'shape': (2,)}"), ["unexpected value"])
        assertBadNPY(craftNPY("{'descr': '<f4', 'fortran_order': None, 'shape': (2,)}"), ["unexpected value"])
        assertBadNPY(craftNPY("{'descr': '<f4', 'fortran_order': (), 'shape': (2,)}"), ["'fortran_order' must be True or False"])
        assertBadNPY(craftNPY("{'descr': '|O', 'fortran_order': False, 'shape': (2,)}"), ["object arrays ('|O')"])
        assertBadNPY(craftNPY("{'descr': '<c8', 'fortran_order': False, 'shape': (2,)}"),
                     ["complex arrays ('<c8') are not supported", "'f2', 'f4', 'f8'", "'i4', 'i8'"])
        assertBadNPY(craftNPY("{'descr': '>c16', 'fortran_order': True, 'shape': (2,)}"), ["complex arrays ('>c16')"])
        assertBadNPY(craftNPY("{'descr': '<f16', 'fortran_order': False, 'shape': (2,)}"), ["long double", "('<f16')"])
        assertBadNPY(craftNPY("{'descr': '<f12', 'fortran_order': False, 'shape': (2,)}"), ["long double", "('<f12')"])
        assertBadNPY(craftNPY("{'descr': '|S3', 'fortran_order': False, 'shape': (2,)}"), ["string arrays ('|S3')"])
        assertBadNPY(craftNPY("{'descr': '>U3', 'fortran_order': False, 'shape': (2,)}"), ["string arrays ('>U3')"])
        assertBadNPY(craftNPY("{'descr': '|b1', 'fortran_order': False, 'shape': (2,)}"), ["boolean arrays ('|b1')"])
        assertBadNPY(craftNPY("{'descr': '<u4', 'fortran_order': False, 'shape': (2,)}"), ["unsigned integers ('<u4')"])
        assertBadNPY(craftNPY("{'descr': '|i1', 'fortran_order': False, 'shape': (2,)}"), ["integers of this width ('|i1')"])
        assertBadNPY(craftNPY("{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (2,)}"), ["datetime"])
        assertBadNPY(craftNPY("{'descr': '|V8', 'fortran_order': False, 'shape': (2,)}"), ["raw/void"])
        assertBadNPY(craftNPY("{'descr': 'f4', 'fortran_order': False, 'shape': (2,)}"), ["bad descr 'f4'", "byte order"])
        assertBadNPY(craftNPY("{'descr': '', 'fortran_order': False, 'shape': (2,)}"), ["bad descr ''"])
        assertBadNPY(craftNPY("{'descr': '<', 'fortran_order': False, 'shape': (2,)}"), ["bad descr '<'", "not a numpy type code"])
        assertBadNPY(craftNPY("{'descr': '<x4', 'fortran_order': False, 'shape': (2,)}"), ["bad descr '<x4'"])
        assertBadNPY(craftNPY("{'descr': '>f', 'fortran_order': False, 'shape': (2,)}"), ["bad descr '>f'", "width in bytes"])
        assertBadNPY(craftNPY("{'descr': '<f4x', 'fortran_order': False, 'shape': (2,)}"), ["bad descr '<f4x'", "width in bytes"])
        assertBadNPY(craftNPY("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}"), ["non-negative integers"])
        assertBadNPY(craftNPY("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}"),
                     ["dimension 99999999999999999999 is too large"])
        assertBadNPY(craftNPY("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}"),
                     ["shape (4294967296, 4294967296) is too large"])
        assertBadNPY(craftNPY("{'descr': '>f8', 'fortran_order': True, 'shape': (65536, 65536, 65536, 65536)}"),
                     ["shape (65536, 65536, 65536, 65536) is too large"])
        assertBadNPY(craftNPY("{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976,)}"),
                     ["shape (1152921504606846976,) is too large"])   // 2^60 elements fit Int, 2^63 bytes do not
        assertBadNPY(craftNPY("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk"), ["unexpected text after the closing '}'"])
        assertBadNPY(craftNPY("{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}"), ["expected '}' at byte 17"])
        assertBadNPY(craftNPY("'descr': '<f4'"), ["expected '{'"])
    }

    func testDataSizeMustMatchTheShape() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        assertBadNPY(craftNPY(header, data: floatBytes([1, 2, 3])),
                     ["truncated .npy data", "shape (2, 3) of '<f4' needs 24 bytes but only 12 follow"])
        assertBadNPY(craftNPY(header, data: floatBytes([1, 2, 3, 4, 5, 6]) + [9]), ["1 unexpected bytes after the .npy data"])
        assertBadNPY(craftNPY("{'descr': '<i8', 'fortran_order': False, 'shape': (1000000000000,), }", data: [1, 2]),
                     ["needs 8000000000000 bytes but only 2 follow"])
        assertBadNPY(craftNPY("{'descr': '>f2', 'fortran_order': True, 'shape': (3, 2), }", data: Array(repeating: 0, count: 11)),
                     ["truncated .npy data", "shape (3, 2) of '>f2' needs 12 bytes but only 11 follow"])
        assertBadNPY(craftNPY("{'descr': '>i4', 'fortran_order': True, 'shape': (50000, 50000, 50000), }", data: [1]),
                     ["truncated .npy data", "needs 500000000000000 bytes but only 1 follow"])
    }

    func testFileErrorsNameThePath() throws {
        let dir = temporaryDirectory(self)
        assertCheckpointError([dir + "/none.npy", "no such file"]) { _ = try NPY.read(path: dir + "/none.npy") }
        let bad = writeFile(Array("not numpy".utf8), named: "bad.npy", in: dir)
        assertCheckpointError([bad, "not a .npy array"]) { _ = try NPY.read(path: bad) }
    }

    /// Asserts that reading `bytes` fails with a message naming the entry and containing `fragments`.
    private func assertBadNPY(_ bytes: [UInt8], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        assertCheckpointError(["weights.npz: array 'w'"] + fragments, file: file, line: line) {
            _ = try NPY.read(data: Data(bytes), name: "weights.npz: array 'w'")
        }
    }
}

/// `\x93NUMPY`, the version and a zero minor version.
func npyPreamble(version: UInt8) -> [UInt8] { [0x93] + Array("NUMPY".utf8) + [version, 0] }

/// A format 1.0 .npy file with the header text `dict` (padded as numpy does) followed by `data`.
func craftNPY(_ dict: String, data: [UInt8] = []) -> [UInt8] {
    var text = Array(dict.utf8)
    text += Array(repeating: UInt8(ascii: " "), count: (64 - (10 + text.count + 1) % 64) % 64) + [0x0A]
    return npyPreamble(version: 1) + withUnsafeBytes(of: UInt16(text.count).littleEndian, Array.init) + text + data
}
