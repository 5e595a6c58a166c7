// End to end on generated shapes with masks on clutter (SyntheticSegmentation): Sparse-Tuning (frozen backbone, Dense
// Adapters, EViT at κ 0.7, `nearest` restoration, linear head) from the small ViT that `demo --segmentation` pretrains
// (Fixtures/segmentation/shapes_backbone.safetensors, scripts/fixtures/segmentation_backbone.sh), on freshly generated
// images; its mIoU must be far above predicting the most frequent class everywhere.
import XCTest
import Foundation
@testable import SparseTuning

final class SegmentationEndToEndTests: XCTestCase {
    func testSparseTuningLearnsShapesWellAboveChance() throws {
        let dir = temporaryDirectory(self)
        let data = "\(dir)/shapes"
        try SyntheticSegmentation.write(to: data, splits: [("train", 200), ("val", 32)], size: 64, seed: 5)
        // Chance: every pixel the most frequent class (background) — mmseg's formula over the validation masks.
        let val = try SegmentationDatasetLocator.open(data, split: "val")
        var chance = SegmentationMetrics(classCount: val.classCount, ignoreIndex: 255)
        for i in 0..<val.count {
            let (_, labels) = try val.load(i)
            chance.add(prediction: LabelMap(width: labels.width, height: labels.height, filledWith: 0), label: labels)
        }
        let chanceMIoU = chance.result().miou
        let backbone = fixturePath("segmentation/shapes_backbone.safetensors")
        let (code, out, err) = try runSparseTune(["train", "--weights", backbone, "--method", "sparse-tuning", "--restore", "nearest",
                                                  "--data", data, "--iters", "100", "--batch", "8", "--crop-size", "64", "--scale", "256,64",
                                                  "--lr", "2e-3", "--warmup-iters", "10", "--output", "\(dir)/task.safetensors",
                                                  "--threads", "2", "--json"])
        XCTAssertEqual(code, 0, err)
        let miou = try XCTUnwrap(jsonTree(out)["miou"]?.double)
        XCTAssertGreaterThan(miou, chanceMIoU + 0.08, "mIoU \(miou) against \(chanceMIoU) for background everywhere: \(out)")
        XCTAssertLessThan(try XCTUnwrap(jsonTree(out)["gflops"]?.double), 0.0075, "sparsified: below the dense model's 0.0084")
    }
}
