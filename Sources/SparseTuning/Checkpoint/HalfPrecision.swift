// IEEE half (F16) and bfloat16 (BF16) to fp32 conversion, exact for every value incl. subnormals, inf and NaN.

/// The fp32 value of an IEEE 754 binary16 bit pattern (every half is exactly representable in fp32).
@inline(__always)
func floatFromHalfBits(_ h: UInt16) -> Float {
    let sign: UInt32 = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x3FF)
    switch exponent {
    case 0:
        // Zero or subnormal: mantissa · 2^-24, exact in fp32.
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    case 0x1F:
        // Infinity or NaN; the NaN payload is kept.
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    default:
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }
}

/// The fp32 value of a bfloat16 bit pattern (the upper half of an fp32).
@inline(__always)
func floatFromBFloat16Bits(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

/// Converts `count` little-endian 16-bit values at `source` (any alignment) into `destination`.
func convertHalfs(_ source: UnsafeRawPointer, count: Int, bfloat: Bool, into destination: UnsafeMutablePointer<Float>) {
    if bfloat {
        for i in 0..<count {
            destination[i] = floatFromBFloat16Bits(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    } else {
        for i in 0..<count {
            destination[i] = floatFromHalfBits(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    }
}
