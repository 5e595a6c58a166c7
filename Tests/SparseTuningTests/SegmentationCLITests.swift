// Segmentation through the commands on the ADE20K layout (ADEChallengeData2016/images|annotations/training|validation,
// label 0 → ignore, 1…150 → 0…149): train (linear and UPerNet heads), eval --json (miou, aacc, per_class_iou; whole
// and sliding-window), segment (palette PNG + overlay), and bad masks named with their file and value.
import XCTest
import Foundation
@testable import SparseTuning

final class SegmentationCLITests: XCTestCase {
    let tiny = ["--method", "full", "--dim", "16", "--heads", "2", "--patch", "8", "--image-size", "64", "--crop-size", "64",
                "--scale", "128,64", "--batch", "2", "--iters", "2", "--warmup-iters", "1", "--threads", "2"]

    /// A tiny ADE20K folder: synthetic shapes (classes 1…3 of SyntheticSegmentation stored as ADE labels 2…4, the
    /// background as 1, a band of 0 = "other" that is ignored).
    func writeADE(_ root: String, training: Int = 4, validation: Int = 2) throws {
        let palette = SegmentationPalette.generic(count: 256)
        for (split, count) in [("training", training), ("validation", validation)] {
            for i in 0..<count {
                let (image, labels) = SyntheticSegmentation.sample(size: 64, seed: UInt64(i + (split == "training" ? 0 : 100)))
                var ade = labels.labels.map { $0 + 1 }
                for x in 0..<64 { ade[x] = 0 }  // the top row is "other"
                let stem = String(format: "ADE_%@_%08d", split == "training" ? "train" : "val", i + 1)
                try FileManager.default.createDirectory(atPath: "\(root)/ADEChallengeData2016/images/\(split)", withIntermediateDirectories: true)
                try FileManager.default.createDirectory(atPath: "\(root)/ADEChallengeData2016/annotations/\(split)", withIntermediateDirectories: true)
                try PNGEncoder.write(image, to: "\(root)/ADEChallengeData2016/images/\(split)/\(stem).jpg")  // PNG bytes: decoded by content
                try SegmentationPalette.writeIndexedPNG(LabelMap(width: 64, height: 64, labels: ade), palette: palette,
                                                        to: "\(root)/ADEChallengeData2016/annotations/\(split)/\(stem).png")
            }
        }
    }

    func testADE20KTrainEvalSegment() throws {
        let dir = temporaryDirectory(self)
        try writeADE(dir)
        let task = "\(dir)/seg.safetensors"
        let (code, out, err) = try runSparseTune(["train", "--data", dir, "--output", task, "--depth", "2", "--head", "linear",
                                                  "--json"] + tiny)
        XCTAssertEqual(code, 0, err)
        XCTAssertTrue(err.contains("150 classes, ade20k"), err)
        let summary = try jsonTree(out)
        XCTAssertEqual(summary["iterations"]?.int, 2)
        XCTAssertNotNil(summary["miou"]?.double)

        for mode in [["--mode", "whole"], ["--mode", "slide", "--slide-crop", "32", "--slide-stride", "16"]] {
            let (c, o, e) = try runSparseTune(["eval", "--weights", task, "--data", dir, "--json", "--threads", "2"] + mode)
            XCTAssertEqual(c, 0, e)
            let json = try jsonTree(o)
            let miou = try XCTUnwrap(json["miou"]?.double), aacc = try XCTUnwrap(json["aacc"]?.double)
            XCTAssertTrue((0...1).contains(miou) && (0...1).contains(aacc), o)
            XCTAssertEqual(json["per_class_iou"]?.array?.count, 150)
            XCTAssertEqual(json["images"]?.int, 2)
        }

        let image = "\(dir)/ADEChallengeData2016/images/validation/ADE_val_00000001.jpg"
        let png = "\(dir)/pred.png"
        let (c2, o2, e2) = try runSparseTune(["segment", "--weights", task, "--image", image, "--out", png, "--overlay", "--threads", "2"])
        XCTAssertEqual(c2, 0, e2)
        XCTAssertTrue(o2.contains(png), o2)
        let prediction = try LabelMap.read(path: png)
        XCTAssertEqual([prediction.width, prediction.height], [64, 64])
        XCTAssertTrue(prediction.labels.allSatisfy { $0 < 150 })
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/pred-overlay.png"))
    }

