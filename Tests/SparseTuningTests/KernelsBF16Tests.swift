// fp32 → bf16 conversion against an independent reference: the nearer of the two neighbouring bf16 values (compared
// in Double), ties to the even one; NaN stays NaN, infinities and signed zeros are kept, subnormals flush to zero.
import CKernels
import XCTest
@testable import SparseTuning

final class KernelsBF16Tests: XCTestCase {
    func reference(_ x: Float) -> UInt16 {
        if x.isNaN { return 0x7FC0 }
        let bits = x.bitPattern
        let lo = bits & 0xFFFF_0000
        guard lo & 0x7F80_0000 != 0x7F80_0000 else { return UInt16(lo >> 16) }  // ±inf stays
        if lo & 0x7F80_0000 == 0 { return UInt16((bits & 0x8000_0000) >> 16) }  // subnormal → signed zero
        // bf16 keeps 7 mantissa bits: neighbours are `down` (truncated) and `down` + one bf16 step away from zero.
        let exponent = Int((bits >> 23) & 0xFF)
        let step = pow(2.0, Double(max(exponent, 1) - 127 - 7))
        let down = Double(Float(bitPattern: lo)), up = down + (x.sign == .minus ? -step : step)
        let dDown = abs(Double(x) - down), dUp = abs(up - Double(x))
        let roundUp = dUp < dDown || (dUp == dDown && (lo >> 16) & 1 == 1)
        return UInt16((roundUp ? lo &+ 0x1_0000 : lo) >> 16)
    }

    func testConversionMatchesNearestEven() {
        var values: [Float] = [0, -0, 1, -1, 1.00390625, 1.005859375, 1.0078125 + 0.00390625, .infinity, -.infinity,
                               .nan, Float.leastNonzeroMagnitude, -Float.leastNormalMagnitude, 3.3895314e38, 65504, 1e-40]
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<5000 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        // Exact ties at every exponent: low half 0x8000 with even and odd kept mantissas.
        for e in stride(from: 1, to: 254, by: 7) { for m: UInt32 in [0x0000_8000, 0x0001_8000] { values.append(Float(bitPattern: UInt32(e) << 23 | m)) } }
        let n = values.count  // not a multiple of 16: the tail path runs too
        var out = [UInt16](repeating: 0, count: n), portable = out
        values.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { BF16.convert(src.baseAddress!, $0.baseAddress!, count: n) } }
        values.withUnsafeBufferPointer { src in portable.withUnsafeMutableBufferPointer { st_f32_to_bf16_portable(src.baseAddress!, $0.baseAddress!, n) } }
        XCTAssertEqual(out, portable, "the CPU's path and the portable loop agree bit for bit")
        var wrong = 0
        for (x, h) in zip(values, out) {
            if x.isNaN { if Float(bitPattern: UInt32(h) << 16).isNaN == false { wrong += 1 }; continue }
            if h != reference(x) { wrong += 1; if wrong < 5 { XCTFail("bf16(\(x)) = \(String(h, radix: 16)), expected \(String(reference(x), radix: 16))") } }
        }
        XCTAssertEqual(wrong, 0, "\(wrong) of \(n) conversions differ from round-to-nearest-even")
    }
}
