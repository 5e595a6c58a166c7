// MixupCutmix: timm's Mixup/CutMix in 'batch' mode (one λ per batch from Beta(α, α), sample i mixed with sample
// B−1−i, CutMix box by timm's rand_bbox with λ corrected to the box area) and label-smoothed soft targets.

/// timm's `Mixup` with `mode='batch'`, applied in place to a normalised (B, 3, H, W) batch.
///
/// Per batch, as timm's `_params_per_batch`: one uniform decides whether to mix at all (`< prob`); when both
/// alphas are positive a second uniform picks CutMix (`< switchProb`) over Mixup; then λ ~ Beta(α, α) of the chosen
/// method. Mixup: `x ← λ·x + (1−λ)·flip(x)`, flip reversing the batch order. CutMix: a box of side
/// `√(1−λ)`·(H, W) centred uniformly at random (clipped to the image) is copied from the flipped batch and λ is
/// reset to one minus the box's area fraction. Targets: `λ·onehot(y) + (1−λ)·onehot(flip(y))` with label smoothing
/// (off value `smoothing/K`, on value `1 − smoothing + smoothing/K`), so each row sums to 1.
///
/// timm requires an even batch; here an odd batch is accepted and its middle sample is paired with itself.
public struct MixupCutmix: Sendable {
    /// Number of classes K.
    public let classes: Int
    /// Beta parameter of Mixup (0 disables Mixup).
    public let mixupAlpha: Double
    /// Beta parameter of CutMix (0 disables CutMix).
    public let cutmixAlpha: Double
    /// Probability of mixing a batch at all.
    public let prob: Double
    /// Probability of CutMix rather than Mixup when both are enabled.
    public let switchProb: Double
    /// Label smoothing of the targets.
    public let labelSmoothing: Double

    /// What one call did.
    public struct Outcome: Sendable {
        /// Soft targets (B, K); each row sums to 1.
        public let targets: Tensor
        /// The weight of each sample's own label (1 when the batch was not mixed).
        public let lambda: Double
        /// Whether CutMix (rather than Mixup) was applied.
        public let usedCutmix: Bool
        /// The CutMix box (rows/columns replaced from the paired sample), or nil.
        public let box: CropBox?
    }

    /// timm's defaults for complete datasets: Mixup 0.8, CutMix 1.0, prob 1, switch prob 0.5, smoothing 0.1.
    ///
    /// - Throws: ``SparseTuningError`` for fewer than 1 class, negative alphas or both zero, probabilities outside
    ///   [0, 1], or smoothing outside [0, 1).
    public init(classes: Int, mixupAlpha: Double = 0.8, cutmixAlpha: Double = 1.0, prob: Double = 1.0,
                switchProb: Double = 0.5, labelSmoothing: Double = 0.1) throws {
        guard classes >= 1 else { throw SparseTuningError("mixup needs at least 1 class (got \(classes))") }
        guard mixupAlpha >= 0, cutmixAlpha >= 0, mixupAlpha.isFinite, cutmixAlpha.isFinite else {
            throw SparseTuningError("mixup alpha \(mixupAlpha) and cutmix alpha \(cutmixAlpha) must be finite and ≥ 0")
        }
        guard mixupAlpha > 0 || cutmixAlpha > 0 else {
            throw SparseTuningError("mixup and cutmix alphas are both 0: at least one must be positive (or do not use mixing)")
        }
        guard (0...1).contains(prob), (0...1).contains(switchProb) else {
            throw SparseTuningError("mixup prob \(prob) and switch prob \(switchProb) must be in [0, 1]")
        }
        try Self.checkSmoothing(labelSmoothing)
        self.classes = classes
        self.mixupAlpha = mixupAlpha
        self.cutmixAlpha = cutmixAlpha
        self.prob = prob
        self.switchProb = switchProb
        self.labelSmoothing = labelSmoothing
    }

    /// The batch's λ and method, drawn as timm's `_params_per_batch`: λ = 1 means no mixing.
    public func parameters(using rng: inout SeededGenerator) -> (lambda: Double, cutmix: Bool) {
        guard RandomSampling.uniform(&rng) < prob else { return (1, false) }
        if mixupAlpha > 0 && cutmixAlpha > 0 {
            let cutmix = RandomSampling.uniform(&rng) < switchProb
            let alpha = cutmix ? cutmixAlpha : mixupAlpha
            return (RandomSampling.beta(alpha, alpha, &rng), cutmix)
        }
        if mixupAlpha > 0 { return (RandomSampling.beta(mixupAlpha, mixupAlpha, &rng), false) }
        return (RandomSampling.beta(cutmixAlpha, cutmixAlpha, &rng), true)
    }

