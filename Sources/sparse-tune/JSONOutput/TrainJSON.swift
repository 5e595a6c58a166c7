// `sparse-tune train --json`: the one-line run summary (read back by `demo` and by scripts/).
import SparseTuning

/// The summary `train --json` prints; the `eval_*` keys only when an evaluation split was used.
struct TrainJSON: Codable {
    var method: String
    var epochs: Int
    var steps: Int
    var finalLoss: Double
    var trainAccuracy: Double
    var trainImagesPerSecond: Double
    var seconds: Double
    var peakRSSMB: Double
    var trainableParameters: Int
    var trainableParametersWithoutHead: Int
    var gflops: Double
    var output: String
    var evalTop1: Double?
    var evalTop5: Double?
    var evalImagesPerSecond: Double?
    /// Processes of a data-parallel run (1 alone); rank 0's seconds in the gradient all-reduce and the bytes it
    /// all-reduces per step.
    var worldSize: Int
    var skippedSamples: Int
    var allreduceSeconds: Double
    var allreduceBytesPerStep: Int

    private enum CodingKeys: String, CodingKey {
        case method, epochs, steps, seconds, gflops, output
        case finalLoss = "final_loss", trainAccuracy = "train_accuracy", trainImagesPerSecond = "train_images_per_s"
        case peakRSSMB = "peak_rss_mb", trainableParameters = "trainable_parameters"
        case trainableParametersWithoutHead = "trainable_parameters_without_head"
        case evalTop1 = "eval_top1", evalTop5 = "eval_top5", evalImagesPerSecond = "eval_images_per_s"
        case skippedSamples = "skipped_samples"
        case worldSize = "world_size", allreduceSeconds = "allreduce_seconds", allreduceBytesPerStep = "allreduce_bytes_per_step"
    }

    init(model vit: TunedViT, summary: TrainingSummary, output: String) {
        method = vit.tuning.method.rawValue
        epochs = summary.epochs
        steps = summary.steps
        finalLoss = summary.finalLoss
        trainAccuracy = summary.trainAccuracy
        trainImagesPerSecond = summary.imagesPerSecond
        seconds = summary.seconds
        peakRSSMB = summary.peakRSSMB
        trainableParameters = vit.trainableCount
        trainableParametersWithoutHead = vit.trainableCountWithoutHead
        gflops = FLOPCounter.count(vit.config, tuning: vit.tuning).gflops
        self.output = output
        evalTop1 = summary.evaluation?.top1
        evalTop5 = summary.evaluation?.top5
        evalImagesPerSecond = summary.evaluation?.imagesPerSecond
        worldSize = summary.worldSize
        skippedSamples = summary.skippedSamples
        allreduceSeconds = summary.allreduceSeconds
        allreduceBytesPerStep = summary.allreduceBytesPerStep
    }
}
