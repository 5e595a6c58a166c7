// SegmentationEvaluator: the test loop (resize, whole or sliding-window inference, resize back, argmax, IoUMetric,
// prediction PNGs) with a constant model whose scores are computed by hand.
import XCTest
import Foundation
@testable import SparseTuning

final class SegmentationEvaluatorTests: XCTestCase {
    func testEvaluatorWithAConstantModel() throws {
        let root = temporaryDirectory(self)
        try SegmentationDataTests.writePairs(root, imageDir: "images/val", maskDir: "masks/val", stems: ["a", "b"])
        try "zero\none\ntwo\n".write(toFile: "\(root)/classes.txt", atomically: true, encoding: .utf8)
        let ds = try SegmentationDatasetLocator.open(root, split: "val")
        // A model that always prefers class 0: per image 16 pixels of each class (8×6, labels 0, 1, 2 cycling) →
        // IoU 16/48, 0, 0; mIoU 1/9; aAcc 1/3.
        var shapes: [[Int]] = []
        func constant(_ x: Tensor) -> Tensor {
            shapes.append(x.shape)
            let out = Tensor(zeros: [1, 3, x.shape[2], x.shape[3]])
            for i in 0..<(x.shape[2] * x.shape[3]) { out.data[i] = 1 }
            return out
        }
        for mode in [SegmentationInferenceMode.whole, .slide(try .square(8, stride: 5))] {
            shapes = []
            let out = temporaryDirectory(self)
            let evaluator = SegmentationEvaluator(dataset: ds, mode: mode, scaleLong: 32, scaleShort: 12)
            let r = try evaluator.evaluate(outputDirectory: out, logits: constant)
            XCTAssertEqual(r.miou, 1.0 / 9.0, accuracy: 1e-12)
            XCTAssertEqual(r.aacc, 1.0 / 3.0, accuracy: 1e-12)
            XCTAssertEqual(r.perClassIoU, [1.0 / 3.0, 0, 0])
            XCTAssertEqual(shapes.first, mode == .whole ? [1, 3, 12, 16] : [1, 3, 8, 8])  // 8×6 resized to 16×12
            XCTAssertEqual(shapes.count, mode == .whole ? 1 * 2 : 6 * 2)  // slide: 2 rows × 3 columns per image
            XCTAssertEqual(try LabelMap.read(path: "\(out)/a.png"), LabelMap(width: 8, height: 6, filledWith: 0))
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/b_overlay.png"))
        }
        XCTAssertThrowsError(try SegmentationEvaluator(dataset: ds, mode: .whole).evaluate { _ in Tensor(zeros: [1, 2, 1, 1]) })
    }
}

final class SegmentationPhotometricTests: XCTestCase {
    /// mmseg's PhotoMetricDistortion with fixed choices, computed by numpy + cv2 in the fixture script: the order,
    /// the truncations and the 8-bit HSV round trips. HSV → RGB is within one level of OpenCV per conversion, which
    /// a later contrast may scale, so up to 3 levels are allowed and almost all bytes must agree exactly.
    func testPhotometricDistortionMatchesMmseg() throws {
        let photo = try segmentationFixtures()["photometric"] as! [String: Any]
        let shape = ints(photo["shape"])
        let image = RGBImage(width: shape[1], height: shape[0], pixels: ints(photo["image"]).map(UInt8.init))
        for c in photo["cases"] as! [[String: Any]] {
            let p = c["parameters"] as! [String: Any]
            let parameters = PhotometricDistortion.Parameters(
                brightness: (p["brightness"] as? NSNumber)?.floatValue, contrastFirst: p["contrast_first"] as! Bool,
                contrast: (p["contrast"] as? NSNumber)?.floatValue, saturation: (p["saturation"] as? NSNumber)?.floatValue,
                hue: (p["hue"] as? NSNumber)?.intValue)
            let ours = PhotometricDistortion.apply(image, parameters).pixels.map(Int.init)
            let theirs = ints(c["output"])
            let diffs = zip(ours, theirs).map { abs($0 - $1) }
            XCTAssertLessThanOrEqual(diffs.max()!, 3, "\(p)")
            XCTAssertGreaterThanOrEqual(Double(diffs.filter { $0 == 0 }.count) / Double(diffs.count), 0.9, "\(p)")
        }
        // The draws: every coin and range respected over many generators.
        var hues = Set<Int>(), firsts = 0
        for seed in 0..<400 {
            var rng = SeededGenerator(seed: UInt64(seed))
            let p = PhotometricDistortion.draw(using: &rng)
            if let b = p.brightness { XCTAssertTrue(b >= -32 && b < 32) }
            if let a = p.contrast { XCTAssertTrue(a >= 0.5 && a < 1.5) }
            if let h = p.hue { hues.insert(h) }
            if p.contrastFirst { firsts += 1 }
        }
        XCTAssertEqual(hues, Set(-18..<18))
        XCTAssertTrue((150...250).contains(firsts))
    }
}
