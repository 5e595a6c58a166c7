// `train --json` and `eval --json` of segmentation tasks: mIoU, aAcc (fractions), per-class IoU, throughput, FLOPs.
import SparseTuning

/// What `eval --json` prints for a segmentation task: top-level `miou`, `aacc` (fractions) and `per_class_iou`.
struct SegmentationEvalJSON: Encodable {
    var miou: Double, aacc: Double, macc: Double
    var perClassIoU: [Nullable<Double>]
    var classNames: [String]
    var images: Int
    var mode: String
    var imagesPerSecond: Double
    var gflops: Double

    private enum CodingKeys: String, CodingKey {
        case miou, aacc, macc, images, mode, gflops
        case perClassIoU = "per_class_iou", classNames = "class_names", imagesPerSecond = "images_per_s"
    }

    init(scores: SegmentationScores, classNames: [String], images: Int, mode: SegmentationInferenceMode, seconds: Double, gflops: Double) {
        miou = scores.miou
        aacc = scores.aacc
        macc = scores.macc
        perClassIoU = scores.perClassIoU.map { Nullable($0) }
        self.classNames = classNames
        self.images = images
        switch mode {
        case .whole: self.mode = "whole"
        case .slide(let w): self.mode = "slide \(w.cropHeight)x\(w.cropWidth) stride \(w.strideHeight)x\(w.strideWidth)"
        }
        imagesPerSecond = Double(images) / max(seconds, 1e-9)
        self.gflops = gflops
    }
}

/// What `train --json` prints for a segmentation run (one line).
struct SegmentationTrainJSON: Encodable {
    var method: String, head: String, restore: String
    var iterations: Int
    var finalLoss: Double
    var miou: Double?, aacc: Double?
    var trainImagesPerSecond: Double, seconds: Double, peakRSSMB: Double
    var trainableParameters: Int
    var gflops: Double, gflopsBackbone: Double, gflopsHead: Double
    var skippedSamples: Int
    var output: String

    private enum CodingKeys: String, CodingKey {
        case method, head, restore, iterations, miou, aacc, seconds, gflops, output
        case finalLoss = "final_loss", trainImagesPerSecond = "train_images_per_s", peakRSSMB = "peak_rss_mb"
        case trainableParameters = "trainable_parameters", gflopsBackbone = "gflops_backbone", gflopsHead = "gflops_head"
        case skippedSamples = "skipped_samples"
    }

    init(summary: SegmentationTrainingSummary, model: SegmentationModel, flops: (trunk: FLOPReport, head: Int), output: String) {
        method = model.trunk.tuning.method.rawValue
        head = model.settings.head.rawValue
        restore = model.settings.restore.rawValue
        iterations = summary.iterations
        finalLoss = summary.finalLoss
        miou = summary.evaluation?.miou
        aacc = summary.evaluation?.aacc
        trainImagesPerSecond = summary.imagesPerSecond
        seconds = summary.seconds
        peakRSSMB = summary.peakRSSMB
        trainableParameters = model.trainable.reduce(0) { $0 + $1.value.count }
        gflopsBackbone = flops.trunk.gflops
        gflopsHead = Double(flops.head) / 1e9
        gflops = gflopsBackbone + gflopsHead
        skippedSamples = summary.skippedSamples
        self.output = output
    }
}
