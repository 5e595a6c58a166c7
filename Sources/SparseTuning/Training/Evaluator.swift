// Evaluation of a model on a labelled image source: top-1/top-5 accuracy, mean loss, confusion matrix, speed.
import Foundation

/// The outcome of one evaluation pass.
public struct EvaluationResult: Sendable {
    public var samples: Int
    public var top1: Double
    public var top5: Double
    public var loss: Double
    public var confusion: ConfusionMatrix
    public var imagesPerSecond: Double
    public var skipped: Int
}

public enum Evaluator {
    /// Runs `model` in inference mode over every sample of `source` (in order) and scores it.
    public static func evaluate(_ model: TunedViT, source: any ImageSource, batchSize: Int = 64,
                                augmentation: ImageAugmentation, normalization: Normalization, workers: Int = 2,
                                skipBadImages: Bool = false, progress: ((Int, Int) -> Void)? = nil) throws -> EvaluationResult {
        let classes = model.config.classes
        guard classes > 0 else { throw SparseTuningError("cannot evaluate a model without a head (--classes 0)") }
        if let bad = source.labels.first(where: { $0 < 0 || $0 >= classes }) {
            throw SparseTuningError("the evaluation data has label \(bad) but the model has \(classes) classes")
        }
        let loader = try BatchLoader(source: source, batchSize: batchSize, shuffle: false, augmentation: augmentation,
                                     normalization: normalization, workers: workers, skipBadImages: skipBadImages)
        let it = loader.epoch(0)
        defer { it.cancel() }
        var confusion = try ConfusionMatrix(classes: classes)
        var n = 0, top1 = 0, top5 = 0
        var lossSum = 0.0
        let start = DispatchTime.now().uptimeNanoseconds
        while let batch = try it.next() {
            let logits = try model.forward(batch.images)
            let c = try Accuracy.topKCorrect(logits: logits, labels: batch.labels, ks: [1, min(5, classes)])
            top1 += c[0]
            top5 += c[1]
            lossSum += Double(try CrossEntropy.loss(logits: logits, targets: .hard(batch.labels))) * Double(batch.count)
            try confusion.add(logits: logits, labels: batch.labels)
            n += batch.count
            progress?(n, source.count)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return EvaluationResult(samples: n, top1: n > 0 ? Double(top1) / Double(n) : 0, top5: n > 0 ? Double(top5) / Double(n) : 0,
                                loss: n > 0 ? lossSum / Double(n) : 0, confusion: confusion,
                                imagesPerSecond: seconds > 0 ? Double(n) / seconds : 0, skipped: it.skippedCount)
    }
}
