// SIMD building blocks for the element-wise kernels: 16-lane loads/stores with tails, and fast exp and erf.

typealias F16x = SIMD16<Float>

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> F16x {
    UnsafeRawPointer(p).loadUnaligned(as: F16x.self)
}

@inline(__always) func store16(_ v: F16x, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: F16x.self)
}

/// Loads `n < 16` floats, filling the other lanes with `fill`.
@inline(__always) func loadPartial(_ p: UnsafePointer<Float>, _ n: Int, fill: Float = 0) -> F16x {
    var v = F16x(repeating: fill)
    for i in 0..<n { v[i] = p[i] }
    return v
}

@inline(__always) func storePartial(_ v: F16x, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { p[i] = v[i] }
}

/// e^x, relative error ≈ 2e-7 (Cephes-style polynomial after range reduction by ln 2). Inputs are clamped to
/// [-87.3, 88.3]: results underflow to ~1e-38 rather than 0.
@inline(__always) func vexp(_ x: F16x) -> F16x {
    let x = x.clamped(lowerBound: F16x(repeating: -87.33654), upperBound: F16x(repeating: 88.3762626647949))
    let n = (x * 1.44269504088896341).rounded(.toNearestOrEven)
    var r = x - n * 0.693359375
    r = r + n * 2.12194440e-4
    var p: F16x = F16x(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * (r * r) + r + 1
    let bits = (SIMD16<Int32>(n) &+ 127) &<< 23
    return p * unsafeBitCast(bits, to: F16x.self)
}

/// erf(x), absolute error ≤ 1.5e-7 (Abramowitz & Stegun 7.1.26, the form oneDNN's gelu_erf uses).
@inline(__always) func verf(_ x: F16x) -> F16x {
    let ax = pointwiseMax(x, -x)
    let t = 1 / (1 + 0.3275911 * ax)
    var p = F16x(repeating: 1.061405429)
    p = p * t - 1.453152027
    p = p * t + 1.421413741
    p = p * t - 0.284496736
    p = p * t + 0.254829592
    let y = 1 - p * t * vexp(-(ax * ax))
    return y.replacing(with: -y, where: x .< 0)
}

/// Horizontal sum and max.
@inline(__always) func hsum(_ v: F16x) -> Float { v.sum() }
@inline(__always) func hmax(_ v: F16x) -> Float { v.max() }
