// Tests of the VTAB-1K reader: task table, folder-name variants, list parsing, class names and every error path,
// on small task folders written to a temporary directory.
import XCTest
import Foundation
@testable import SparseTuning

final class DataVTABTests: XCTestCase {
    /// Writes `root/<folder>/` with images/train800/00000{0..n}.jpg (PNG bytes, one real JPEG) and list files.
    private func makeTask(_ root: String, folder: String, labels: [Int], testLabels: [Int] = [1, 0]) throws {
        let task = "\(root)/\(folder)"
        var train = "", test = ""
        for (i, label) in labels.enumerated() {
            let name = String(format: "images/train800/%06d.jpg", i)
            if i == 0 { try writeJPEG("\(task)/\(name)") } else { try writePNG("\(task)/\(name)", seed: i) }
            train += "\(name) \(label)\n"
        }
        for (i, label) in testLabels.enumerated() {
            let name = String(format: "images/test/%06d.jpg", i)
            try writePNG("\(task)/\(name)", width: 10 + i, height: 7, seed: 100 + i)
            test += "\(name) \(label)\n"
        }
        try writeText("\(task)/train800.txt", train)
        try writeText("\(task)/val200.txt", "images/train800/000000.jpg \(labels[0])\n")
        try writeText("\(task)/train800val200.txt", train)
        try writeText("\(task)/test.txt", test)
    }

    func testTaskTable() {
        XCTAssertEqual(VTABDataset.tasks.count, 19)
        let byGroup = Dictionary(grouping: VTABDataset.tasks, by: \.group).mapValues(\.count)
        XCTAssertEqual(byGroup, [.natural: 7, .specialized: 4, .structured: 8])
        XCTAssertEqual(VTABDataset.tasks.map(\.classes).reduce(0, +), 940)
        XCTAssertEqual(VTABDataset.task(named: "cifar100")?.name, "cifar")
        XCTAssertEqual(VTABDataset.task(named: "CIFAR")?.classes, 100)
        XCTAssertEqual(VTABDataset.task(named: "oxford_pet")?.name, "oxford_iiit_pet")
        XCTAssertEqual(VTABDataset.task(named: "oxford_iiit_pet")?.classes, 37)
        XCTAssertEqual(VTABDataset.task(named: "sun397")?.classes, 397)
        XCTAssertEqual(VTABDataset.task(named: "smallnorb_ele")?.group, .structured)
        XCTAssertEqual(VTABDataset.task(named: "clevr_dist")?.vptPromptTokens, 200)
        XCTAssertNil(VTABDataset.task(named: "imagenet"))
        XCTAssertEqual(Set(VTABDataset.tasks.map(\.name)).count, 19)
    }

    func testOpensSplitsWithLabelsPathsAndImages() throws {
        let root = temporaryDirectory(self)
        try makeTask(root, folder: "dtd", labels: [3, 46, 0, 12])
        let train = try VTABDataset.open(root: root, task: "dtd", split: "train800")
        XCTAssertEqual(train.count, 4)
        XCTAssertEqual(train.labels, [3, 46, 0, 12])
        XCTAssertEqual(train.classNames.count, 47)
        XCTAssertEqual(train.classNames.first, "0")
        XCTAssertEqual(train.classNames.last, "46")
        XCTAssertEqual(train.task?.name, "dtd")
        XCTAssertEqual(train.split, "train800")
        XCTAssertEqual(train.paths[1], "\(root)/dtd/images/train800/000001.jpg")
        XCTAssertEqual(train.describe(2), "\(root)/dtd/images/train800/000002.jpg")
        // Index 0 is a real JPEG; the others are PNG bytes in .jpg files (decoding goes by magic bytes).
        let jpeg = try train.image(0)
        XCTAssertEqual([jpeg.width, jpeg.height], [29, 21])
        XCTAssertEqual(try train.image(2), patternImage(width: 12, height: 9, seed: 2))

        let test = try VTABDataset.open(root: root, task: "dtd", split: "test.txt")
        XCTAssertEqual(test.labels, [1, 0])
        XCTAssertEqual(test.split, "test")
        XCTAssertEqual(try test.image(1), patternImage(width: 11, height: 7, seed: 101))
        XCTAssertEqual(try VTABDataset.open(root: root, task: "dtd", split: "val200").count, 1)
        XCTAssertEqual(try VTABDataset.open(root: root, task: "dtd", split: "train800val200").count, 4)
    }

    func testFolderNameVariants() throws {
        let root = temporaryDirectory(self)
        try makeTask(root, folder: "cifar100", labels: [99, 5])
        try makeTask(root, folder: "oxford_iiit_pet", labels: [36, 0])
        let cifar = try VTABDataset.open(root: root, task: "cifar", split: "train800")
        XCTAssertEqual(cifar.taskFolder, "\(root)/cifar100")
        XCTAssertEqual(cifar.classNames.count, 100)
        XCTAssertEqual(cifar.labels, [99, 5])
        XCTAssertEqual(try VTABDataset.open(root: root, task: "cifar100", split: "test").task?.name, "cifar")
        let pets = try VTABDataset.open(root: root, task: "oxford_pet", split: "train800")
        XCTAssertEqual(pets.taskFolder, "\(root)/oxford_iiit_pet")
        XCTAssertEqual(pets.classNames.count, 37)

        // The other direction, and a root that holds a vtab-1k folder.
        let other = temporaryDirectory(self)
        try makeTask("\(other)/vtab-1k", folder: "oxford_pet", labels: [1])
        try makeTask("\(other)/vtab-1k", folder: "cifar", labels: [2])
        XCTAssertEqual(try VTABDataset.open(root: other, task: "oxford_iiit_pet", split: "train800").taskFolder,
                       "\(other)/vtab-1k/oxford_pet")
        XCTAssertEqual(try VTABDataset.open(root: "\(other)/vtab-1k", task: "cifar100", split: "train800").labels, [2])
    }

