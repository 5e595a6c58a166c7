// Image fixtures: loader for Fixtures/images (written by scripts/fixtures/image_fixtures.py) and its sanity test.
import XCTest
import Foundation
@testable import SparseTuning

/// One entry of Fixtures/images/manifest.json.
struct ImageFixture {
    let name: String
    /// Raw expectation file: `.u8` bytes or `.f32` little-endian floats, row-major.
    let file: String
    let shape: [Int]
    /// The image file a decoding fixture was decoded from.
    let image: String?
    /// The image file a resize / crop / preprocessing fixture starts from.
    let source: String?
    /// Target [width, height] of a resize / crop / preprocessing fixture.
    let size: [Int]?
    let cropPct: Double?
    let normalization: String?

    /// Absolute path of a file in Fixtures/images.
    static func path(_ file: String) -> String { fixturePath("images/\(file)") }

    /// Every manifest entry, sorted by name.
    static func all() throws -> [ImageFixture] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("manifest.json")))
        let root = try JSONCoding.decode(JSONTree.self, from: data, source: path("manifest.json"))
        guard case .object(let entries)? = root["entries"] else { throw SparseTuningError("manifest.json: no entries") }
        return try entries.keys.sorted().map { name in
            let e = entries[name]!
            return ImageFixture(
                name: name, file: try XCTUnwrap(e["file"]?.string), shape: try XCTUnwrap(e["shape"]?.array?.compactMap(\.int)),
                image: e["image"]?.string, source: e["source"]?.string, size: e["size"]?.array?.compactMap(\.int),
                cropPct: e["crop_pct"]?.double, normalization: e["normalization"]?.string)
        }
    }

    /// The entries whose name starts with `prefix` (at least one).
    static func all(prefix: String) throws -> [ImageFixture] {
        let found = try all().filter { $0.name.hasPrefix(prefix) }
        XCTAssertFalse(found.isEmpty, "no image fixture named \(prefix)*")
        return found
    }

    /// The expected bytes of a `.u8` fixture.
    func bytes() throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.path(file))))
    }

    /// The expected (H, W, 3) image of a `.u8` fixture.
    func rgbImage() throws -> RGBImage {
        XCTAssertEqual(shape.count, 3)
        return RGBImage(width: shape[1], height: shape[0], pixels: try bytes())
    }

    /// The expected floats of a `.f32` fixture.
    func floats() throws -> [Float] {
        try bytes().withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }
}

/// Largest absolute difference between two equal-length byte arrays.
func maxByteDiff(_ a: [UInt8], _ b: [UInt8]) -> Int {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }
}

final class ImageFixtureTests: XCTestCase {
    func testManifestFilesExistWithTheirShapes() throws {
        let fixtures = try ImageFixture.all()
        XCTAssertGreaterThan(fixtures.count, 20)
        for f in fixtures {
            let bytes = try f.bytes()
            let itemSize = f.file.hasSuffix(".f32") ? 4 : 1
            XCTAssertEqual(bytes.count, f.shape.reduce(1, *) * itemSize, f.name)
            for file in [f.image, f.source].compactMap({ $0 }) {
                XCTAssertTrue(FileManager.default.fileExists(atPath: ImageFixture.path(file)), "\(f.name): \(file)")
            }
        }
    }
}
