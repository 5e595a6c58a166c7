// Segmentation math against the fixture script (scripts/fixtures/segmentation_fixtures.py): torch's bilinear
// F.interpolate and its backward, mmseg's slide_inference and post-processing, and mmseg's IoUMetric.
import XCTest
import Foundation
@testable import SparseTuning

/// The parsed fixtures.json of the segmentation fixtures.
func segmentationFixtures() throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: fixturePath("segmentation/fixtures.json")))
    return try JSONSerialization.jsonObject(with: data) as! [String: Any]
}

func floats(_ value: Any?) -> [Float] { (value as! [NSNumber]).map { $0.floatValue } }
func ints(_ value: Any?) -> [Int] { (value as! [NSNumber]).map { $0.intValue } }

final class SegmentationMathTests: XCTestCase {
    func testBilinearResizeMatchesTorchForwardAndBackward() throws {
        let cases = try segmentationFixtures()["bilinear"] as! [[String: Any]]
        XCTAssertEqual(cases.count, 5)
        for c in cases {
            let shape = ints(c["shape"]), size = ints(c["size"]), align = c["align_corners"] as! Bool
            let input = Tensor(shape: shape, values: floats(c["input"]))
            let output = bilinearResize(input, height: size[0], width: size[1], alignCorners: align)
            XCTAssertEqual(output.shape, [shape[0], shape[1], size[0], size[1]])
            assertClose(output.values, floats(c["output"]), atol: 1e-5, rtol: 1e-5, "forward \(shape) → \(size)")
            let grad = Tensor(shape: output.shape, values: floats(c["grad_output"]))
            let gradInput = bilinearResizeBackward(grad, inputHeight: shape[2], inputWidth: shape[3], alignCorners: align)
            XCTAssertEqual(gradInput.shape, shape)
            assertClose(gradInput.values, floats(c["grad_input"]), atol: 1e-4, rtol: 1e-4, "backward \(shape) → \(size)")
        }
    }

    /// The toy model of the fixture script: class c = (c + 1)·image[c % 3] + mean(window channel 0)·(c − 1) + h / 10.
    func toyLogits(_ crop: Tensor, classes k: Int) -> Tensor {
        let (b, h, w) = (crop.shape[0], crop.shape[2], crop.shape[3])
        let out = Tensor(zeros: [b, k, h, w])
        for n in 0..<b {
            var mean: Double = 0
            for i in 0..<(h * w) { mean += Double(crop.data[n * 3 * h * w + i]) }
            mean /= Double(h * w)
            for c in 0..<k {
                for i in 0..<(h * w) {
                    let v = Double(crop.data[(n * 3 + c % 3) * h * w + i])
                    out.data[(n * k + c) * h * w + i] = Float(Double(c + 1) * v + mean * Double(c - 1) + Double(h) / 10)
                }
            }
        }
        return out
    }

    func testSlideInferenceMatchesMmsegWithOverlapsAndShiftedLastWindow() throws {
        let cases = try segmentationFixtures()["slide"] as! [[String: Any]]
        for c in cases {
            let shape = ints(c["image_shape"]), crop = ints(c["crop"]), stride = ints(c["stride"]), k = c["classes"] as! Int
            let window = try SlidingWindow(crop: (crop[0], crop[1]), stride: (stride[0], stride[1]))
            let expectedWindows = (c["windows"] as! [[NSNumber]]).map { $0.map(\.intValue) }
            XCTAssertEqual(window.windows(height: shape[2], width: shape[3]).map { [$0.y1, $0.y2, $0.x1, $0.x2] }, expectedWindows)
            let image = Tensor(shape: shape, values: floats(c["image"]))
            var calls = 0
            let logits = try SegmentationInference.slide(image, window: window) { calls += 1; return toyLogits($0, classes: k) }
            XCTAssertEqual(calls, expectedWindows.count)
            XCTAssertEqual(logits.shape, [1, k, shape[2], shape[3]])
            assertClose(logits.values, floats(c["logits"]), atol: 1e-4, rtol: 1e-4, "slide logits \(shape)")
            let original = ints(c["original"])
            let prediction = SegmentationInference.predict(logits, height: original[0], width: original[1])[0]
            XCTAssertEqual(prediction.labels.map(Int.init), ints(c["prediction"]))
        }
    }

