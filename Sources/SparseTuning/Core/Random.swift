// Deterministic pseudo-random numbers (xoshiro256**, seeded by SplitMix64) for initialisation, shuffling and dropout.

/// A small, fast, seedable generator: the same seed gives the same sequence on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    /// The second normal of the last Box–Muller pair.
    private var spare: Float?

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Standard normal (Box–Muller; both values of each pair are used).
    public mutating func normal() -> Float {
        if let v = spare {
            spare = nil
            return v
        }
        let u1 = max(uniform(), 1e-12), u2 = uniform()
        let r = (-2 * Float.log(u1)).squareRoot(), a = 2 * Float.pi * u2
        spare = r * Float.sin(a)
        return r * Float.cos(a)
    }
}

extension Float {
    static func log(_ x: Float) -> Float { logf(x) }
    static func cos(_ x: Float) -> Float { cosf(x) }
    static func sin(_ x: Float) -> Float { sinf(x) }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

extension Tensor {
    /// Fills with N(0, std²) truncated to ±2 (timm's `trunc_normal_` with its default absolute bounds).
    public func fillTruncatedNormal(std: Float, using rng: inout SeededGenerator) {
        for i in 0..<count {
            var v: Float
            repeat { v = rng.normal() * std } while abs(v) > 2
            data[i] = v
        }
    }

    /// Fills with U(−bound, bound).
    public func fillUniform(bound: Float, using rng: inout SeededGenerator) {
        for i in 0..<count { data[i] = (rng.uniform() * 2 - 1) * bound }
    }
}
