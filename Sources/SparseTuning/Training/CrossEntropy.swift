// Softmax cross-entropy over a batch of logits with hard or soft (mixup) targets and label smoothing, as
// torch's F.cross_entropy (mean reduction): the loss and its gradient with respect to the logits in one pass.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cross-entropy loss of softmax(logits), numerically as `torch.nn.functional.cross_entropy(logits, targets,
/// label_smoothing=ε)` with the default mean reduction.
///
/// For a row x of K logits, log pₖ = xₖ − log Σⱼ exp(xⱼ) (log-sum-exp with the row maximum subtracted, so any
/// finite logits are safe). The smoothed target distribution is
///
///     hard label y:        qₖ = (1 − ε)·[k = y] + ε/K
///     soft target t (B,K): qₖ = (1 − ε)·tₖ + ε/K          (as torch; t need not sum to 1)
///
/// loss = (1/B) Σ_rows −Σₖ qₖ log pₖ, and d loss / d xₖ = (pₖ · Σⱼ qⱼ − qₖ) / B. Row sums are accumulated in
/// double precision.
public enum CrossEntropy {
    /// What each row of logits is compared against.
    public enum Targets {
        /// One class index per row, in 0..<K.
        case hard([Int])
        /// A (B, K) tensor of target weights per row, e.g. mixup/cutmix mixtures.
        case soft(Tensor)
    }

    /// The mean loss over the batch and its gradient with respect to `logits` (a new (B, K) tensor).
    /// - Parameters:
    ///   - logits: (B, K), B ≥ 1, K ≥ 1.
    ///   - targets: hard labels (B of them) or soft targets of shape (B, K).
    ///   - labelSmoothing: ε in [0, 1].
    /// - Throws: ``SparseTuningError`` if `logits` is not 2-D or empty, the target count or shape differs, a
    ///   label is outside 0..<K, or ε is outside [0, 1].
    public static func forwardBackward(logits: Tensor, targets: Targets,
                                       labelSmoothing: Float = 0) throws -> (loss: Float, dLogits: Tensor) {
        let (rows, classes) = try validate(logits: logits, targets: targets, labelSmoothing: labelSmoothing)
        let gradient = Tensor(zeros: [rows, classes])
        let loss = compute(logits: logits, targets: targets, labelSmoothing: labelSmoothing, rows: rows,
                           classes: classes, gradient: gradient.data)
        return (loss, gradient)
    }

    /// Hard-label convenience for ``forwardBackward(logits:targets:labelSmoothing:)``.
    public static func forwardBackward(logits: Tensor, labels: [Int],
                                       labelSmoothing: Float = 0) throws -> (loss: Float, dLogits: Tensor) {
        try forwardBackward(logits: logits, targets: .hard(labels), labelSmoothing: labelSmoothing)
    }

    /// The mean loss only (evaluation), same definition and errors as
    /// ``forwardBackward(logits:targets:labelSmoothing:)``.
    public static func loss(logits: Tensor, targets: Targets, labelSmoothing: Float = 0) throws -> Float {
        let (rows, classes) = try validate(logits: logits, targets: targets, labelSmoothing: labelSmoothing)
        return compute(logits: logits, targets: targets, labelSmoothing: labelSmoothing, rows: rows,
                       classes: classes, gradient: nil)
    }

    private static func validate(logits: Tensor, targets: Targets, labelSmoothing: Float) throws -> (Int, Int) {
        guard logits.shape.count == 2, logits.shape[0] >= 1, logits.shape[1] >= 1 else {
            throw SparseTuningError("cross-entropy: logits have shape \(logits.shape), expected (batch, classes) "
                + "with both at least 1")
        }
        let rows = logits.shape[0], classes = logits.shape[1]
        guard labelSmoothing >= 0, labelSmoothing <= 1 else {
            throw SparseTuningError("cross-entropy: label smoothing \(labelSmoothing) is outside [0, 1]")
        }
        switch targets {
        case .hard(let labels):
            guard labels.count == rows else {
                throw SparseTuningError("cross-entropy: \(labels.count) labels for a batch of \(rows)")
            }
            if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
                throw SparseTuningError("cross-entropy: label \(labels[bad]) of sample \(bad) is outside "
                    + "0..<\(classes)")
            }
        case .soft(let soft):
            guard soft.shape == logits.shape else {
                throw SparseTuningError("cross-entropy: soft targets have shape \(soft.shape), expected "
                    + "\(logits.shape) like the logits")
            }
        }
        return (rows, classes)
    }

    /// Loss (mean over rows) and, when `gradient` is given, d loss / d logits written there.
    private static func compute(logits: Tensor, targets: Targets, labelSmoothing: Float, rows: Int, classes: Int,
                                gradient: UnsafeMutablePointer<Float>?) -> Float {
        let epsilon = shortestDecimal(labelSmoothing)
        let uniform = epsilon / Double(classes), keep = 1 - epsilon
        let inverseRows = 1 / Double(rows)
        var total = 0.0
        var q = [Double](repeating: 0, count: classes)
        for r in 0..<rows {
            let x = logits.data + r * classes
            // Smoothed target row.
            switch targets {
            case .hard(let labels):
                for k in 0..<classes { q[k] = uniform }
                q[labels[r]] += keep
            case .soft(let soft):
                let t = soft.data + r * classes
                for k in 0..<classes { q[k] = keep * Double(t[k]) + uniform }
            }
            var top = -Double.infinity
            for k in 0..<classes { top = max(top, Double(x[k])) }
            var sum = 0.0
            for k in 0..<classes { sum += exp(Double(x[k]) - top) }
            let logSumExp = top + log(sum)
            var rowLoss = 0.0, mass = 0.0
            for k in 0..<classes {
                rowLoss -= q[k] * (Double(x[k]) - logSumExp)
                mass += q[k]
            }
            total += rowLoss
            if let g = gradient?.advanced(by: r * classes) {
                for k in 0..<classes {
                    let p = exp(Double(x[k]) - logSumExp)
                    g[k] = Float((p * mass - q[k]) * inverseRows)
                }
            }
        }
        return Float(total * inverseRows)
    }
}
