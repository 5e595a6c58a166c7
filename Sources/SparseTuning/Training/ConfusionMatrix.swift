// A K×K confusion matrix of evaluation results: counts by (true class, predicted class), overall and per-class
// accuracy, and a CSV export with class names, written atomically.

/// Counts of (true class, predicted class) pairs over an evaluation.
public struct ConfusionMatrix: Sendable, Equatable {
    /// K, the number of classes.
    public let classes: Int
    /// Row-major K×K counts: `counts[t * K + p]` samples of true class t were predicted as p.
    public private(set) var counts: [Int]

    /// An all-zero matrix.
    /// - Throws: ``SparseTuningError`` if `classes` < 1.
    public init(classes: Int) throws {
        guard classes >= 1 else { throw SparseTuningError("confusion matrix: \(classes) classes, expected at least 1") }
        self.classes = classes
        counts = [Int](repeating: 0, count: classes * classes)
    }

    /// Samples of true class `target` predicted as `predicted`.
    public subscript(target: Int, predicted: Int) -> Int {
        counts[target * classes + predicted]
    }

    /// Counts one sample.
    /// - Throws: ``SparseTuningError`` if either class is outside 0..<K.
    public mutating func add(target: Int, predicted: Int) throws {
        for (what, value) in [("true", target), ("predicted", predicted)] where value < 0 || value >= classes {
            throw SparseTuningError("confusion matrix: \(what) class \(value) is outside 0..<\(classes)")
        }
        counts[target * classes + predicted] += 1
    }

    /// Counts a batch: the arg-max of each row of `logits` (see ``Accuracy/predictions(_:)``) against `labels`.
    /// - Throws: ``SparseTuningError`` if `logits` is not (B, K) with this K, the label count is not B, or a label
    ///   is out of range (nothing is counted then).
    public mutating func add(logits: Tensor, labels: [Int]) throws {
        guard logits.shape.count == 2, logits.shape[1] == classes else {
            throw SparseTuningError("confusion matrix: logits have shape \(logits.shape), expected (batch, \(classes))")
        }
        guard labels.count == logits.shape[0] else {
            throw SparseTuningError("confusion matrix: \(labels.count) labels for a batch of \(logits.shape[0])")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
            throw SparseTuningError("confusion matrix: label \(labels[bad]) of sample \(bad) is outside 0..<\(classes)")
        }
        for (label, predicted) in zip(labels, Accuracy.predictions(logits)) { counts[label * classes + predicted] += 1 }
    }

    /// Adds another matrix's counts (e.g. from another shard of the evaluation).
    /// - Throws: ``SparseTuningError`` if the class counts differ.
    public mutating func merge(_ other: ConfusionMatrix) throws {
        guard other.classes == classes else {
            throw SparseTuningError("confusion matrix: cannot merge \(other.classes) classes into \(classes)")
        }
        for i in counts.indices { counts[i] += other.counts[i] }
    }

    /// All samples counted.
    public var total: Int { counts.reduce(0, +) }
    /// Samples on the diagonal.
    public var correct: Int { (0..<classes).reduce(0) { $0 + counts[$1 * classes + $1] } }
    /// correct / total (0 when empty).
    public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }
    /// Samples whose true class is `target` (the row sum).
    public func support(_ target: Int) -> Int { counts[(target * classes)..<((target + 1) * classes)].reduce(0, +) }

    /// Per true class, the fraction predicted correctly (recall); nil for a class with no samples.
    public var perClassAccuracy: [Double?] {
        (0..<classes).map { t in
            let n = support(t)
            return n == 0 ? nil : Double(counts[t * classes + t]) / Double(n)
        }
    }

    /// The mean of ``perClassAccuracy`` over classes that have samples (balanced accuracy); nil when empty.
    public var meanPerClassAccuracy: Double? {
        let present = perClassAccuracy.compactMap { $0 }
        return present.isEmpty ? nil : present.reduce(0, +) / Double(present.count)
    }

    /// The matrix as CSV (RFC 4180, `\n` line ends). Header: `true\predicted`, the K class names, `total`,
    /// `accuracy`; then one row per true class: its name, the K counts, its sample count and its accuracy
    /// (empty when it has no samples). Names containing a comma, quote or line break are quoted.
    /// - Parameter classNames: K names; nil uses the indices "0", "1", ….
    /// - Throws: ``SparseTuningError`` if `classNames` does not have K entries.
    public func csv(classNames: [String]? = nil) throws -> String {
        let names = classNames ?? (0..<classes).map(String.init)
        guard names.count == classes else {
            throw SparseTuningError("confusion matrix: \(names.count) class names for \(classes) classes")
        }
        let quoted = names.map(ConfusionMatrix.csvField)
        var out = (["true\\predicted"] + quoted + ["total", "accuracy"]).joined(separator: ",") + "\n"
        let accuracies = perClassAccuracy
        for t in 0..<classes {
            let row = counts[(t * classes)..<((t + 1) * classes)].map(String.init)
            out += ([quoted[t]] + row + [String(support(t)), accuracies[t].map { "\($0)" } ?? ""])
                .joined(separator: ",") + "\n"
        }
        return out
    }

    /// Writes ``csv(classNames:)`` to `path` atomically (a temporary file renamed over `path`).
    /// - Throws: ``SparseTuningError`` naming `path` on I/O failure, or as ``csv(classNames:)``.
    public func writeCSV(to path: String, classNames: [String]? = nil) throws {
        let text = try csv(classNames: classNames)
        try AtomicFileWriter.write(text, to: path)
    }

    /// A CSV field, quoted (with doubled quotes) when it contains a comma, quote or line break.
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return s }
        var field = "\""
        for c in s {
            if c == "\"" { field += "\"\"" } else { field.append(c) }
        }
        return field + "\""
    }
}