    func testUPerNetHeadTrainsAndEvaluates() throws {
        let dir = temporaryDirectory(self)
        try writeADE(dir, training: 2, validation: 1)
        let task = "\(dir)/seg.safetensors"
        let (code, out, err) = try runSparseTune(["train", "--data", dir, "--output", task, "--depth", "4", "--head", "upernet",
                                                  "--channels", "8", "--restore", "nearest", "--json"] + tiny)
        XCTAssertEqual(code, 0, err)
        XCTAssertTrue(err.contains("upernet head on blocks 0,1,2,3"), err)
        XCTAssertEqual(try jsonTree(out)["head"]?.string, "upernet")
        let (c2, o2, e2) = try runSparseTune(["eval", "--weights", task, "--data", dir, "--json", "--threads", "2"])
        XCTAssertEqual(c2, 0, e2)
        XCTAssertNotNil(try jsonTree(o2)["miou"]?.double)
    }

    func testBadMasksNameFileAndValue() throws {
        let dir = temporaryDirectory(self)
        try writeADE(dir, training: 2, validation: 1)
        let bad = "\(dir)/ADEChallengeData2016/annotations/training/ADE_train_00000002.png"
        try SegmentationPalette.writeIndexedPNG(LabelMap(width: 32, height: 64, filledWith: 1), palette: SegmentationPalette.generic(count: 256), to: bad)
        let args = ["train", "--data", dir, "--output", "\(dir)/t.safetensors", "--depth", "1"] + tiny
        let (code, _, err) = try runSparseTune(args)
        XCTAssertEqual(code, 1)
        XCTAssertTrue(err.contains("error:") && err.contains("mask 'ADE_train_00000002.png' is 32×64 but image"), err)
        try SegmentationPalette.writeIndexedPNG(LabelMap(width: 64, height: 64, filledWith: 200), palette: SegmentationPalette.generic(count: 256), to: bad)
        let (c2, _, e2) = try runSparseTune(args)
        XCTAssertEqual(c2, 1)
        XCTAssertTrue(e2.contains("label 200 in 'ADE_train_00000002.png' (199 after reduce-zero-label) is outside 0..<150"), e2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/t.safetensors"))
    }
}

/// Segmentation training resumes exactly: 4 iterations in one run equal 2, then 2 more from the resume state.
final class SegmentationResumeTests: XCTestCase {
    func testStopAndResumeIsBitExact() throws {
        let dir = temporaryDirectory(self)
        try SyntheticSegmentation.write(to: "\(dir)/d", splits: [("train", 8), ("val", 2)], size: 32, seed: 3)
        let args = ["train", "--method", "full", "--dim", "16", "--depth", "2", "--heads", "2", "--patch", "8", "--image-size", "32",
                    "--data", "\(dir)/d", "--crop-size", "32", "--scale", "64,32", "--batch", "2", "--iters", "4",
                    "--warmup-iters", "1", "--eval-every", "2", "--threads", "2", "--workers", "0"]
        XCTAssertEqual(try runSparseTune(args + ["--output", "\(dir)/a.safetensors"]).0, 0)
        XCTAssertEqual(try runSparseTune(args + ["--output", "\(dir)/b.safetensors", "--stop-after", "2"]).0, 0)
        let (code, _, err) = try runSparseTune(args + ["--output", "\(dir)/b.safetensors", "--resume"])
        XCTAssertEqual(code, 0, err)
        XCTAssertTrue(err.contains("resumed from") && err.contains("at iteration 2"), err)
        let a = try Checkpoint.load("\(dir)/a.safetensors").tensors, b = try Checkpoint.load("\(dir)/b.safetensors").tensors
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for (name, t) in a { assertBitIdentical(t.values, b[name]!.values, name) }
    }
}
