// Frozen-feature cache: the head inputs of every sample of a source, computed once with the frozen backbone (the
// pipeline must be deterministic: no augmentation), then served in the batches the loader would have formed.
import Foundation

/// Head inputs (N, C) of every sample of an image source (see ``TunedViT/headInputs(_:)``).
public final class FeatureCache {
    /// (N, C), row i for sample i (zeros for a sample that failed to load).
    public let features: Tensor
    /// Whether sample i loaded (false: skipped with `skipBadImages`).
    public let loaded: [Bool]
    /// Samples that failed to load.
    public let skipped: [SkippedImage]
    let labels: [Int]

    /// Runs `model` once over `source` in order, through the same loader (augmentation, normalisation, skipping)
    /// as training would. `progress(done, total)` reports the samples done.
    public init(model: TunedViT, source: any ImageSource, batchSize: Int, augmentation: ImageAugmentation,
                normalization: Normalization, workers: Int, skipBadImages: Bool,
                progress: ((Int, Int) -> Void)? = nil) throws {
        let c = model.config.headWidth, n = source.count
        let loader = try BatchLoader(source: source, batchSize: batchSize, shuffle: false, augmentation: augmentation,
                                     normalization: normalization, workers: workers, skipBadImages: skipBadImages)
        let features = Tensor(zeros: [n, c])  // (N, W) head inputs, W = config.headWidth
        var loaded = [Bool](repeating: false, count: n)
        let it = loader.epoch(0)
        defer { it.cancel() }
        var done = 0
        while let batch = try it.next() {
            let f = try model.headInputs(batch.images)  // (B, C)
            for (row, index) in batch.indices.enumerated() {
                (features.data + index * c).update(from: f.data + row * c, count: c)
                loaded[index] = true
            }
            done += batch.count
            progress?(done, n)
        }
        self.features = features
        self.loaded = loaded
        self.skipped = it.skipped
        self.labels = source.labels
    }

    /// One batch of cached features: (B, C), labels, and its sample indices.
    public struct Batch {
        public let features: Tensor
        public let labels: [Int]
        public let indices: [Int]
    }

    /// The batches of `order` as the batch loader groups them: loaded samples in order, `batchSize` at a time,
    /// the last partial batch dropped when `dropLast`.
    public func batches(order: [Int], batchSize: Int, dropLast: Bool) -> [Batch] {
        let c = features.shape[1]
        let usable = order.filter { loaded[$0] }
        var out: [Batch] = []
        var start = 0
        while start < usable.count {
            let indices = Array(usable[start..<min(start + batchSize, usable.count)])
            if indices.count < batchSize && dropLast { break }
            let f = Tensor(uninitialized: [indices.count, c])  // (B, C)
            for (row, i) in indices.enumerated() { (f.data + row * c).update(from: features.data + i * c, count: c) }
            out.append(Batch(features: f, labels: indices.map { labels[$0] }, indices: indices))
            start += batchSize
        }
        return out
    }
}
