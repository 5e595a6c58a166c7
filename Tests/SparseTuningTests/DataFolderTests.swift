// Tests of ImageFolderDataset: torchvision ImageFolder ordering (classes, nested folders, extensions) and the
// Food-101 layout, with every error path.
import XCTest
import Foundation
@testable import SparseTuning

final class DataFolderTests: XCTestCase {
    func testImageFolderOrderAndExtensions() throws {
        let root = temporaryDirectory(self)
        // Classes created out of order; files with mixed-case extensions, a nested folder, ignored files.
        try writePNG("\(root)/zebra/b.PNG", seed: 1)
        try writePNG("\(root)/zebra/a.png", seed: 2)
        try writeJPEG("\(root)/apple/x.JPG")
        try writePNG("\(root)/apple/sub/y.jpeg", seed: 3)
        try writePNG("\(root)/apple/sub-1/z.png", seed: 4)
        try writePNG("\(root)/apple/sub/deep/q.png", seed: 9)
        try writePNG("\(root)/apple/w.Jpeg", seed: 5)
        try writeText("\(root)/apple/notes.txt", "not an image")
        try writePNG("\(root)/apple/.hidden.png", seed: 6)
        try writePNG("\(root)/Mango/m.png", seed: 7)
        try writeText("\(root)/README.md", "top-level files are not classes")
        try writePNG("\(root)/.cache/c.png", seed: 8)

        let ds = try ImageFolderDataset.open(root: root)
        XCTAssertEqual(ds.classNames, ["Mango", "apple", "zebra"])  // code-point order, as Python's sorted
        let relative = ds.paths.map { String($0.dropFirst(root.count + 1)) }
        // torchvision: folders sorted by path ("apple/sub" < "apple/sub-1" < "apple/sub/deep"), files sorted
        // within each folder; hidden entries skipped.
        XCTAssertEqual(relative, ["Mango/m.png", "apple/w.Jpeg", "apple/x.JPG", "apple/sub/y.jpeg", "apple/sub-1/z.png",
                                  "apple/sub/deep/q.png", "zebra/a.png", "zebra/b.PNG"])
        XCTAssertEqual(ds.labels, [0, 1, 1, 1, 1, 1, 2, 2])
        XCTAssertEqual(ds.count, 8)
        XCTAssertEqual(ds.classHistogram, [1, 5, 2])
        XCTAssertEqual(try ds.image(6), patternImage(width: 12, height: 9, seed: 2))
        XCTAssertEqual(try ds.image(2).width, 29)
        XCTAssertEqual(ds.describe(7), "\(root)/zebra/b.PNG")
    }

    func testImageFolderErrors() throws {
        let root = temporaryDirectory(self)
        assertThrowsMessage(try ImageFolderDataset.open(root: "\(root)/missing"),
                            contains: ["image folder '\(root)/missing' not found", "<root>/<class>/<images>"])
        assertThrowsMessage(try ImageFolderDataset.open(root: root), contains: ["'\(root)' has no class subfolders"])
        try writePNG("\(root)/loose.png")
        assertThrowsMessage(try ImageFolderDataset.open(root: root),
                            contains: ["no class subfolders", "1 image files directly"])
        assertThrowsMessage(try ImageFolderDataset.open(root: "\(root)/loose.png"), contains: ["is not a directory"])

        try writePNG("\(root)/cat/1.png")
        try writeText("\(root)/dog/readme.txt", "x")
        try writeText("\(root)/dog/photo.bmp", "x")
        assertThrowsMessage(try ImageFolderDataset.open(root: root),
                            contains: ["class folder '\(root)/dog' has no images", "ignored: photo.bmp, readme.txt"])
        try FileManager.default.createDirectory(atPath: "\(root)/empty", withIntermediateDirectories: true)
        try FileManager.default.removeItem(atPath: "\(root)/dog")
        assertThrowsMessage(try ImageFolderDataset.open(root: root),
                            contains: ["class folder '\(root)/empty' has no images (expected .jpg, .jpeg or .png files)"])
    }

