// .npy/.npz byte orders, memory orders and float widths as numpy writes them (Fixtures/checkpoint/formats, from
// scripts/fixtures/checkpoint_fixtures.py): every array must equal numpy's own astype('<f4') / int values, read
// from a separate safetensors file, bit for bit; plus the Fortran-to-C reordering on its own and a whole ViT
// loaded from Fortran-order kernels.
import XCTest
import Foundation
@testable import SparseTuning

final class CheckpointNPYFormatsTests: XCTestCase {
    /// name → (descr, Fortran order) as numpy wrote them.
    private let layouts: [String: (descr: String, fortran: Bool)] = [
        "f4_fortran_2d": ("<f4", true), "f4_fortran_3d": ("<f4", true), "f4_big": (">f4", false),
        "f8_big": (">f8", false), "f8_little": ("<f8", false), "f2_little": ("<f2", false), "f2_big": (">f2", false),
        "f8_big_fortran": (">f8", true), "f4_big_fortran": (">f4", true),
        "i8_big": (">i8", false), "i4_big": (">i4", false), "i8_fortran": ("<i8", true),
    ]

    private func expected() throws -> (floats: Fixture, ints: [String: (shape: [Int], values: [Int64])]) {
        let fixture = try Fixture("checkpoint/formats/expected.safetensors")
        var ints: [String: (shape: [Int], values: [Int64])] = [:]
        for (name, json) in fixture.file.metadata {
            let object = try jsonTree(json)
            let shape = try XCTUnwrap(object["shape"]?.array).compactMap(\.int)
            let values = try XCTUnwrap(object["values"]?.array).compactMap(\.int).map(Int64.init)
            ints[name] = (shape, values)
        }
        return (fixture, ints)
    }

    /// Checks `array` against numpy's values for `name`, bit for bit (any NaN matches any NaN).
    private func assertMatchesNumpy(_ array: NPYArray, _ name: String, _ expected: (floats: Fixture, ints: [String: (shape: [Int], values: [Int64])]),
                                    _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(array.descr, layouts[name]?.descr, context, file: file, line: line)
        if let ints = expected.ints[name] {
            XCTAssertEqual(array.shape, ints.shape, context, file: file, line: line)
            XCTAssertEqual(array.int64Values, ints.values, context, file: file, line: line)
            XCTAssertNil(array.tensor, context, file: file, line: line)
            return
        }
        let reference = expected.floats[name]
        XCTAssertEqual(array.shape, reference.shape, context, file: file, line: line)
        guard let values = array.tensor?.values else { return XCTFail("\(context): not a float array", file: file, line: line) }
        XCTAssertEqual(array.tensor?.shape, reference.shape, context, file: file, line: line)
        XCTAssertEqual(values.count, reference.count, context, file: file, line: line)
        for (i, (ours, numpys)) in zip(values, reference.values).enumerated()
        where !(ours.bitPattern == numpys.bitPattern || (ours.isNaN && numpys.isNaN)) {
            XCTFail("\(context)[\(i)]: \(ours) (0x\(String(ours.bitPattern, radix: 16))) != numpy's \(numpys) "
                + "(0x\(String(numpys.bitPattern, radix: 16)))", file: file, line: line)
        }
    }

    func testEveryNumpyFormatEqualsNumpysValues() throws {
        let expected = try expected()
        XCTAssertEqual(Set(expected.floats.tensors.keys).union(expected.ints.keys), Set(layouts.keys))
        for (name, layout) in layouts {
            let path = fixturePath("checkpoint/formats/\(name).npy")
            let array = try NPY.read(path: path)
            assertMatchesNumpy(array, name, expected, name)
            let header = try Data(contentsOf: URL(fileURLWithPath: path)).withUnsafeBytes { try NPYHeader($0, name: path) }
            XCTAssertEqual(header.fortranOrder, layout.fortran, name)
            XCTAssertEqual(header.bigEndian, layout.descr.hasPrefix(">"), name)
            XCTAssertEqual(header.descr, layout.descr, name)
        }
    }

    func testSpecialValuesSurviveConversion() throws {
        // Spot checks that the fixture really holds the edge cases (the bitwise comparison does the rest).
        let f8 = try XCTUnwrap(NPY.read(path: fixturePath("checkpoint/formats/f8_big.npy")).tensor).values
        XCTAssertEqual(f8[2], 1)                          // 1 + 2^-24: tie, rounds to even
        XCTAssertEqual(f8[3], 1 + 0x1p-22)                // 1 + 3·2^-24: tie, rounds up to even
        XCTAssertEqual(f8[4], Float(1e-40 as Double))     // fp32 subnormal
        XCTAssertNotEqual(f8[4], 0)
        XCTAssertEqual(f8[5], .infinity)                  // 1e39 overflows
        XCTAssertEqual(f8[6].bitPattern, (-0.0 as Float).bitPattern)
        XCTAssertEqual(f8[7], .infinity)                  // FLT_MAX + half an ulp
        XCTAssertTrue(f8[9].isNaN)
        let f2 = try XCTUnwrap(NPY.read(path: fixturePath("checkpoint/formats/f2_big.npy")).tensor).values
        XCTAssertEqual(f2[4], 65504)
        XCTAssertEqual(f2[5], 0x1p-24)                    // 6e-8 is the smallest half subnormal
        XCTAssertEqual(f2[1].bitPattern, (-0.0 as Float).bitPattern)
        XCTAssertTrue(f2[10].isNaN)
        let m = try XCTUnwrap(NPY.read(path: fixturePath("checkpoint/formats/i8_fortran.npy")).int64Values)
        XCTAssertEqual(Array(m.prefix(5)), [-7, 993, 1993, 2993, 3993])   // C order: the last index is fastest
    }

