// VideoEvaluator: multi-view evaluation of a video classifier — every view (clips × crops) of each video through a
// caller's logits function, softmax per view, probabilities averaged over the views, top-1 / top-5 of the average.
import Foundation

/// One video's averaged prediction.
public struct VideoPrediction: Sendable, Equatable {
    /// Index of the video in the dataset.
    public let index: Int
    /// Its label.
    public let label: Int
    /// The class of highest mean probability (the lowest index among ties).
    public let predicted: Int
    /// The mean over views of the softmax probabilities (K).
    public let probabilities: [Float]
}

/// The outcome of a multi-view evaluation.
public struct VideoEvaluationResult: Sendable {
    /// Fraction of scored videos whose label is the top-1 class.
    public let top1: Double
    /// Fraction of scored videos whose label is among the 5 most probable classes (all K when K < 5).
    public let top5: Double
    /// Videos scored (the dataset minus skipped ones).
    public let count: Int
    /// The views per video.
    public let views: VideoViews
    /// Videos left out because they could not be loaded (with `skipBadVideos`).
    public let skipped: [SkippedImage]
    /// Each scored video's prediction in dataset order (empty unless asked for).
    public let predictions: [VideoPrediction]
}

/// Scores a video classifier on every view of every video.
public enum VideoEvaluator {
    /// Loads each video's V = clips × crops views as one (V, T, 3, S, S) tensor (on the loader's threads), passes
    /// them to `logits` in chunks of at most `viewBatch` views (→ (v, K)), takes the softmax of each view's logits,
    /// averages the V probability vectors and ranks the classes of the average.
    ///
    /// - Parameters:
    ///   - views: test views (default Kinetics' 5×3; SSv2 2×3).
    ///   - viewBatch: views per `logits` call (nil: all V of a video at once).
    ///   - skipBadVideos: leave out videos that cannot be read (recorded in the result) instead of failing.
    ///   - keepPredictions: return each video's ``VideoPrediction``.
    ///   - frameTemplate: the frame file template of frame folders (nil: detected per folder).
    ///
    /// Memory: up to about 2·`workers` + 3 videos' views are held at once, each V·T·3·S² floats (15 views of 16
    /// frames at 224: 144 MB), so lower `workers` (or the views) on small machines.
    /// - Throws: the first unreadable video's ``SparseTuningError`` (without `skipBadVideos`), an error when every
    ///   video was skipped, when `logits` returns a shape other than (v, K) or K differs from the dataset's classes,
    ///   or whatever `logits` throws.
    public static func evaluate(dataset: VideoDataset, sampling: ClipSampling, views: VideoViews = .kinetics, size: Int,
                                normalization: Normalization, viewBatch: Int? = nil, workers: Int = 2,
                                skipBadVideos: Bool = false, keepPredictions: Bool = false, frameTemplate: String? = nil,
                                logits: (Tensor) throws -> Tensor) throws -> VideoEvaluationResult {
        let samples = try VideoViewSamples(dataset: dataset, sampling: sampling, views: views, size: size,
                                           normalization: normalization, frameTemplate: frameTemplate)
        let chunk = max(1, min(viewBatch ?? views.count, views.count))
        let loader = try BatchLoader(samples: samples, batchSize: 1, shuffle: false, workers: workers,
                                     prefetch: 2, skipBadImages: skipBadVideos)
        let viewShape = Array(samples.sampleShape.dropFirst())  // (T, 3, S, S)
        let viewFloats = viewShape.reduce(1, *)
        let k = dataset.classCount
        var top1 = 0, top5 = 0, count = 0, predictions: [VideoPrediction] = []
        let epoch = loader.epoch(0)
        while let batch = try epoch.next() {
            let all = batch.images  // (1, V, T, 3, S, S)
            var mean = [Float](repeating: 0, count: k)  // (K)
            var start = 0
            while start < views.count {
                let v = min(chunk, views.count - start)
                let input = Tensor(uninitialized: [v] + viewShape)  // (v, T, 3, S, S)
                input.data.update(from: all.data + start * viewFloats, count: v * viewFloats)
                let out = try logits(input)  // (v, K)
                guard out.shape == [v, k] else {
                    throw SparseTuningError("the logits of \(v) views have shape \(out.shape); expected [\(v), \(k)] "
                                            + "(\(k) classes in the dataset)")
                }
                for row in 0..<v { addSoftmax(out.data + row * k, count: k, into: &mean) }
                start += v
            }
            for c in 0..<k { mean[c] /= Float(views.count) }
            let ranked = (0..<k).sorted { mean[$0] > mean[$1] || (mean[$0] == mean[$1] && $0 < $1) }
            let label = batch.labels[0]
            if ranked[0] == label { top1 += 1 }
            if ranked.prefix(5).contains(label) { top5 += 1 }
            count += 1
            if keepPredictions {
                predictions.append(VideoPrediction(index: batch.indices[0], label: label, predicted: ranked[0], probabilities: mean))
            }
        }
        guard count > 0 else { throw SparseTuningError("no video could be evaluated: all \(dataset.count) were skipped") }
        return VideoEvaluationResult(top1: Double(top1) / Double(count), top5: Double(top5) / Double(count), count: count,
                                     views: views, skipped: epoch.skipped, predictions: predictions)
    }

    /// Adds softmax(`logits`) (computed in Double, max-subtracted) to `sum`.
    private static func addSoftmax(_ logits: UnsafePointer<Float>, count k: Int, into sum: inout [Float]) {
        var top = -Double.infinity
        for c in 0..<k { top = max(top, Double(logits[c])) }
        var exps = [Double](repeating: 0, count: k)  // (K)
        var total = 0.0
        for c in 0..<k {
            exps[c] = Foundation.exp(Double(logits[c]) - top)
            total += exps[c]
        }
        for c in 0..<k { sum[c] += Float(exps[c] / total) }
    }
}
