// RandomSampling: the distributions the data pipeline draws from a SeededGenerator (uniform doubles, bounded
// integers, normal, Gamma by Marsaglia–Tsang, Beta), seed derivation per (seed, epoch, index) and shuffling —
// all implemented here so results are the same on every platform and Swift version.
import Foundation

/// Deterministic sampling helpers over ``SeededGenerator``.
///
/// Everything here consumes the generator in a fixed, documented way, so a given seed reproduces the same
/// crops, flips, permutations and mixing coefficients everywhere (the standard library's
/// `random(in:using:)` and `shuffle(using:)` make no such promise across versions).
public enum RandomSampling {
    /// Uniform in [0, 1) with 53 random bits.
    public static func uniform(_ rng: inout SeededGenerator) -> Double {
        Double(rng.next() >> 11) * 0x1p-53
    }

    /// Uniform in [`low`, `high`).
    public static func uniform(_ low: Double, _ high: Double, _ rng: inout SeededGenerator) -> Double {
        low + (high - low) * uniform(&rng)
    }

    /// Uniform integer in `0..<bound` (`bound` ≥ 1) by multiply-shift of one 64-bit draw; the bias is below
    /// `bound / 2⁶⁴`, irrelevant for data sizes. Returns 0 when `bound` ≤ 1.
    public static func integer(below bound: Int, _ rng: inout SeededGenerator) -> Int {
        let draw = rng.next()
        guard bound > 1 else { return 0 }
        return Int(draw.multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Standard normal N(0, 1) in double precision (Box–Muller, one value per two uniforms).
    public static func normal(_ rng: inout SeededGenerator) -> Double {
        let u1 = 1 - uniform(&rng)  // (0, 1]
        let u2 = uniform(&rng)
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// Gamma(`shape`, 1) by Marsaglia and Tsang's squeeze method (2000); shapes below 1 use the boost
    /// `Gamma(k) = Gamma(k + 1) · U^(1/k)`. Returns 0 for a non-positive shape.
    public static func gamma(shape: Double, _ rng: inout SeededGenerator) -> Double {
        guard shape > 0, shape.isFinite else { return 0 }
        if shape < 1 {
            let boosted = gamma(shape: shape + 1, &rng)
            let u = 1 - uniform(&rng)  // (0, 1]
            return boosted * Foundation.pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = normal(&rng)
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = uniform(&rng)
            let x2 = x * x
            if u < 1 - 0.0331 * x2 * x2 { return d * v }
            if Foundation.log(max(u, .leastNonzeroMagnitude)) < 0.5 * x2 + d * (1 - v + Foundation.log(v)) {
                return d * v
            }
        }
    }

    /// Beta(`a`, `b`) as `X / (X + Y)` with X ~ Gamma(a), Y ~ Gamma(b). When both draws underflow to 0 (tiny
    /// shapes), returns 1 with probability a / (a + b), else 0 — the limit of the distribution.
    public static func beta(_ a: Double, _ b: Double, _ rng: inout SeededGenerator) -> Double {
        let x = gamma(shape: a, &rng), y = gamma(shape: b, &rng)
        let sum = x + y
        guard sum > 0 else { return uniform(&rng) < a / (a + b) ? 1 : 0 }
        return x / sum
    }

    /// A seed derived from `seed` and further integers (epoch, sample index, a purpose tag…) by SplitMix64
    /// finalisation of each part in turn: different tuples give unrelated generators.
    public static func derivedSeed(_ seed: UInt64, _ parts: Int...) -> UInt64 {
        derive(seed, parts)
    }

    /// A generator for the tuple (`seed`, `parts`…), e.g. `generator(seed, epoch, index)` for one sample's
    /// augmentation in one epoch.
    public static func generator(_ seed: UInt64, _ parts: Int...) -> SeededGenerator {
        SeededGenerator(seed: derive(seed, parts))
    }

    /// `0..<count` in a random order (Fisher–Yates from the last position down, drawing with
    /// ``integer(below:_:)``).
    public static func permutation(_ count: Int, _ rng: inout SeededGenerator) -> [Int] {
        var order = Array(0..<max(count, 0))
        var i = order.count - 1
        while i > 0 {
            let j = integer(below: i + 1, &rng)
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }

    private static func derive(_ seed: UInt64, _ parts: [Int]) -> UInt64 {
        var h = mix(seed ^ 0x5851_F42D_4C95_7F2D)
        for part in parts {
            h = mix(h ^ mix(UInt64(bitPattern: Int64(part)) &+ 0x9E37_79B9_7F4A_7C15))
        }
        return h
    }

    /// SplitMix64's output function.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