    func testUnknownTaskAndLabelsFile() throws {
        let root = temporaryDirectory(self)
        try makeTask(root, folder: "my_task", labels: [0, 3, 1])
        let ds = try VTABDataset.open(root: root, task: "my_task", split: "train800")
        XCTAssertNil(ds.task)
        XCTAssertEqual(ds.classNames, ["0", "1", "2", "3"])

        try writeText("\(root)/my_task/labels.txt", "zero\none\ntwo\nthree\nfour\n\n")
        XCTAssertEqual(try VTABDataset.open(root: root, task: "my_task", split: "train800").classNames,
                       ["zero", "one", "two", "three", "four"])
        try writeText("\(root)/my_task/labels.txt", "zero\none\n")
        assertThrowsMessage(try VTABDataset.open(root: root, task: "my_task", split: "train800"),
                            contains: ["\(root)/my_task/train800.txt:2", "label 3 has no name", "labels.txt", "2 names"])

        try makeTask(root, folder: "kitti", labels: [0, 3])
        try writeText("\(root)/kitti/classnames.txt", "a\nb\nc\nd\n")
        XCTAssertEqual(try VTABDataset.open(root: root, task: "kitti", split: "train800").classNames, ["a", "b", "c", "d"])
        try writeText("\(root)/kitti/classnames.txt", "a\nb\nc\n")
        assertThrowsMessage(try VTABDataset.open(root: root, task: "kitti", split: "train800"),
                            contains: ["classnames.txt", "3 names", "'kitti' has 4 classes"])
    }

    func testToleratesCRLFBlankLinesAndTabs() throws {
        let root = temporaryDirectory(self)
        try makeTask(root, folder: "svhn", labels: [1, 2])
        try writeText("\(root)/svhn/test.txt", "\u{FEFF}images/test/000000.jpg 9\r\n\r\nimages/test/000001.jpg\t0\r\n\n")
        let ds = try VTABDataset.open(root: root, task: "svhn", split: "test")
        XCTAssertEqual(ds.labels, [9, 0])
        XCTAssertEqual(ds.paths[1], "\(root)/svhn/images/test/000001.jpg")
        try writeText("\(root)/svhn/test.txt", "images/test/000000.jpg 9\r\nimages/test/000001.jpg\r\n")
        assertThrowsMessage(try VTABDataset.open(root: root, task: "svhn", split: "test"),
                            contains: ["test.txt:2:", "got 'images/test/000001.jpg'"])
    }

    func testMissingRootTaskAndListFile() throws {
        let root = temporaryDirectory(self)
        assertThrowsMessage(try VTABDataset.open(root: "\(root)/nowhere", task: "dtd", split: "test"),
                            contains: ["VTAB-1K root folder", "\(root)/nowhere", "not found"])
        try makeTask(root, folder: "dtd", labels: [1])
        try makeTask(root, folder: "eurosat", labels: [1])
        assertThrowsMessage(try VTABDataset.open(root: root, task: "cifar", split: "test"),
                            contains: ["'cifar', 'cifar100'", "not found in '\(root)'", "dtd, eurosat"])
        try FileManager.default.removeItem(atPath: "\(root)/dtd/val200.txt")
        assertThrowsMessage(try VTABDataset.open(root: root, task: "dtd", split: "val200"),
                            contains: ["\(root)/dtd/val200.txt", "not found", "test.txt, train800.txt, train800val200.txt"])
        assertThrowsMessage(try VTABDataset.open(root: root, task: "dtd", split: "../x"), contains: ["invalid VTAB-1K split"])
    }

    func testMalformedLinesNameFileAndLine() throws {
        let root = temporaryDirectory(self)
        try makeTask(root, folder: "dtd", labels: [1, 2])
        let list = "\(root)/dtd/test.txt"
        let cases: [(String, [String])] = [
            ("images/test/000000.jpg 1\nimages/test/000001.jpg\n", ["\(list):2:", "expected '<image path", "got 'images/test/000001.jpg'"]),
            ("images/test/000000.jpg seven\n", ["\(list):1:", "got 'images/test/000000.jpg seven'"]),
            ("images/test/000000.jpg 1.5\n", ["\(list):1:", "expected"]),
            ("\n\nimages/test/000000.jpg -1\n", ["\(list):3:", "label -1 is negative"]),
            ("images/test/000000.jpg 47\n", ["\(list):1:", "label 47 is out of range for task 'dtd'", "47 classes, labels 0…46"]),
            ("\n \n", ["\(list)", "has no entries"]),
            ("images/test/000000.jpg 1\nimages/test/missing.jpg 2\nimages/test/gone.jpg 3\n",
             ["\(list):2:", "\(root)/dtd/images/test/missing.jpg", "does not exist", "2 of 3 listed images are missing"]),
        ]
        for (text, fragments) in cases {
            try writeText(list, text)
            assertThrowsMessage(try VTABDataset.open(root: root, task: "dtd", split: "test"), contains: fragments)
        }
    }

    func testUnverifiedMissingImageFailsWhenLoaded() throws {
        let root = temporaryDirectory(self)
        try makeTask(root, folder: "dtd", labels: [1])
        try writeText("\(root)/dtd/test.txt", "images/test/missing.jpg 2\n")
        let ds = try VTABDataset.open(root: root, task: "dtd", split: "test", verifyFiles: false)
        XCTAssertEqual(ds.count, 1)
        assertThrowsMessage(try ds.image(0), contains: ["\(root)/dtd/images/test/missing.jpg", "not found"])
    }
}
