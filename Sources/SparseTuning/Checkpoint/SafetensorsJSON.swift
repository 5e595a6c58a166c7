// The safetensors header's own JSON parser (everything else reads JSON through JSONCoding): the header is untrusted
// and up to 100 MB, so it is parsed strictly straight from the mapped bytes — exact integers, no duplicate keys,
// bounded nesting, UTF-8 validated — with the byte offset of every error and no Foundation bridging.

/// A value of a safetensors header. Integer literals (no fraction or exponent) are kept exact as `integer`.
enum SafetensorsJSON {
    case object([String: SafetensorsJSON])
    case array([SafetensorsJSON])
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case null

    /// A short name of the value's kind, for error messages ("an object", "a string", ...).
    var kind: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .integer: return "an integer"
        case .number: return "a non-integer number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }

    /// Why a document is not valid JSON, and the byte offset where that was found.
    struct ParseError: Error {
        let message: String
        let offset: Int
        var description: String { "\(message) at byte \(offset)" }
    }

    /// Parses one JSON document filling `bytes` (surrounding whitespace allowed).
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> SafetensorsJSON {
        var utf8 = UTF8()
        var iterator = bytes.makeIterator()
        var offset = 0
        decoding: while true {
            switch utf8.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: break decoding
            case .error: throw ParseError(message: "invalid UTF-8", offset: offset)
            }
        }
        var parser = Parser(bytes: bytes)
        return try parser.document()
    }
}

/// Recursive-descent parser over UTF-8 bytes.
private struct Parser {
    let bytes: UnsafeRawBufferPointer
    var at = 0
    var depth = 0
    static let maxDepth = 64

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    func fail(_ message: String) -> SafetensorsJSON.ParseError { SafetensorsJSON.ParseError(message: message, offset: at) }

    mutating func document() throws(SafetensorsJSON.ParseError) -> SafetensorsJSON {
        skipWhitespace()
        let value = try value()
        skipWhitespace()
        guard at == bytes.count else { throw fail("unexpected content after the JSON value") }
        return value
    }

    mutating func skipWhitespace() {
        while at < bytes.count {
            switch bytes[at] {
            case 0x20, 0x09, 0x0A, 0x0D: at += 1
            default: return
            }
        }
    }

    mutating func value() throws(SafetensorsJSON.ParseError) -> SafetensorsJSON {
        guard at < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[at] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character '\(Character(Unicode.Scalar(bytes[at])))'")
        }
    }

    mutating func literal(_ word: String) throws(SafetensorsJSON.ParseError) {
        for byte in word.utf8 {
            guard at < bytes.count, bytes[at] == byte else { throw fail("invalid literal, expected '\(word)'") }
            at += 1
        }
    }

    mutating func nest() throws(SafetensorsJSON.ParseError) {
        depth += 1
        guard depth <= Parser.maxDepth else { throw fail("nesting deeper than \(Parser.maxDepth) levels") }
    }

    mutating func object() throws(SafetensorsJSON.ParseError) -> SafetensorsJSON {
        try nest()
        at += 1
        var members: [String: SafetensorsJSON] = [:]
        skipWhitespace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "}") {
            at += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyOffset = at
            let key = try string()
            skipWhitespace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
            at += 1
            skipWhitespace()
            let item = try value()
            guard members.updateValue(item, forKey: key) == nil else {
                throw SafetensorsJSON.ParseError(message: "duplicate key \"\(key)\"", offset: keyOffset)
            }
            skipWhitespace()
            guard at < bytes.count else { throw fail("unexpected end of input inside an object") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            guard bytes[at] == UInt8(ascii: "}") else { throw fail("expected ',' or '}' in an object") }
            at += 1
            depth -= 1
            return .object(members)
        }
    }

    mutating func array() throws(SafetensorsJSON.ParseError) -> SafetensorsJSON {
        try nest()
        at += 1
        var items: [SafetensorsJSON] = []
        skipWhitespace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "]") {
            at += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try value())
            skipWhitespace()
            guard at < bytes.count else { throw fail("unexpected end of input inside an array") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            guard bytes[at] == UInt8(ascii: "]") else { throw fail("expected ',' or ']' in an array") }
            at += 1
            depth -= 1
            return .array(items)
        }
    }

    mutating func number() throws(SafetensorsJSON.ParseError) -> SafetensorsJSON {
        let start = at
        var integral = true
        if bytes[at] == UInt8(ascii: "-") { at += 1 }
        let integerStart = at
        let integerDigits = digits()
        guard integerDigits > 0 else { throw fail("expected a digit") }
        guard bytes[integerStart] != UInt8(ascii: "0") || integerDigits == 1 else {
            throw SafetensorsJSON.ParseError(message: "leading zeros are not allowed", offset: start)
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            integral = false
            at += 1
            guard digits() > 0 else { throw fail("expected a digit after '.'") }
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
            integral = false
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard digits() > 0 else { throw fail("expected a digit in the exponent") }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
        if integral {
            guard let exact = Int(text) else {
                throw SafetensorsJSON.ParseError(message: "integer \(text) is out of range", offset: start)
            }
            return .integer(exact)
        }
        return .number(Double(text) ?? .nan)
    }

    /// Consumes ASCII digits and returns how many there were.
    mutating func digits() -> Int {
        let start = at
        while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) { at += 1 }
        return at - start
    }

    mutating func string() throws(SafetensorsJSON.ParseError) -> String {
        at += 1
        var out: [UInt8] = []
        while true {
            guard at < bytes.count else { throw fail("unterminated string") }
            let byte = bytes[at]
            switch byte {
            case UInt8(ascii: "\""):
                at += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                at += 1
                guard at < bytes.count else { throw fail("unterminated string") }
                let escape = bytes[at]
                at += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): out.append(contentsOf: try unicodeEscape())
                default: throw fail("invalid escape '\\\(Character(Unicode.Scalar(escape)))'")
                }
            case 0x00..<0x20:
                throw fail("control character in a string")
            default:
                out.append(byte)
                at += 1
            }
        }
    }

    /// The UTF-8 bytes of a `\uXXXX` escape (after the `u`), joining a surrogate pair when present.
    mutating func unicodeEscape() throws(SafetensorsJSON.ParseError) -> [UInt8] {
        var value = try hex4()
        if (0xD800..<0xDC00).contains(value) {
            guard at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else {
                throw fail("unpaired surrogate in a \\u escape")
            }
            at += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate in a \\u escape") }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(value) else { throw fail("unpaired surrogate in a \\u escape") }
        return Array(String(Character(scalar)).utf8)
    }

    mutating func hex4() throws(SafetensorsJSON.ParseError) -> UInt32 {
        guard at + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = Character(Unicode.Scalar(bytes[at])).hexDigitValue else {
                throw fail("invalid hex digit in a \\u escape")
            }
            value = value * 16 + UInt32(digit)
            at += 1
        }
        return value
    }
}