    /// Mixes `images` (B, 3, H, W) in place and returns the soft targets for `labels`.
    ///
    /// - Throws: ``SparseTuningError`` when `images` is not 4-D, its batch size differs from `labels.count`, or a
    ///   label is outside `0..<classes`.
    public func apply(images: Tensor, labels: [Int], using rng: inout SeededGenerator) throws -> Outcome {
        guard images.shape.count == 4, images.shape[0] == labels.count else {
            throw SparseTuningError(
                "mixup expects images (B, C, H, W) with B = \(labels.count) labels, got \(images.shape)")
        }
        try Self.checkLabels(labels, classes: classes)
        let (drawn, cutmix) = parameters(using: &rng)
        var lambda = drawn
        var box: CropBox?
        if lambda != 1 {
            let b = images.shape[0], height = images.shape[2], width = images.shape[3]
            let sampleCount = images.count / max(b, 1)
            let planes = images.shape[1]
            if cutmix {
                let (cut, corrected) = Self.cutmixBox(height: height, width: width, lambda: lambda, using: &rng)
                lambda = corrected
                box = cut
                if cut.width > 0 && cut.height > 0 {
                    for i in 0..<(b / 2) {
                        let p = images.data + i * sampleCount, q = images.data + (b - 1 - i) * sampleCount
                        for c in 0..<planes {
                            for y in cut.top..<(cut.top + cut.height) {
                                let row = c * height * width + y * width + cut.left
                                for x in 0..<cut.width { swap(&p[row + x], &q[row + x]) }
                            }
                        }
                    }
                }
            } else {
                let own = Float(lambda), other = Float(1 - lambda)
                for i in 0..<((b + 1) / 2) {
                    let p = images.data + i * sampleCount, q = images.data + (b - 1 - i) * sampleCount
                    for k in 0..<sampleCount {
                        let a = p[k], c = q[k]
                        p[k] = a * own + c * other
                        q[k] = c * own + a * other
                    }
                }
            }
        }
        let targets = try Self.mixedTargets(labels, classes: classes, lambda: lambda, smoothing: labelSmoothing)
        return Outcome(targets: targets, lambda: lambda, usedCutmix: cutmix && drawn != 1, box: box)
    }

    /// timm's `rand_bbox` + λ correction for an `height × width` image: cut side `int(H·√(1−λ))`,
    /// `int(W·√(1−λ))`, centre row then column uniform over the image, box clipped to it; returns the box and
    /// `1 − box area / image area`.
    public static func cutmixBox(height: Int, width: Int, lambda: Double,
                                 using rng: inout SeededGenerator) -> (box: CropBox, lambda: Double) {
        let ratio = max(0, 1 - lambda).squareRoot()
        let cutH = Int(Double(height) * ratio), cutW = Int(Double(width) * ratio)
        let cy = RandomSampling.integer(below: height, &rng)
        let cx = RandomSampling.integer(below: width, &rng)
        let y0 = min(max(cy - cutH / 2, 0), height), y1 = min(max(cy + cutH / 2, 0), height)
        let x0 = min(max(cx - cutW / 2, 0), width), x1 = min(max(cx + cutW / 2, 0), width)
        let box = CropBox(top: y0, left: x0, height: y1 - y0, width: x1 - x0)
        let corrected = 1 - Double(box.height * box.width) / Double(height * width)
        return (box, corrected)
    }

    /// One-hot targets (B, K) with label smoothing: `smoothing/K` everywhere and `1 − smoothing + smoothing/K` at
    /// the label (timm's `mixup_target` with λ = 1). Rows sum to 1.
    ///
    /// - Throws: ``SparseTuningError`` for a label outside `0..<classes` or smoothing outside [0, 1).
    public static func smoothedTargets(_ labels: [Int], classes: Int, smoothing: Double) throws -> Tensor {
        try mixedTargets(labels, classes: classes, lambda: 1, smoothing: smoothing)
    }

    /// `λ·smoothed(labels) + (1−λ)·smoothed(reversed labels)`, as timm's `mixup_target`.
    ///
    /// - Throws: ``SparseTuningError`` for a label outside `0..<classes` or smoothing outside [0, 1).
    public static func mixedTargets(_ labels: [Int], classes: Int, lambda: Double, smoothing: Double) throws -> Tensor {
        guard classes >= 1 else { throw SparseTuningError("targets need at least 1 class (got \(classes))") }
        try checkSmoothing(smoothing)
        try checkLabels(labels, classes: classes)
        let off = smoothing / Double(classes), on = 1 - smoothing + off
        let b = labels.count
        let t = Tensor(zeros: [b, classes])
        for i in 0..<b {
            let row = t.data + i * classes
            let own = labels[i], other = labels[b - 1 - i]
            for k in 0..<classes {
                let y1 = k == own ? on : off, y2 = k == other ? on : off
                row[k] = Float(y1 * lambda + y2 * (1 - lambda))
            }
        }
        return t
    }

    private static func checkLabels(_ labels: [Int], classes: Int) throws {
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
            throw SparseTuningError("label \(labels[bad]) of sample \(bad) is outside 0..<\(classes)")
        }
    }

    private static func checkSmoothing(_ smoothing: Double) throws {
        guard smoothing >= 0, smoothing < 1 else {
            throw SparseTuningError("label smoothing \(smoothing) must be in [0, 1)")
        }
    }
}
