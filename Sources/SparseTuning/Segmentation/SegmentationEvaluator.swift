// SegmentationEvaluator: mmseg's test loop over a SegmentationDataset — keep-ratio resize, normalisation, whole or
// sliding-window inference through a logits closure, resize back to the original size, argmax, IoUMetric — with
// optional prediction PNGs (indexed colour) and overlays.
import Foundation

/// How logits are computed for an evaluation image (mmseg's `test_cfg.mode`).
public enum SegmentationInferenceMode: Sendable, Equatable {
    /// One call on the whole resized image.
    case whole
    /// Sliding windows over the resized image.
    case slide(SlidingWindow)
}

/// Evaluates a model, given as a logits closure, on a segmentation split.
public struct SegmentationEvaluator: Sendable {
    public let dataset: SegmentationDataset
    public let mode: SegmentationInferenceMode
    /// The test Resize scale (long, short) (mmseg's ADE20K: 2048, 512).
    public let scaleLong: Int, scaleShort: Int
    public let normalization: Normalization

    public init(dataset: SegmentationDataset, mode: SegmentationInferenceMode, scaleLong: Int = 2048, scaleShort: Int = 512,
                normalization: Normalization = .imagenet) {
        self.dataset = dataset
        self.mode = mode
        self.scaleLong = scaleLong
        self.scaleShort = scaleShort
        self.normalization = normalization
    }

    /// Runs every sample (or the first `limit`): `logits` maps a normalised image (1, 3, h, w) to (1, K, h, w).
    /// With `outputDirectory`, writes `<stem>.png` (indexed-colour prediction) and `<stem>_overlay.png` per image.
    ///
    /// - Throws: the dataset's errors (naming the file), the closure's, or a write error.
    public func evaluate(limit: Int? = nil, outputDirectory: String? = nil,
                         logits: (Tensor) throws -> Tensor) throws -> SegmentationScores {
        var metrics = SegmentationMetrics(classCount: dataset.classCount, ignoreIndex: Int(dataset.ignoreIndex))
        if let outputDirectory {
            do {
                try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
            } catch {
                throw SparseTuningError("cannot create output folder '\(outputDirectory)': \(error.localizedDescription)")
            }
        }
        for index in 0..<min(limit ?? dataset.count, dataset.count) {
            let (image, labels) = try dataset.load(index)
            let prediction = try predict(image, logits: logits)
            metrics.add(prediction: prediction, label: labels)
            if let outputDirectory {
                let stem = ((dataset.imagePaths[index] as NSString).lastPathComponent as NSString).deletingPathExtension
                let base = (outputDirectory as NSString).appendingPathComponent(stem)
                try SegmentationPalette.writeIndexedPNG(prediction, palette: dataset.palette, to: base + ".png")
                try SegmentationPalette.writeOverlayPNG(image, prediction: prediction, palette: dataset.palette,
                                                        to: base + "_overlay.png")
            }
        }
        return metrics.result()
    }

    /// The prediction (H, W) for one original image.
    public func predict(_ image: RGBImage, logits: (Tensor) throws -> Tensor) throws -> LabelMap {
        let input = SegmentationBatch.evaluationInput(image, long: scaleLong, short: scaleShort,
                                                      normalization: normalization)  // (1, 3, h, w)
        let out: Tensor  // (1, K, h, w)
        switch mode {
        case .whole: out = try SegmentationInference.whole(input, logits: logits)
        case .slide(let window): out = try SegmentationInference.slide(input, window: window, logits: logits)
        }
        guard out.shape.count == 4, out.shape[0] == 1, out.shape[1] == dataset.classCount,
              out.shape[2] == input.shape[2], out.shape[3] == input.shape[3] else {
            throw SparseTuningError("model logits have shape \(out.shape); expected (1, \(dataset.classCount), "
                                    + "\(input.shape[2]), \(input.shape[3]))")
        }
        return SegmentationInference.predict(out, height: image.height, width: image.width)[0]
    }
}
