// The optional keep-rate (κ) warm-up of token sparsification (docs/METHOD.md §2): κ = 1 at first, then a cosine from
// 1 down to the target, per iteration, with the formula of EViT's `adjust_keep_rate`.

/// Keep rate κ per training iteration, as EViT's `adjust_keep_rate(iters, epoch, warmup_epochs=start,
/// total_epochs=start + epochs, ITERS_PER_EPOCH, base_keep_rate=target, max_keep_rate=1)`.
///
/// With S steps per epoch, global step i (0-based, across epochs) and epoch e = i / S:
///
///     e < start:             κ = 1                                         (no sparsification yet)
///     e ≥ start + epochs:    κ = target
///     otherwise:             κ = target + (1 − target) · ½ (1 + cos(π (i − S·start) / (S·epochs)))
///
/// so κ falls from 1 at the first step of epoch `start` towards `target`, reaching it at the first step of
/// epoch `start + epochs`. Computed in double precision, rounded to `Float`. docs/METHOD.md §2 keeps this off by
/// default (κ constant from the first step); ``constant(_:)`` gives that.
public struct KeepRateSchedule: Sendable, Equatable {
    /// The final keep rate (EViT's `base_keep_rate`), in (0, 1].
    public let target: Float
    /// The epoch at which the decrease starts (EViT's `shrink_start_epoch`); κ = 1 before it.
    public let startEpoch: Int
    /// Epochs over which κ decreases (EViT's `shrink_epochs`); 0 jumps straight to the target.
    public let epochs: Int
    /// Optimizer steps per epoch (EViT's `ITERS_PER_EPOCH`).
    public let stepsPerEpoch: Int

    /// - Throws: ``SparseTuningError`` if `target` is outside (0, 1], `startEpoch` or `epochs` is negative, or
    ///   `stepsPerEpoch` < 1.
    public init(target: Float, startEpoch: Int = 0, epochs: Int, stepsPerEpoch: Int) throws {
        guard target > 0, target <= 1 else {
            throw SparseTuningError("keep-rate schedule: target keep rate \(target) is outside (0, 1]")
        }
        guard startEpoch >= 0 else { throw SparseTuningError("keep-rate schedule: negative start epoch \(startEpoch)") }
        guard epochs >= 0 else { throw SparseTuningError("keep-rate schedule: negative length \(epochs) epochs") }
        guard stepsPerEpoch >= 1 else {
            throw SparseTuningError("keep-rate schedule: \(stepsPerEpoch) steps per epoch, expected at least 1")
        }
        self.target = target
        self.startEpoch = startEpoch
        self.epochs = epochs
        self.stepsPerEpoch = stepsPerEpoch
    }

    /// A schedule that is `target` from the first step (docs/METHOD.md §2's default).
    public static func constant(_ target: Float) throws -> KeepRateSchedule {
        try KeepRateSchedule(target: target, startEpoch: 0, epochs: 0, stepsPerEpoch: 1)
    }

    /// κ at global step `step` (0-based over the whole run). Negative steps count as 0.
    public func keepRate(atStep step: Int) -> Float {
        let step = max(0, step)
        let epoch = step / stepsPerEpoch
        if epoch < startEpoch { return 1 }
        if epoch >= startEpoch + epochs { return target }
        let goal = shortestDecimal(target)
        let progress = Double(step - stepsPerEpoch * startEpoch) / Double(stepsPerEpoch * epochs)
        return Float(goal + (1 - goal) * (cos(progress * Double.pi) + 1) * 0.5)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
