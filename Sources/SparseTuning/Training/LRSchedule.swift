// The learning-rate schedule of the recipes in docs/METHOD.md §5: linear warm-up, then half a cosine down to a floor —
// the formula of timm's CosineLRScheduler (one cycle, no noise, k-decay 1), evaluated per optimizer step.

/// Linear warm-up followed by cosine decay, exactly as timm's `CosineLRScheduler` (one cycle, `cycle_mul` 1,
/// `cycle_decay` 1, no noise, `k_decay` 1) stepped with `step_update(num_updates=t)` and `t_in_epochs=False`.
///
/// With base rate `L`, floor `m`, warm-up length `W`, initial rate `L₀` and total length `T`, the rate at
/// step t (0-based: t is the number of optimizer updates already taken, so the first update uses t = 0) is
///
///     t < W:      L₀ + t · (L − L₀) / W                                  (linear warm-up)
///     otherwise:  c = t − W, C = T − W   when `warmupPrefix` (the default)
///                 c = t,     C = T       otherwise (timm's default: the cosine spans all T steps and the
///                                        warm-up overwrites its first W values)
///                 c < C:  m + ½ (L − m) (1 + cos(π c / C))
///                 c ≥ C:  m                                               (after the schedule)
///
/// timm's `t_initial` is C. All arithmetic is in double precision from the shortest decimal spelling of each
/// `Float` setting, then rounded to `Float`. With L₀ = 0 the first update has rate 0, as in timm's loop.
///
/// The same formula serves a per-epoch schedule (NOAH's VTAB-1K code steps timm's scheduler once per epoch):
/// give lengths in epochs and pass the epoch index as t.
public struct CosineLRSchedule: Sendable, Equatable {
    /// The peak rate L, reached at the end of warm-up.
    public let baseLR: Float
    /// T: the schedule's length in steps (warm-up included).
    public let totalSteps: Int
    /// W: steps of linear warm-up (0 for none).
    public let warmupSteps: Int
    /// L₀: the rate at step 0 of the warm-up.
    public let warmupInitLR: Float
    /// m: the rate the cosine ends at, and the rate after the schedule.
    public let minLR: Float
    /// Whether the cosine starts after the warm-up (true) or spans all T steps (false; timm's default).
    public let warmupPrefix: Bool

    /// - Throws: ``SparseTuningError`` if a rate is negative or not finite, `totalSteps` < 1, `warmupSteps` < 0,
    ///   or, with `warmupPrefix`, the warm-up leaves no step for the cosine (`warmupSteps ≥ totalSteps`).
    public init(baseLR: Float, totalSteps: Int, warmupSteps: Int = 0, warmupInitLR: Float = 0, minLR: Float = 0,
                warmupPrefix: Bool = true) throws {
        for (name, rate) in [("base", baseLR), ("warm-up initial", warmupInitLR), ("minimum", minLR)] {
            guard rate >= 0, rate.isFinite else {
                throw SparseTuningError("learning-rate schedule: invalid \(name) rate \(rate), expected ≥ 0")
            }
        }
        guard totalSteps >= 1 else {
            throw SparseTuningError("learning-rate schedule: total length \(totalSteps) steps, expected at least 1")
        }
        guard warmupSteps >= 0 else {
            throw SparseTuningError("learning-rate schedule: negative warm-up length \(warmupSteps)")
        }
        guard !warmupPrefix || warmupSteps < totalSteps else {
            throw SparseTuningError("learning-rate schedule: warm-up of \(warmupSteps) steps leaves no step for the "
                + "cosine decay (total \(totalSteps)); use fewer warm-up steps or more in total")
        }
        self.baseLR = baseLR
        self.totalSteps = totalSteps
        self.warmupSteps = warmupSteps
        self.warmupInitLR = warmupInitLR
        self.minLR = minLR
        self.warmupPrefix = warmupPrefix
    }

    /// The rate for update t (0-based). Negative t counts as 0.
    public func lr(at t: Int) -> Float {
        Float(lrDouble(at: t))
    }

    /// ``lr(at:)`` before rounding to `Float`.
    public func lrDouble(at t: Int) -> Double {
        let t = max(0, t)
        let base = shortestDecimal(baseLR), floor = shortestDecimal(minLR), initial = shortestDecimal(warmupInitLR)
        if t < warmupSteps {
            return initial + Double(t) * ((base - initial) / Double(warmupSteps))
        }
        let c = warmupPrefix ? t - warmupSteps : t
        let length = warmupPrefix ? totalSteps - warmupSteps : totalSteps
        guard c < length else { return floor }
        return floor + 0.5 * (base - floor) * (1 + cos(Double.pi * Double(c) / Double(length)))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
