// The polynomial learning-rate decay of mmsegmentation's schedules (PolyLR, power 1.0, down to eta_min) after a linear
// warm-up in iterations (LinearLR from start_factor·base) — the ADE20K recipe's schedule (docs/SEGMENTATION.md).
import Foundation

/// lr(t) = warm-up: base·(f + (1 − f)·t/W) for t < W; then (base − min)·(1 − (t−W)/(T−W))^power + min (mmengine's
/// PolyLR begins after the warm-up and counts T − W steps). t counts optimiser steps from 0.
public struct PolyLRSchedule: Sendable, Equatable {
    public let baseLR: Double
    public let totalSteps: Int
    public let warmupSteps: Int
    /// Fraction of the base rate at step 0 of the warm-up (mmseg: 1e-6).
    public let warmupStartFactor: Double
    public let power: Double
    public let minLR: Double

    /// - Throws: ``SparseTuningError`` for a negative or non-finite rate, `totalSteps` < 1, or a warm-up not shorter
    ///   than the run.
    public init(baseLR: Double, totalSteps: Int, warmupSteps: Int = 0, warmupStartFactor: Double = 1e-6, power: Double = 1,
                minLR: Double = 0) throws {
        guard baseLR > 0, baseLR.isFinite, minLR >= 0, minLR <= baseLR else {
            throw SparseTuningError("learning rates must be finite with 0 ≤ min ≤ base (got base \(baseLR), min \(minLR))")
        }
        guard totalSteps >= 1 else { throw SparseTuningError("the schedule needs at least one step (got \(totalSteps))") }
        guard warmupSteps >= 0, warmupSteps < totalSteps else {
            throw SparseTuningError("--warmup-iters \(warmupSteps) must be below the \(totalSteps) iterations")
        }
        guard power > 0, warmupStartFactor >= 0, warmupStartFactor <= 1 else {
            throw SparseTuningError("the poly power must be positive and the warm-up start factor in [0, 1]")
        }
        self.baseLR = baseLR
        self.totalSteps = totalSteps
        self.warmupSteps = warmupSteps
        self.warmupStartFactor = warmupStartFactor
        self.power = power
        self.minLR = minLR
    }

    /// The rate of step `t`.
    public func lr(at t: Int) -> Float {
        if t < warmupSteps {
            return Float(baseLR * (warmupStartFactor + (1 - warmupStartFactor) * Double(t) / Double(warmupSteps)))
        }
        let progress = min(1, Double(t - warmupSteps) / Double(totalSteps - warmupSteps))
        return Float((baseLR - minLR) * Foundation.pow(1 - progress, power) + minLR)
    }
}