    func testStoredAndDeflatedArchivesEqualNumpysValues() throws {
        let expected = try expected()
        for archive in ["formats.npz", "formats_compressed.npz"] {
            let path = fixturePath("checkpoint/formats/" + archive)
            let arrays = try NPZ.read(path: path)
            XCTAssertEqual(Set(arrays.keys), Set(layouts.keys), archive)
            for (name, array) in arrays { assertMatchesNumpy(array, name, expected, "\(archive): \(name)") }
            for (name, header) in try NPZ.headers(path: path) {
                XCTAssertEqual(header.descr, layouts[name]?.descr, "\(archive): \(name)")
                XCTAssertEqual(header.fortranOrder, layouts[name]?.fortran, "\(archive): \(name)")
            }
        }
    }

    func testFortranToCOnAnyRank() {
        for shape in [[5], [2, 3], [3, 1, 4], [2, 3, 4, 5], [1, 1, 1], [3, 0, 2], [4, 1]] {
            let count = shape.reduce(1, *)
            // Fortran storage: element f holds the value of its C position, computed from the index.
            var fortran = [Int](repeating: 0, count: count)
            for f in 0..<count {
                var rest = f
                var c = 0
                for k in 0..<shape.count {
                    let i = rest % shape[k]
                    rest /= shape[k]
                    c += i * shape[(k + 1)...].reduce(1, *)
                }
                fortran[f] = c
            }
            var out = [Int](repeating: -1, count: count)
            fortran.withUnsafeBufferPointer { source in
                out.withUnsafeMutableBufferPointer { destination in
                    if count > 0 { NPY.fortranToC(source.baseAddress!, shape: shape, into: destination.baseAddress!) }
                }
            }
            XCTAssertEqual(out, Array(0..<count), "\(shape)")
        }
    }

    func testCraftedFortranAndBigEndianHeaders() throws {
        // (2, 3) stored column by column: 1 4 2 5 3 6 → rows [1 2 3], [4 5 6].
        let columns: [Float] = [1, 4, 2, 5, 3, 6]
        let little = try NPY.read(data: Data(craftNPY("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                                                       data: floatBytes(columns))), name: "x")
        XCTAssertEqual(little.tensor?.values, [1, 2, 3, 4, 5, 6])
        let bigBytes = columns.flatMap { withUnsafeBytes(of: $0.bitPattern.bigEndian, Array.init) }
        for descr in [">f4"] {
            let big = try NPY.read(data: Data(craftNPY("{'descr': '\(descr)', 'fortran_order': True, 'shape': (2, 3), }",
                                                        data: bigBytes)), name: "x")
            XCTAssertEqual(big.tensor?.values, [1, 2, 3, 4, 5, 6])
            XCTAssertEqual(big.descr, descr)
        }
        for descr in ["=f4", "|f4"] {   // native order (little-endian here) and numpy's "not applicable"
            let native = try NPY.read(data: Data(craftNPY("{'descr': '\(descr)', 'fortran_order': False, 'shape': (2, 3), }",
                                                           data: floatBytes(columns))), name: "x")
            XCTAssertEqual(native.tensor?.values, columns, descr)
        }
        let ints = [Int32(7), -8].flatMap { withUnsafeBytes(of: $0.bigEndian, Array.init) }
        XCTAssertEqual(try NPY.read(data: Data(craftNPY("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
                                                         data: ints)), name: "x").int64Values, [7, -8])
    }

    func testFortranOrderGoogleCheckpointMatchesCOrder() throws {
        let fortran = try Checkpoint.load(fixturePath("checkpoint/model_tiny_fortran.npz"))
        let cOrder = try Checkpoint.load(fixturePath("vit/model_tiny.npz"))
        XCTAssertEqual(Set(fortran.tensors.keys), Set(cOrder.tensors.keys))
        for (name, tensor) in cOrder.tensors {
            XCTAssertEqual(fortran.tensors[name]?.shape, tensor.shape, name)
            XCTAssertEqual(fortran.tensors[name]?.values, tensor.values, name)
        }
        let headers = try NPZ.headers(path: fixturePath("checkpoint/model_tiny_fortran.npz"))
        XCTAssertGreaterThanOrEqual(headers.filter(\.header.fortranOrder).count, 20)
    }
}
