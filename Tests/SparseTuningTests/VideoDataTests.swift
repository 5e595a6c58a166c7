// Tests of the video datasets: list files (2- and 3-field lines, roots, comments, error lines), classes files, the
// SSv2 labels.json and annotation files, Kinetics CSVs and class folders, and the locator recognising each layout.
import XCTest
import Foundation
@testable import SparseTuning

final class VideoDataTests: XCTestCase {
    private func write(_ text: String, _ name: String, in dir: String) throws -> String {
        let path = (dir as NSString).appendingPathComponent(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func assertError(_ body: @autoclosure () throws -> Any, mentions parts: [String],
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            let message = (error as? SparseTuningError)?.message ?? "\(error)"
            for part in parts { XCTAssertTrue(message.contains(part), "'\(message)' lacks '\(part)'", file: file, line: line) }
        }
    }

    func testListFileWithVideosAndFrameFolders() throws {
        let dir = temporaryDirectory(self)
        let list = try write("""
            # VideoMAE-style list
            train/abc.mp4 2

            train/def.mp4 0
            /abs/folder 37 1
            \tframes/x\t12\t2\t
            """, "train.csv", in: dir)
        let data = try VideoDataset.list(file: list, root: "/data/k400", classNames: VideoDataset.numberedClasses(3))
        XCTAssertEqual(data.paths, ["/data/k400/train/abc.mp4", "/data/k400/train/def.mp4", "/abs/folder", "/data/k400/frames/x"])
        XCTAssertEqual(data.labels, [2, 0, 1, 2])
        XCTAssertEqual(data.frameCounts, [nil, nil, 37, 12])
        XCTAssertEqual(data.classNames, ["0", "1", "2"])
        let relative = try VideoDataset.list(file: list, classNames: ["a", "b", "c"])
        XCTAssertEqual(relative.paths[0], (dir as NSString).appendingPathComponent("train/abc.mp4"))
    }

    func testListFileErrorsNameTheLine() throws {
        let dir = temporaryDirectory(self)
        let classes = VideoDataset.numberedClasses(3)
        let fields = try write("a.mp4 1\nb.mp4\n", "fields.txt", in: dir)
        assertError(try VideoDataset.list(file: fields, classNames: classes), mentions: ["\(fields):2", "1 fields", "path label"])
        let label = try write("# c\na.mp4 x\n", "label.txt", in: dir)
        assertError(try VideoDataset.list(file: label, classNames: classes), mentions: ["\(label):2", "'x' is not an integer"])
        let range = try write("a.mp4 1\nb.mp4 3\n", "range.txt", in: dir)
        assertError(try VideoDataset.list(file: range, classNames: classes), mentions: ["\(range):2", "label 3", "0..<3"])
        let frames = try write("a 0 1\n", "frames.txt", in: dir)
        assertError(try VideoDataset.list(file: frames, classNames: classes), mentions: ["\(frames):1", "frame count '0'"])
        let empty = try write("# nothing\n\n", "empty.txt", in: dir)
        assertError(try VideoDataset.list(file: empty, classNames: classes), mentions: [empty, "no video"])
        assertError(try VideoDataset.list(file: dir + "/missing.txt", classNames: classes), mentions: ["missing.txt"])
    }

    func testClassesFile() throws {
        let dir = temporaryDirectory(self)
        XCTAssertEqual(try VideoDataset.classNames(file: try write("abseiling\n\nair drumming\n", "c.txt", in: dir)),
                       ["abseiling", "air drumming"])
        let twice = try write("a\nb\na\n", "twice.txt", in: dir)
        assertError(try VideoDataset.classNames(file: twice), mentions: [twice, "'a' twice"])
    }

    func testSomethingSomethingLabelsAndAnnotations() throws {
        let dir = temporaryDirectory(self)
        let labels = try write("""
            {"Approaching something with your camera": "0", "Pushing something from left to right": "2",
             "Holding something": "1"}
            """, "labels.json", in: dir)
        let names = try SomethingSomethingV2.classNames(labels: labels)
        XCTAssertEqual(names, ["Approaching something with your camera", "Holding something", "Pushing something from left to right"])
        let annotations = try write("""
            [{"id": "78687", "label": "pushing a pen from left to right", "template": "Pushing [something] from left to right",
              "placeholders": ["a pen"]},
             {"id": "42326", "label": "holding a cup", "template": "Holding [something]", "placeholders": ["a cup"]}]
            """, "something-something-v2-validation.json", in: dir)
        let data = try SomethingSomethingV2.dataset(annotations: annotations, videoRoot: "/ssv2/videos", classNames: names)
        XCTAssertEqual(data.paths, ["/ssv2/videos/78687.webm", "/ssv2/videos/42326.webm"])
        XCTAssertEqual(data.labels, [2, 1])
        let frames = try SomethingSomethingV2.dataset(annotations: annotations, videoRoot: "/f", classNames: names, extension: "")
        XCTAssertEqual(frames.paths, ["/f/78687", "/f/42326"])

        let gap = try write(#"{"a": "0", "b": "2"}"#, "gap.json", in: dir)
        assertError(try SomethingSomethingV2.classNames(labels: gap), mentions: [gap, "\"2\"", "0..<2"])
        let test = try write(#"[{"id": "1"}]"#, "something-something-v2-test.json", in: dir)
        assertError(try SomethingSomethingV2.dataset(annotations: test, videoRoot: "/", classNames: names),
                    mentions: [test, "entry 0", "template"])
        let unknown = try write(#"[{"id": "5", "template": "Dropping [something]"}]"#, "unknown.json", in: dir)
        assertError(try SomethingSomethingV2.dataset(annotations: unknown, videoRoot: "/", classNames: names),
                    mentions: [unknown, "id 5", "'Dropping something'"])
    }

    func testKineticsCSV() throws {
        let dir = temporaryDirectory(self)
        let csv = try write("""
            label,youtube_id,time_start,time_end,split
            "zumba",abc-DEF_123,14,24,train
            abseiling,xyz,0,10,train
            zumba,q,7,17,train
            """, "train.csv", in: dir)
        let names = try Kinetics.classNames(csv: csv)
        XCTAssertEqual(names, ["abseiling", "zumba"])
        let data = try Kinetics.dataset(csv: csv, videoRoot: "/k400/train", classNames: names)
        XCTAssertEqual(data.paths, ["/k400/train/abc-DEF_123_000014_000024.mp4", "/k400/train/xyz_000000_000010.mp4",
                                    "/k400/train/q_000007_000017.mp4"])
        XCTAssertEqual(data.labels, [1, 0, 1])
        let nested = try Kinetics.dataset(csv: csv, videoRoot: "/k", classNames: names, classFolders: true)
        XCTAssertEqual(nested.paths[1], "/k/abseiling/xyz_000000_000010.mp4")
        assertError(try Kinetics.dataset(csv: csv, videoRoot: "/k", classNames: ["zumba"]), mentions: [csv, "'abseiling'"])
        let bad = try write("label,youtube_id,time_start,time_end,split\nzumba,abc,x,24,train\n", "bad.csv", in: dir)
        assertError(try Kinetics.rows(csv: bad), mentions: ["\(bad):2", "integer times"])

        for (cls, video) in [("b", "v1.mp4"), ("a", "v2.mp4"), ("a", "v3.mp4")] {
            try FileManager.default.createDirectory(atPath: "\(dir)/folders/\(cls)", withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: "\(dir)/folders/\(cls)/\(video)", contents: Data())
        }
        let folders = try Kinetics.dataset(classFolders: "\(dir)/folders")
        XCTAssertEqual(folders.classNames, ["a", "b"])
        XCTAssertEqual(folders.paths.map { ($0 as NSString).lastPathComponent }, ["v2.mp4", "v3.mp4", "v1.mp4"])
        XCTAssertEqual(folders.labels, [0, 0, 1])
    }

    func testLocatorRecognisesEachLayout() throws {
        let fm = FileManager.default
        let ssv2 = temporaryDirectory(self)
        try fm.createDirectory(atPath: "\(ssv2)/labels", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(ssv2)/videos", withIntermediateDirectories: true)
        _ = try write(#"{"Holding something": "0", "Moving something up": "1"}"#, "labels/labels.json", in: ssv2)
        _ = try write(#"[{"id": "7", "template": "Moving [something] up"}]"#, "labels/something-something-v2-validation.json", in: ssv2)
        XCTAssertEqual(try VideoDatasetLocator.detect(ssv2), .somethingSomething)
        let validation = try VideoDatasetLocator.open(ssv2, split: "validation")
        XCTAssertEqual(validation.paths, ["\(ssv2)/videos/7.webm"])
        XCTAssertEqual(validation.labels, [1])
        assertError(try VideoDatasetLocator.open(ssv2, split: "train"), mentions: [ssv2, "something-something-v2-train.json"])

        let k400 = temporaryDirectory(self)
        let header = "label,youtube_id,time_start,time_end,split\n"
        _ = try write(header + "b,x,1,11,train\na,y,2,12,train\n", "train.csv", in: k400)
        _ = try write(header + "a,z,3,13,validate\n", "validate.csv", in: k400)
        try fm.createDirectory(atPath: "\(k400)/validate/a", withIntermediateDirectories: true)
        XCTAssertEqual(try VideoDatasetLocator.detect(k400), .kinetics)
        let val = try VideoDatasetLocator.open(k400, split: "validate")
        XCTAssertEqual(val.paths, ["\(k400)/validate/a/z_000003_000013.mp4"])
        XCTAssertEqual(val.classNames, ["a", "b"])

        let lists = temporaryDirectory(self)
        _ = try write("v/1 10 4\nv/2 12 0\n", "train.csv", in: lists)
        _ = try write("v/3 9 1\n", "val.csv", in: lists)
        XCTAssertEqual(try VideoDatasetLocator.detect(lists), .list)
        let listed = try VideoDatasetLocator.open(lists, split: "val")
        XCTAssertEqual(listed.paths, ["\(lists)/v/3"])
        XCTAssertEqual(listed.classCount, 5)
        XCTAssertEqual(listed.frameCounts, [9])
        _ = try write("a\nb\n", "classes.txt", in: lists)
        XCTAssertEqual(try VideoDatasetLocator.open(lists, split: "val").classNames, ["a", "b"])

        assertError(try VideoDatasetLocator.detect(temporaryDirectory(self)), mentions: ["not a recognised video dataset"])
    }
}
