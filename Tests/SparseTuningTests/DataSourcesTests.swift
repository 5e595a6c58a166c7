// Tests of the in-memory and synthetic image sources, plus the helpers the Data*Tests files share to build
// datasets in temporary folders (PNG files written with PNGEncoder, a real JPEG copied from the image fixtures).
import XCTest
import Foundation
@testable import SparseTuning

// MARK: - Shared helpers for the Data tests

/// A `width × height` image whose pixels depend on `seed` (so different files decode differently).
func patternImage(width: Int, height: Int, seed: Int) -> RGBImage {
    var px = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let i = (y * width + x) * 3
            px[i] = UInt8(truncatingIfNeeded: x * 7 + seed * 31)
            px[i + 1] = UInt8(truncatingIfNeeded: y * 11 + seed * 17)
            px[i + 2] = UInt8(truncatingIfNeeded: (x ^ y) * 5 + seed * 3)
        }
    }
    return RGBImage(width: width, height: height, pixels: px)
}

/// Creates the parent folders of `path` and writes a PNG there (whatever the file's extension).
func writePNG(_ path: String, width: Int = 12, height: Int = 9, seed: Int = 0) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                            withIntermediateDirectories: true)
    try PNGEncoder.write(patternImage(width: width, height: height, seed: seed), to: path)
}

/// Creates the parent folders of `path` and copies a small real JPEG (29×21) there.
func writeJPEG(_ path: String) throws {
    try writeBytes(path, try Data(contentsOf: URL(fileURLWithPath: fixturePath("images/jpeg_baseline420.jpg"))))
}

/// Creates the parent folders of `path` and writes `text` (UTF-8).
func writeText(_ path: String, _ text: String) throws {
    try writeBytes(path, Data(text.utf8))
}

/// Creates the parent folders of `path` and writes `data`.
func writeBytes(_ path: String, _ data: Data) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                            withIntermediateDirectories: true)
    try data.write(to: URL(fileURLWithPath: path))
}

/// Asserts that `body` throws a ``SparseTuningError`` whose message contains every string of `fragments`.
func assertThrowsMessage<T>(_ body: @autoclosure () throws -> T, contains fragments: [String],
                            file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an error containing \(fragments)", file: file, line: line)
    } catch let error as SparseTuningError {
        for fragment in fragments {
            XCTAssertTrue(error.message.contains(fragment), "'\(error.message)' lacks '\(fragment)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected a SparseTuningError, got \(error)", file: file, line: line)
    }
}

// MARK: - Tests

final class DataSourcesTests: XCTestCase {
    func testInMemoryDataset() throws {
        let images = (0..<3).map { patternImage(width: 4, height: 3, seed: $0) }
        let ds = try InMemoryDataset(images: images, labels: [2, 0, 2])
        XCTAssertEqual(ds.count, 3)
        XCTAssertEqual(ds.classNames, ["0", "1", "2"])
        XCTAssertEqual(ds.labels, [2, 0, 2])
        XCTAssertEqual(ds.classHistogram, [1, 0, 2])
        XCTAssertEqual(try ds.image(1), images[1])
        XCTAssertEqual(ds.describe(2), "memory[2]")

        let named = try InMemoryDataset(images: images, labels: [0, 1, 0], classNames: ["cat", "dog"], name: "pets")
        XCTAssertEqual(named.classNames, ["cat", "dog"])
        XCTAssertEqual(named.describe(0), "pets[0]")
    }

    func testInMemoryDatasetErrors() {
        let images = (0..<2).map { patternImage(width: 4, height: 3, seed: $0) }
        assertThrowsMessage(try InMemoryDataset(images: images, labels: [0]), contains: ["2 images but 1 labels"])
        assertThrowsMessage(try InMemoryDataset(images: images, labels: [0, -1]), contains: ["label -1 of image 1"])
        assertThrowsMessage(try InMemoryDataset(images: images, labels: [0, 2], classNames: ["a", "b"]),
                            contains: ["label 2 of image 1", "0..<2"])
        assertThrowsMessage(try InMemoryDataset(images: [RGBImage(width: 0, height: 0, pixels: [])], labels: [0]),
                            contains: ["image 0 is empty"])
    }

    func testSyntheticDatasetIsDeterministicByIndex() throws {
        let ds = try SyntheticDataset(count: 10, size: 16, classes: 4, seed: 7)
        XCTAssertEqual(ds.count, 10)
        XCTAssertEqual(ds.classNames, ["disc", "square", "triangle", "ring"])
        XCTAssertEqual((0..<10).map(ds.label), [0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
        let a = try ds.image(5), b = try ds.image(5)
        XCTAssertEqual(a, b)
        XCTAssertEqual([a.width, a.height], [16, 16])
        XCTAssertNotEqual(a, try SyntheticDataset(count: 10, size: 16, classes: 4, seed: 8).image(5), "the stream seed matters")
        XCTAssertNotEqual(a, try ds.image(6))
        XCTAssertEqual(ds.describe(3), "synthetic[3]")
        assertThrowsMessage(try SyntheticDataset(count: 4, size: 16, classes: 9, seed: 0), contains: ["2 to 8 classes"])
        assertThrowsMessage(try SyntheticDataset(count: -1, size: 16, classes: 2, seed: 0), contains: ["negative"])
    }
}
