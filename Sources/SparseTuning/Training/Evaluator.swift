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
    /// Each scored sample's top-1 class, in scoring order.
    public var predictions: [Int] = []
    /// The index of each entry of ``predictions`` (the source index when images were scored).
    public var sampleIndices: [Int] = []
}

extension EvaluationResult {
    /// Writes one CSV row per scored image, `index,image,label,predicted`, in scoring order, atomically.
    /// - Throws: ``SparseTuningError`` naming `path` on I/O failure.
    public func writePredictionsCSV(to path: String, source: any ImageSource) throws {
        var text = "index,image,label,predicted\n"
        for (i, p) in zip(sampleIndices, predictions) {
            text += "\(i),\(ConfusionMatrix.csvField(source.describe(i))),\(source.label(i)),\(p)\n"
        }
        try AtomicFileWriter.write(text, to: path)
    }
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
        var result = try score(classes: classes) {
            guard let batch = try it.next() else { return nil }
            return (try model.forward(batch.images), batch.labels, batch.indices)
        } progress: { progress?($0, source.count) }
        result.skipped = it.skippedCount
        return result
    }

    /// Scores the model on cached head inputs (every loaded sample, in order): the same figures as
    /// ``evaluate(_:source:batchSize:augmentation:normalization:workers:skipBadImages:progress:)`` on the images.
    public static func evaluate(_ model: TunedViT, cache: FeatureCache, batchSize: Int = 64) throws -> EvaluationResult {
        let classes = model.config.classes
        guard classes > 0 else { throw SparseTuningError("cannot evaluate a model without a head (--classes 0)") }
        var batches = cache.batches(order: Array(cache.loaded.indices), batchSize: batchSize, dropLast: false).makeIterator()
        var result = try score(classes: classes) {
            guard let batch = batches.next() else { return nil }
            return (try model.classify(headInputs: batch.features), batch.labels, batch.indices)
        }
        result.skipped = cache.skipped.count
        return result
    }

    /// Top-1/top-5, mean loss and confusion over the (logits, labels) batches `next` yields until nil.
    static func score(classes: Int, next: () throws -> (logits: Tensor, labels: [Int], indices: [Int])?,
                      progress: ((Int) -> Void)? = nil) throws -> EvaluationResult {
        var confusion = try ConfusionMatrix(classes: classes)
        var n = 0, top1 = 0, top5 = 0
        var lossSum = 0.0
        let start = DispatchTime.now().uptimeNanoseconds
        var predictions: [Int] = [], sampleIndices: [Int] = []
        while let (logits, labels, indices) = try next() {
            predictions += Accuracy.predictions(logits)
            sampleIndices += indices
            let c = try Accuracy.topKCorrect(logits: logits, labels: labels, ks: [1, min(5, classes)])
            top1 += c[0]
            top5 += c[1]
            lossSum += Double(try CrossEntropy.loss(logits: logits, targets: .hard(labels))) * Double(labels.count)
            try confusion.add(logits: logits, labels: labels)
            n += labels.count
            progress?(n)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return EvaluationResult(samples: n, top1: n > 0 ? Double(top1) / Double(n) : 0, top5: n > 0 ? Double(top5) / Double(n) : 0,
                                loss: n > 0 ? lossSum / Double(n) : 0, confusion: confusion,
                                imagesPerSecond: seconds > 0 ? Double(n) / seconds : 0, skipped: 0,
                                predictions: predictions, sampleIndices: sampleIndices)
    }
}
