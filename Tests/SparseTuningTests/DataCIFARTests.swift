// Tests of the CIFAR-10 / CIFAR-100 binary readers against records of known bytes, and of every error path.
import XCTest
import Foundation
@testable import SparseTuning

final class DataCIFARTests: XCTestCase {
    /// The pixel byte of channel `c` at position `p` (row-major) of the record with id `id`.
    private func pixel(_ id: Int, _ c: Int, _ p: Int) -> UInt8 { UInt8(truncatingIfNeeded: id * 13 + c * 50 + p * 7) }

    /// Records with the given label bytes; record k of the file gets the pixel id `firstId + k`.
    private func records(_ labels: [[UInt8]], firstId: Int) -> Data {
        var bytes: [UInt8] = []
        for (k, labelBytes) in labels.enumerated() {
            bytes += labelBytes
            for c in 0..<3 { for p in 0..<1024 { bytes.append(pixel(firstId + k, c, p)) } }
        }
        return Data(bytes)
    }

    private func makeCIFAR10(_ folder: String) throws {
        for b in 1...5 {
            try writeBytes("\(folder)/data_batch_\(b).bin", records([[UInt8(b)], [UInt8(9 - b)]], firstId: 2 * (b - 1)))
        }
        try writeBytes("\(folder)/test_batch.bin", records([[3], [0], [9]], firstId: 100))
    }

    func testCIFAR10() throws {
        let root = temporaryDirectory(self)
        try makeCIFAR10(root)
        let train = try CIFARDataset.open(root: root, split: "train")
        XCTAssertEqual(train.variant, .cifar10)
        XCTAssertEqual(train.count, 10)
        XCTAssertEqual(train.labels, [1, 8, 2, 7, 3, 6, 4, 5, 5, 4])
        XCTAssertEqual(train.classNames, (0..<10).map(String.init))
        XCTAssertEqual(train.describe(0), "\(root)/data_batch_1.bin[0]")
        XCTAssertEqual(train.describe(7), "\(root)/data_batch_4.bin[1]")
        XCTAssertEqual(train.describe(9), "\(root)/data_batch_5.bin[1]")
        for i in [0, 7, 9] {
            let image = try train.image(i)
            XCTAssertEqual([image.width, image.height], [32, 32])
            for (x, y) in [(0, 0), (31, 0), (5, 17), (31, 31)] {
                let p = y * 32 + x
                XCTAssertEqual(Array(image.pixels[3 * p..<3 * p + 3]), [pixel(i, 0, p), pixel(i, 1, p), pixel(i, 2, p)],
                               "record \(i) pixel (\(x), \(y))")
            }
        }
        let test = try CIFARDataset.open(root: root, split: "test")
        XCTAssertEqual(test.labels, [3, 0, 9])
        XCTAssertEqual(try test.image(2).pixels[3 * 40 + 1], pixel(102, 1, 40))

        try writeText("\(root)/batches.meta.txt", "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n")
        XCTAssertEqual(try CIFARDataset.open(root: root, split: "test").classNames[9], "truck")
    }

    func testCIFAR100FineAndCoarseInParentFolder() throws {
        let parent = temporaryDirectory(self)
        let folder = "\(parent)/cifar-100-binary"
        try writeBytes("\(folder)/train.bin", records([[19, 99], [0, 0], [7, 42]], firstId: 0))
        try writeBytes("\(folder)/test.bin", records([[1, 2]], firstId: 50))
        let fine = try CIFARDataset.open(root: parent, split: "train")
        XCTAssertEqual(fine.variant, .cifar100)
        XCTAssertEqual(fine.root, folder)
        XCTAssertEqual(fine.labels, [99, 0, 42])
        XCTAssertEqual(fine.classNames.count, 100)
        let coarse = try CIFARDataset.open(root: folder, split: "train", labels: .coarse)
        XCTAssertEqual(coarse.labels, [19, 0, 7])
        XCTAssertEqual(coarse.classNames.count, 20)
        let image = try coarse.image(2)
        XCTAssertEqual(Array(image.pixels[0..<3]), [pixel(2, 0, 0), pixel(2, 1, 0), pixel(2, 2, 0)])
        XCTAssertEqual(try CIFARDataset.open(root: folder, split: "test").labels, [2])

        try writeText("\(folder)/fine_label_names.txt", (0..<100).map { "fine\($0)" }.joined(separator: "\n"))
        try writeText("\(folder)/coarse_label_names.txt", (0..<20).map { "coarse\($0)" }.joined(separator: "\n"))
        XCTAssertEqual(try CIFARDataset.open(root: folder, split: "train").classNames[42], "fine42")
        XCTAssertEqual(try CIFARDataset.open(root: folder, split: "train", labels: .coarse).classNames[7], "coarse7")
    }