    func testSlideEqualsWholeWhenTheCropCoversTheImage() throws {
        let image = Tensor(shape: [1, 3, 6, 7], values: (0..<126).map { Float(($0 * 37) % 11) - 5 })
        let window = try SlidingWindow(crop: (8, 9), stride: (4, 4))
        XCTAssertEqual(window.windows(height: 6, width: 7).count, 1)
        let slide = try SegmentationInference.slide(image, window: window) { toyLogits($0, classes: 4) }
        let whole = try SegmentationInference.whole(image) { toyLogits($0, classes: 4) }
        XCTAssertEqual(slide.values, whole.values)
    }

    func testSlideRejectsWrongLogitShape() throws {
        let image = Tensor(zeros: [1, 3, 8, 8])
        XCTAssertThrowsError(try SegmentationInference.slide(image, window: try .square(4)) { _ in Tensor(zeros: [1, 2, 3, 3]) })
        XCTAssertThrowsError(try SlidingWindow(crop: (0, 4), stride: (1, 1)))
        XCTAssertEqual(try SlidingWindow.square(512).strideHeight, 341)
    }

    func testMetricsMatchMmsegIoUMetric() throws {
        let cases = try segmentationFixtures()["metrics"] as! [[String: Any]]
        for c in cases {
            var metrics = SegmentationMetrics(classCount: c["classes"] as! Int, ignoreIndex: c["ignore"] as! Int)
            for image in c["images"] as! [[String: Any]] {
                metrics.add(prediction: ints(image["prediction"]).map(Int32.init), label: ints(image["label"]).map(Int32.init))
            }
            XCTAssertEqual(metrics.areaIntersect, ints(c["area_intersect"]).map(Int64.init))
            XCTAssertEqual(metrics.areaUnion, ints(c["area_union"]).map(Int64.init))
            XCTAssertEqual(metrics.areaPredLabel, ints(c["area_pred"]).map(Int64.init))
            XCTAssertEqual(metrics.areaLabel, ints(c["area_label"]).map(Int64.init))
            let r = metrics.result()
            XCTAssertEqual(r.miou, (c["miou"] as! NSNumber).doubleValue, accuracy: 1e-12)
            XCTAssertEqual(r.aacc, (c["aacc"] as! NSNumber).doubleValue, accuracy: 1e-12)
            XCTAssertEqual(r.macc, (c["macc"] as! NSNumber).doubleValue, accuracy: 1e-12)
            let iou = (c["iou"] as! [Any]).map { ($0 as? NSNumber)?.doubleValue }
            XCTAssertEqual(r.perClassIoU.count, iou.count)
            for (a, b) in zip(r.perClassIoU, iou) {
                XCTAssertEqual(a == nil, b == nil)
                if let a, let b { XCTAssertEqual(a, b, accuracy: 1e-12) }
            }
            XCTAssertTrue(iou.contains { $0 == nil } || c["classes"] as! Int == 5)
        }
    }

    func testMetricsHandComputed() {
        // K = 3; label row: 0 0 1 255, prediction: 0 1 1 2 → class 0: I 1 U 2; class 1: I 1 U 2; class 2: absent
        // (its only prediction is under an ignore pixel) → NaN, skipped. mIoU = 0.5, aAcc = 2/3, mAcc = (0.5 + 1)/2.
        var m = SegmentationMetrics(classCount: 3)
        m.add(prediction: [0, 1, 1, 2], label: [0, 0, 1, 255])
        let r = m.result()
        XCTAssertEqual(r.perClassIoU, [0.5, 0.5, nil])
        XCTAssertEqual(r.miou, 0.5)
        XCTAssertEqual(r.aacc, 2.0 / 3.0, accuracy: 1e-15)
        XCTAssertEqual(r.macc, 0.75)
    }
}
