// SIMD building blocks for the element-wise kernels: 16-lane loads/stores with tails, and fast exp and erf.

typealias F16x = SIMD16<Float>

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> F16x {
    UnsafeRawPointer(p).loadUnaligned(as: F16x.self)
}

@inline(__always) func store16(_ v: F16x, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: F16x.self)
}

/// Lane-wise max and min through compare-and-select, which compiles to vector instructions (Swift's generic
/// `pointwiseMax`/`pointwiseMin` go lane by lane).
@inline(__always) func vmax(_ a: F16x, _ b: F16x) -> F16x { a.replacing(with: b, where: a .< b) }
@inline(__always) func vmin(_ a: F16x, _ b: F16x) -> F16x { a.replacing(with: b, where: b .< a) }

/// Loads `n < 16` floats, filling the other lanes with `fill` (through a stack buffer: no per-lane code).
@inline(__always) func loadPartial(_ p: UnsafePointer<Float>, _ n: Int, fill: Float = 0) -> F16x {
    var v = F16x(repeating: fill)
    withUnsafeMutableBytes(of: &v) { $0.baseAddress!.copyMemory(from: p, byteCount: n * 4) }
    return v
}

/// Stores the first `n < 16` lanes.
@inline(__always) func storePartial(_ v: F16x, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    withUnsafeBytes(of: v) { UnsafeMutableRawPointer(p).copyMemory(from: $0.baseAddress!, byteCount: n * 4) }
}

/// 1 in the first `n` lanes, 0 in the others.
@inline(__always) func laneMask(_ n: Int) -> F16x {
    let ones = F16x(repeating: 1)
    return withUnsafeBytes(of: ones) { loadPartial($0.baseAddress!.assumingMemoryBound(to: Float.self), n) }
}

/// e^x, relative error ≈ 2e-7 (Cephes-style polynomial after range reduction by ln 2). Inputs are clamped to
/// [-87.3, 88.3]: results underflow to ~1e-38 rather than 0. Written with bit tricks only, so that it compiles to
/// straight-line vector code (Swift's generic SIMD rounding and conversions are scalarised).
@inline(__always) func vexp(_ x: F16x) -> F16x {
    let x = vmin(vmax(x, F16x(repeating: -87.33654)), F16x(repeating: 88.3762626647949))
    // Round x·log2(e) to the nearest integer n: adding 1.5·2^23 leaves n in the low mantissa bits.
    let shifted = x * 1.44269504088896341 + 12582912
    let n = shifted - 12582912
    var r = x - n * 0.693359375
    r = r + n * 2.12194440e-4
    var p: F16x = F16x(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * (r * r) + r + 1
    let ni = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
    let scale = (ni &+ 127) &<< 23
    return p * unsafeBitCast(scale, to: F16x.self)
}

/// erf(x), absolute error ≤ 1.5e-7 (Abramowitz & Stegun 7.1.26, the form oneDNN's gelu_erf uses).
@inline(__always) func verf(_ x: F16x) -> F16x {
    let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    let sign = bits & 0x8000_0000
    let ax = unsafeBitCast(bits & 0x7FFF_FFFF, to: F16x.self)
    let t = 1 / (1 + 0.3275911 * ax)
    var p = F16x(repeating: 1.061405429)
    p = p * t - 1.453152027
    p = p * t + 1.421413741
    p = p * t - 0.284496736
    p = p * t + 0.254829592
    let y = 1 - p * t * vexp(-(ax * ax))
    return unsafeBitCast(unsafeBitCast(y, to: SIMD16<UInt32>.self) | sign, to: F16x.self)
}

/// Horizontal sum and max by halving (Swift's generic `sum()`/`max()` go lane by lane).
@inline(__always) func hsum(_ v: F16x) -> Float {
    let a = v.lowHalf + v.highHalf, b = a.lowHalf + a.highHalf, c = b.lowHalf + b.highHalf
    return c[0] + c[1]
}
@inline(__always) func hmax(_ v: F16x) -> Float {
    let a = v.lowHalf.replacing(with: v.highHalf, where: v.lowHalf .< v.highHalf)
    let b = a.lowHalf.replacing(with: a.highHalf, where: a.lowHalf .< a.highHalf)
    let c = b.lowHalf.replacing(with: b.highHalf, where: b.lowHalf .< b.highHalf)
    return Swift.max(c[0], c[1])
}
