// Multi-view evaluation of a video model (docs/VIDEO.md, "Views and evaluation"): each video's clips × crops views
// through the model, softmax averaged, scored as one sample — with the same figures as image evaluation (top-1,
// top-5, mean loss of the averaged probabilities, confusion, per-video predictions).
import Foundation

extension Evaluator {
    /// Runs `model` over every video of `videos` with the views of `settings` and scores the averaged predictions.
    /// `progress(done, total)` is called after each video.
    public static func evaluate(_ model: TunedViT, videos: VideoDataset, settings: VideoTaskSettings, size: Int,
                                normalization: Normalization, workers: Int = 2, skipBadVideos: Bool = false,
                                frameTemplate: String? = nil, viewBatch: Int? = nil,
                                progress: ((Int, Int) -> Void)? = nil) throws -> EvaluationResult {
        let classes = model.config.classes
        guard classes > 0 else { throw SparseTuningError("cannot evaluate a model without a head (--classes 0)") }
        guard videos.classCount == classes else {
            throw SparseTuningError("the evaluation videos have \(videos.classCount) classes but the model has \(classes)")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let views = try settings.views()
        var viewsDone = 0
        let result = try VideoEvaluator.evaluate(dataset: videos, sampling: settings.sampling, views: views,
                                                 size: size, normalization: normalization, viewBatch: viewBatch,
                                                 workers: workers, skipBadVideos: skipBadVideos, keepPredictions: true,
                                                 frameTemplate: frameTemplate) { clips in
            let logits = try model.forward(clips)  // (v, K)
            viewsDone += clips.shape[0]
            if viewsDone % views.count == 0 { progress?(viewsDone / views.count, videos.count) }
            return logits
        }
        var confusion = try ConfusionMatrix(classes: classes)
        var lossSum = 0.0
        for p in result.predictions {
            try confusion.add(target: p.label, predicted: p.predicted)
            lossSum -= Foundation.log(max(Double(p.probabilities[p.label]), 1e-30))
        }
        let n = result.count
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return EvaluationResult(samples: n, top1: result.top1, top5: result.top5, loss: n > 0 ? lossSum / Double(n) : 0,
                                confusion: confusion, imagesPerSecond: seconds > 0 ? Double(n) / seconds : 0,
                                skipped: result.skipped.count, predictions: result.predictions.map(\.predicted),
                                sampleIndices: result.predictions.map(\.index))
    }
}
