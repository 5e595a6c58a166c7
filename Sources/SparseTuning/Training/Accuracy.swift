// Classification accuracy from logits: arg-max predictions and top-k hit counts with a deterministic tie rule.

/// Top-k accuracy helpers over a (B, K) batch of logits.
///
/// Ties are broken by class index, lower first (as docs/METHOD.md §2 does for token scores): the rank of class y in a
/// row is the number of classes with a larger logit plus the number with an equal logit and a lower index. A label
/// is a top-k hit when its rank is below k. A NaN logit for the label is never a hit.
public enum Accuracy {
    /// The arg-max class of each row (lowest index among equal maxima; NaN entries are skipped, and an all-NaN
    /// row predicts class 0).
    /// - Precondition: `logits` is (B, K) with K ≥ 1.
    public static func predictions(_ logits: Tensor) -> [Int] {
        precondition(logits.shape.count == 2 && logits.shape[1] >= 1, "predictions: logits \(logits.shape) are not (B, K)")
        let rows = logits.shape[0], classes = logits.shape[1]
        return (0..<rows).map { r in
            let x = logits.data + r * classes
            var best = 0
            for k in 1..<classes where x[k] > x[best] || (x[best].isNaN && !x[k].isNaN) { best = k }
            return best
        }
    }

    /// The rank of class `label` in one row of `classes` logits (0 = the top prediction).
    static func rank(_ x: UnsafePointer<Float>, classes: Int, label: Int) -> Int {
        let value = x[label]
        if value.isNaN { return classes }
        var rank = 0
        for k in 0..<classes where x[k] > value || (x[k] == value && k < label) { rank += 1 }
        return rank
    }

    /// For each k in `ks`, how many rows have their label among the k highest logits.
    /// - Throws: ``SparseTuningError`` if `logits` is not (B, K), the label count is not B, a label is outside
    ///   0..<K, or a k is below 1.
    public static func topKCorrect(logits: Tensor, labels: [Int], ks: [Int]) throws -> [Int] {
        guard logits.shape.count == 2, logits.shape[1] >= 1 else {
            throw SparseTuningError("accuracy: logits have shape \(logits.shape), expected (batch, classes)")
        }
        let rows = logits.shape[0], classes = logits.shape[1]
        guard labels.count == rows else {
            throw SparseTuningError("accuracy: \(labels.count) labels for a batch of \(rows)")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
            throw SparseTuningError("accuracy: label \(labels[bad]) of sample \(bad) is outside 0..<\(classes)")
        }
        if let k = ks.first(where: { $0 < 1 }) {
            throw SparseTuningError("accuracy: top-\(k) requested, k must be at least 1")
        }
        var hits = [Int](repeating: 0, count: ks.count)
        for r in 0..<rows {
            let rank = rank(logits.data + r * classes, classes: classes, label: labels[r])
            for (i, k) in ks.enumerated() where rank < k { hits[i] += 1 }
        }
        return hits
    }

    /// How many rows have their label among the `k` highest logits (k = 1: the arg-max is right).
    public static func correct(logits: Tensor, labels: [Int], topK k: Int = 1) throws -> Int {
        try topKCorrect(logits: logits, labels: labels, ks: [k])[0]
    }

    /// The fraction of rows whose label is among the `k` highest logits (0 for an empty batch).
    public static func accuracy(logits: Tensor, labels: [Int], topK k: Int = 1) throws -> Double {
        let hits = try correct(logits: logits, labels: labels, topK: k)
        return labels.isEmpty ? 0 : Double(hits) / Double(labels.count)
    }

    /// The arg-max class of each row of soft targets (mixup): the label a mixed sample is scored against.
    public static func labels(fromSoftTargets targets: Tensor) -> [Int] {
        predictions(targets)
    }
}