    func testImageFolderBadImageFailsOnLoadNamingFile() throws {
        let root = temporaryDirectory(self)
        try writeText("\(root)/cat/broken.jpg", "this is not a JPEG")
        let ds = try ImageFolderDataset.open(root: root)
        assertThrowsMessage(try ds.image(0), contains: ["\(root)/cat/broken.jpg"])
    }

    /// Food-101 layout with three classes, two images each.
    private func makeFood(_ root: String, classesFile: Bool) throws {
        for (c, name) in ["apple_pie", "baklava", "churros"].enumerated() {
            for k in 0..<2 { try writePNG("\(root)/images/\(name)/\(100 + k).jpg", seed: c * 10 + k) }
        }
        try writeText("\(root)/meta/train.txt", "churros/100\napple_pie/100\nbaklava/101\n")
        try writeText("\(root)/meta/test.txt", "apple_pie/101\nchurros/101\n")
        if classesFile { try writeText("\(root)/meta/classes.txt", "churros\napple_pie\nbaklava\n") }
    }

    func testFood101() throws {
        let root = temporaryDirectory(self)
        try makeFood(root, classesFile: false)
        let train = try ImageFolderDataset.openFood101(root: root, split: "train")
        XCTAssertEqual(train.classNames, ["apple_pie", "baklava", "churros"])
        XCTAssertEqual(train.labels, [2, 0, 1])
        XCTAssertEqual(train.paths[0], "\(root)/images/churros/100.jpg")
        XCTAssertEqual(try train.image(2), patternImage(width: 12, height: 9, seed: 11))
        let test = try ImageFolderDataset.openFood101(root: root, split: "test")
        XCTAssertEqual(test.labels, [0, 2])

        try writeText("\(root)/meta/classes.txt", "churros\napple_pie\nbaklava\n")
        let ordered = try ImageFolderDataset.openFood101(root: root, split: "train")
        XCTAssertEqual(ordered.classNames, ["churros", "apple_pie", "baklava"])
        XCTAssertEqual(ordered.labels, [0, 1, 2])

        // Opening it as a plain ImageFolder points at the Food-101 reader.
        assertThrowsMessage(try ImageFolderDataset.open(root: root), contains: ["Food-101 layout", "split"])
    }

    func testFood101Errors() throws {
        let root = temporaryDirectory(self)
        assertThrowsMessage(try ImageFolderDataset.openFood101(root: root, split: "train"), contains: ["has no images/ subfolder"])
        try makeFood(root, classesFile: true)
        assertThrowsMessage(try ImageFolderDataset.openFood101(root: root, split: "val"),
                            contains: ["\(root)/meta/val.txt", "not found", "has test.txt, train.txt"])
        let list = "\(root)/meta/train.txt"
        let cases: [(String, [String])] = [
            ("churros/100\nbaklava\n", ["\(list):2:", "expected '<class>/<image id>'", "got 'baklava'"]),
            ("churros/\n", ["\(list):1:", "expected"]),
            ("\ntiramisu/5\n", ["\(list):2:", "unknown class 'tiramisu'", "3 classes in '\(root)/meta/classes.txt'"]),
            ("\n", ["\(list)", "has no entries"]),
            ("churros/100\nbaklava/999\n", ["\(list):2:", "\(root)/images/baklava/999.jpg", "does not exist"]),
        ]
        for (text, fragments) in cases {
            try writeText(list, text)
            assertThrowsMessage(try ImageFolderDataset.openFood101(root: root, split: "train"), contains: fragments)
        }
        try writeText(list, "churros/100\nbaklava/999\n")
        XCTAssertEqual(try ImageFolderDataset.openFood101(root: root, split: "train", verifyFiles: false).count, 2)
    }
}
