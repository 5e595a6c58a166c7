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