    func testParseRecordsDirectly() throws {
        let data = records([[4], [2]], firstId: 0)
        let parsed = try CIFARDataset.parseRecords(data, variant: .cifar10, name: "x.bin")
        XCTAssertEqual(parsed.labels, [4, 2])
        XCTAssertEqual(parsed.pixels.count, 2 * 3072)
        XCTAssertEqual(parsed.pixels[3072 + 1024 + 5], pixel(1, 1, 5))
        XCTAssertEqual(CIFARDataset.Variant.cifar100.recordBytes, 3074)
    }

    func testErrors() throws {
        let root = temporaryDirectory(self)
        assertThrowsMessage(try CIFARDataset.open(root: "\(root)/none", split: "train"), contains: ["'\(root)/none' not found"])
        try writeText("\(root)/readme.txt", "x")
        assertThrowsMessage(try CIFARDataset.open(root: root, split: "train"),
                            contains: ["no CIFAR binary files in '\(root)'", "readme.txt", "data_batch_1…5.bin", "train.bin"])
        try makeCIFAR10(root)
        assertThrowsMessage(try CIFARDataset.open(root: root, split: "validation"), contains: ["unknown CIFAR split 'validation'"])

        try FileManager.default.removeItem(atPath: "\(root)/data_batch_3.bin")
        try FileManager.default.removeItem(atPath: "\(root)/data_batch_5.bin")
        assertThrowsMessage(try CIFARDataset.open(root: root, split: "train"),
                            contains: ["CIFAR-10 folder", "lacks data_batch_3.bin, data_batch_5.bin for the train split"])

        var truncated = records([[1], [2]], firstId: 0)
        truncated.removeLast(10)
        try writeBytes("\(root)/test_batch.bin", truncated)
        assertThrowsMessage(try CIFARDataset.open(root: root, split: "test"),
                            contains: ["\(root)/test_batch.bin", "\(2 * 3073 - 10) bytes", "not a multiple of the 3073-byte record"])
        try writeBytes("\(root)/test_batch.bin", Data())
        assertThrowsMessage(try CIFARDataset.open(root: root, split: "test"), contains: ["\(root)/test_batch.bin", "is empty"])
        try writeBytes("\(root)/test_batch.bin", records([[1], [10]], firstId: 0))
        assertThrowsMessage(try CIFARDataset.open(root: root, split: "test"),
                            contains: ["\(root)/test_batch.bin", "record 1 (byte 3073)", "label 10, expected 0…9"])

        try writeBytes("\(root)/test_batch.bin", records([[1]], firstId: 0))
        try writeText("\(root)/batches.meta.txt", "a\nb\n")
        assertThrowsMessage(try CIFARDataset.open(root: root, split: "test"),
                            contains: ["\(root)/batches.meta.txt", "2 names, expected 10"])

        try writeBytes("\(root)/train.bin", records([[1, 1]], firstId: 0))
        assertThrowsMessage(try CIFARDataset.open(root: root, split: "test"), contains: ["both CIFAR-10", "CIFAR-100"])

        let hundred = temporaryDirectory(self)
        try writeBytes("\(hundred)/train.bin", records([[20, 5]], firstId: 0))
        assertThrowsMessage(try CIFARDataset.open(root: hundred, split: "train", labels: .coarse),
                            contains: ["CIFAR-100 file", "record 0 (byte 0)", "coarse label 20, expected 0…19"])
        try writeBytes("\(hundred)/train.bin", records([[2, 100]], firstId: 0))
        assertThrowsMessage(try CIFARDataset.open(root: hundred, split: "train"),
                            contains: ["record 0 (byte 1)", "fine label 100, expected 0…99"])
        assertThrowsMessage(try CIFARDataset.open(root: hundred, split: "test"), contains: ["lacks test.bin"])
    }
}
