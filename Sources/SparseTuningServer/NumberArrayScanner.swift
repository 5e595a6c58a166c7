// A fast path for the one large thing an inference request carries: the numbers of an FP32 input's `data` array
// (150,528 for one 224×224 image). Decoding them through JSONCoding costs about 40 ms per image, which on a small
// machine competes with the forward pass; this scanner finds the body's one `"data"` array of plain numbers,
// reads them with strtod, and leaves the rest of the body — with `"data": []` — to JSONCoding as usual. Anything
// it does not recognise (no or several `data` keys, strings, other tokens) returns nil and the request takes the
// ordinary path, so errors stay those of JSONCoding.
import Foundation

enum NumberArrayScanner {
    /// The body with its single flat `"data"` array of numbers emptied, and those numbers, or nil.
    static func split(_ body: Data) -> (rest: Data, numbers: [Double])? {
        body.withUnsafeBytes { raw -> (Data, [Double])? in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let (open, close) = dataArray(in: bytes) else { return nil }
            guard let numbers = numbers(in: bytes, from: open + 1, to: close) else { return nil }
            var rest = Data(bytes[..<(open + 1)])
            rest.append(contentsOf: bytes[close...])
            return (rest, numbers)
        }
    }

    /// Indices of the `[` and matching `]` of the value of the one key `"data"` (outside strings), or nil.
    private static func dataArray(in b: UnsafeBufferPointer<UInt8>) -> (Int, Int)? {
        let key = Array("\"data\"".utf8)
        var found: Int?
        var i = 0, inString = false
        while i < b.count {
            let c = b[i]
            if inString {
                if c == UInt8(ascii: "\\") { i += 2; continue }
                if c == UInt8(ascii: "\"") { inString = false }
                i += 1
                continue
            }
            if c == UInt8(ascii: "\"") {
                if i + key.count <= b.count, Array(b[i..<(i + key.count)]) == key {
                    var j = i + key.count
                    while j < b.count, b[j] == 0x20 || b[j] == 0x0A || b[j] == 0x0D || b[j] == 0x09 { j += 1 }
                    if j < b.count, b[j] == UInt8(ascii: ":") {
                        guard found == nil else { return nil }  // several `data` keys: the ordinary path
                        j += 1
                        while j < b.count, b[j] == 0x20 || b[j] == 0x0A || b[j] == 0x0D || b[j] == 0x09 { j += 1 }
                        guard j < b.count, b[j] == UInt8(ascii: "[") else { return nil }
                        found = j
                    }
                }
                inString = true
            }
            i += 1
        }
        guard let open = found else { return nil }
        var depth = 0
        for k in open..<b.count {
            switch b[k] {
            case UInt8(ascii: "["):
                depth += 1
                if depth > 1 { return nil }  // nested arrays: the ordinary path
            case UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return (open, k) }
            case UInt8(ascii: "\""): return nil  // strings (BYTES): the ordinary path
            default: break
            }
        }
        return nil
    }

    /// The JSON numbers between `start` and `end` (commas and whitespace between them), or nil at anything else or
    /// none.
    private static func numbers(in b: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> [Double]? {
        var out: [Double] = []
        out.reserveCapacity((end - start) / 4)
        var token = [CChar](repeating: 0, count: 64)
        var i = start
        while i < end {
            let c = b[i]
            if c == UInt8(ascii: ",") || c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1; continue }
            // A JSON number: -?digits[.digits][(e|E)[+-]digits]; copied (≤ 63 bytes) and read by strtod.
            var n = 0
            while i < end, n < 63 {
                let d = b[i]
                guard (d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9")) || d == UInt8(ascii: "-") || d == UInt8(ascii: "+")
                        || d == UInt8(ascii: ".") || d == UInt8(ascii: "e") || d == UInt8(ascii: "E") else { break }
                token[n] = CChar(bitPattern: d)
                n += 1
                i += 1
            }
            guard n > 0, n < 63, token[0] == CChar(UInt8(ascii: "-")) || (token[0] >= CChar(UInt8(ascii: "0")) && token[0] <= CChar(UInt8(ascii: "9"))) else {
                return nil
            }
            token[n] = 0
            let digitsStart = token[0] == CChar(UInt8(ascii: "-")) ? 1 : 0
            if n > digitsStart + 1, token[digitsStart] == CChar(UInt8(ascii: "0")),
               token[digitsStart + 1] >= CChar(UInt8(ascii: "0")), token[digitsStart + 1] <= CChar(UInt8(ascii: "9")) {
                return nil  // a leading zero (not JSON)
            }
            let (value, consumed) = token.withUnsafeMutableBufferPointer { buffer -> (Double, Int) in
                var endPointer: UnsafeMutablePointer<CChar>?
                let v = strtod(buffer.baseAddress!, &endPointer)
                return (v, endPointer.map { $0 - buffer.baseAddress! } ?? 0)
            }
            guard consumed == n, value.isFinite else { return nil }
            out.append(value)
        }
        return out.isEmpty ? nil : out
    }
}
