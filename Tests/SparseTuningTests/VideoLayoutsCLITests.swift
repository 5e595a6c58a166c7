// The dataset layouts users have, through the commands, on real encoded videos (the decoding fixtures copied into
// place): Something-Something v2 (labels.json, the annotation JSONs, <id>.webm VP9 files) and Kinetics-400 (annotation
// CSVs, <youtube_id>_<start>_<end>.mp4 H.264 files). `train` recognises each layout and takes its recipe's clip
// settings; `eval --json` scores with that layout's test views.
import XCTest
import Foundation
@testable import SparseTuning

final class VideoLayoutsCLITests: XCTestCase {
    /// A tiny per-frame model trained from random weights (only `full` may start without a backbone).
    let tiny = ["--method", "full", "--dim", "16", "--depth", "1", "--heads", "2", "--patch", "8", "--image-size", "16",
                "--frames", "4", "--epochs", "1", "--batch", "2", "--threads", "2"]

    func copy(_ fixture: String, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixturePath("video/\(fixture)"), toPath: path)
    }

    func testSomethingSomethingV2Layout() throws {
        let root = temporaryDirectory(self) + "/ssv2"
        let templates = ["Pushing [something] from left to right", "Pushing [something] from right to left"]
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try #"{"Pushing something from left to right": "0", "Pushing something from right to left": "1"}"#
            .write(toFile: "\(root)/labels.json", atomically: true, encoding: .utf8)
        for (split, ids) in [("train", 1...4), ("validation", 5...6)] {
            var entries: [String] = []
            for id in ids {
                try copy("clip_vp9.webm", to: "\(root)/videos/\(id).webm")
                entries.append(#"{"id": "\#(id)", "label": "pushing a pen", "template": "\#(templates[id % 2])", "placeholders": ["a pen"]}"#)
            }
            try ("[" + entries.joined(separator: ", ") + "]").write(toFile: "\(root)/something-something-v2-\(split).json",
                                                                    atomically: true, encoding: .utf8)
        }
        let task = "\(root)/task.safetensors"
        let (code, _, err) = try runSparseTune(["train", "--data", root, "--output", task] + tiny)
        XCTAssertEqual(code, 0, err)
        XCTAssertTrue(err.contains("somethingSomething") && err.contains("segments(frames: 4)") && err.contains("flip off"), err)
        XCTAssertTrue(err.contains("2×3 views"), err)
        let (c2, out, e2) = try runSparseTune(["eval", "--weights", task, "--data", root, "--json", "--threads", "2"])
        XCTAssertEqual(c2, 0, e2)
        let json = try jsonTree(out)
        XCTAssertEqual(json["samples"]?.int, 2)
        XCTAssertEqual(json["views"]?["count"]?.int, 6)
        XCTAssertNotNil(json["top1"]?.double)
    }

    func testKinetics400Layout() throws {
        let root = temporaryDirectory(self) + "/k400"
        let header = "label,youtube_id,time_start,time_end,split\n"
        var csv: [String: String] = ["train": header, "validate": header]
        for (i, (label, split)) in [("abseiling", "train"), ("air drumming", "train"), ("abseiling", "train"),
                                    ("air drumming", "validate")].enumerated() {
            let yid = "vid\(i)"
            csv[split]! += "\(label),\(yid),1,11,\(split)\n"
            try copy(i % 2 == 0 ? "clip_h264.mp4" : "clip_mpeg4.avi", to: "\(root)/\(split)/\(yid)_000001_000011.mp4")
        }
        for (split, text) in csv { try text.write(toFile: "\(root)/\(split).csv", atomically: true, encoding: .utf8) }
        let task = "\(root)/task.safetensors"
        let (code, _, err) = try runSparseTune(["train", "--data", root, "--output", task, "--frame-stride", "2"] + tiny)
        XCTAssertEqual(code, 0, err)
        XCTAssertTrue(err.contains("kinetics") && err.contains("dense(frames: 4, stride: 2)") && err.contains("flip on"), err)
        let (c2, out, e2) = try runSparseTune(["eval", "--weights", task, "--data", root, "--clips", "3", "--crops", "1",
                                               "--json", "--threads", "2"])
        XCTAssertEqual(c2, 0, e2)
        let json = try jsonTree(out)
        XCTAssertEqual(json["samples"]?.int, 1)
        XCTAssertEqual(json["views"]?["count"]?.int, 3)
    }
}
