// The .npy preamble and header: magic, version 1.0/2.0/3.0, and the Python dict literal with descr,
// fortran_order and shape, validated into an NPYHeader. Readable: float16/32/64 and int32/64 in any byte order
// ('<', '>', '|', '='), C or Fortran order.

/// Element types of .npy arrays the library reads. The raw value is the little-endian descr (as the writer
/// uses); the byte order of a file is in ``NPYHeader/bigEndian``.
public enum NPYDType: String, Sendable, CaseIterable {
    case float32 = "<f4"
    case float64 = "<f8"
    case float16 = "<f2"
    case int64 = "<i8"
    case int32 = "<i4"

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16: return 2
        }
    }

    /// The type code without byte order: `f4`, `f8`, `f2`, `i8`, `i4`.
    var code: String { String(rawValue.dropFirst()) }

    /// Parses a numpy descr such as `'<f4'`, `'>f8'` or `'=i4'` into a type and its byte order ('=' is the
    /// native order, little-endian on every platform the library runs on; '|' means "not applicable" and is read
    /// as native, as numpy does). Throws `failure` with a message saying what was found for anything else.
    static func parse(descr: String, failure: (String) -> SparseTuningError) throws -> (NPYDType, bigEndian: Bool) {
        guard let order = descr.first, "<>|=".contains(order) else {
            throw failure("bad descr '\(descr)' (expected a byte order '<', '>', '|' or '=' and a type code such as 'f4')")
        }
        let code = String(descr.dropFirst())
        if let dtype = allCases.first(where: { $0.code == code }) {
            return (dtype, order == ">")
        }
        let width = code.dropFirst()
        if let letter = code.first, "fiucb".contains(letter), width.isEmpty || !width.allSatisfy(\.isASCII) || Int(width) == nil {
            throw failure("bad descr '\(descr)' (expected a width in bytes after '\(letter)', e.g. '<\(letter)4')")
        }
        let kind: String
        switch code.first {
        case "c": kind = "complex arrays"
        case "O": kind = "object arrays"
        case "f", "g": kind = "long double (or other non-binary16/32/64) floats"
        case "U", "S", "a": kind = "string arrays"
        case "V": kind = "raw/void (structured) arrays"
        case "b", "?": kind = "boolean arrays"
        case "M", "m": kind = "datetime/timedelta arrays"
        case "u": kind = "unsigned integers"
        case "i": kind = "integers of this width"
        default:
            throw failure("bad descr '\(descr)' (not a numpy type code)")
        }
        throw failure("\(kind) ('\(descr)') are not supported (readable: float16/32/64 'f2', 'f4', 'f8' and "
            + "int32/64 'i4', 'i8', each with byte order '<', '>', '|' or '=')")
    }
}

/// A validated .npy header.
public struct NPYHeader: Sendable, Equatable {
    /// Major format version (1, 2 or 3; the minor version is always 0).
    public let version: Int
    /// Stored element type.
    public let dtype: NPYDType
    /// The descr exactly as written in the header, e.g. `'>f8'`.
    public let descr: String
    /// Whether the elements are stored big-endian (descr `'>…'`).
    public let bigEndian: Bool
    /// Whether the data is stored in Fortran (column-major) order; readers transpose it to C order.
    public let fortranOrder: Bool
    /// Dimensions, outermost first (empty for a scalar).
    public let shape: [Int]
    /// Number of elements (product of `shape`).
    public let elementCount: Int
    /// Offset of the array data from the start of the .npy bytes.
    public let dataOffset: Int

    /// Size of the array data in bytes.
    public var dataByteCount: Int { elementCount * dtype.itemSize }

    /// Largest accepted header text, in bytes.
    static let maxHeaderBytes = 1 << 20
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// The number of bytes (preamble plus header text) that `bytes` must hold to parse the header, or nil when
    /// `bytes` is too short to tell yet. Errors (prefixed with `name`) for a bad magic or version.
    static func size(ofHeaderIn bytes: UnsafeRawBufferPointer, name: String) throws -> Int? {
        let known = min(bytes.count, magic.count)
        guard bytes.prefix(known).elementsEqual(magic.prefix(known)) else {
            throw SparseTuningError("\(name): not a .npy array (the file does not start with \\x93NUMPY)")
        }
        guard bytes.count >= 8 else { return nil }
        let (major, minor) = (bytes[6], bytes[7])
        guard (1...3).contains(major), minor == 0 else {
            throw SparseTuningError("\(name): unsupported .npy format version \(major).\(minor) (expected 1.0, 2.0 or 3.0)")
        }
        let preamble = major == 1 ? 10 : 12
        guard bytes.count >= preamble else { return nil }
        let length = major == 1
            ? Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
            : Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        guard length <= maxHeaderBytes else {
            throw SparseTuningError("\(name): .npy header length \(length) exceeds the limit of \(maxHeaderBytes) bytes")
        }
        return preamble + length
    }

    /// Parses and validates the header at the start of `bytes` (which may hold more than the header).
    init(_ bytes: UnsafeRawBufferPointer, name: String) throws {
        guard let size = try Self.size(ofHeaderIn: bytes, name: name), size <= bytes.count else {
            throw SparseTuningError("\(name): truncated .npy header (\(bytes.count) bytes)")
        }
        func failure(_ message: String) -> SparseTuningError { SparseTuningError("\(name): .npy header: \(message)") }

        var dict = PythonDictLiteral(UnsafeRawBufferPointer(rebasing: bytes[(bytes[6] == 1 ? 10 : 12)..<size]),
                                     failure: failure)
        let fields = try dict.parse()
        let expected: Set = ["descr", "fortran_order", "shape"]
        guard Set(fields.keys) == expected else {
            throw failure("keys are \(fields.keys.sorted()), expected exactly \(expected.sorted())")
        }
        guard case .string(let descr) = fields["descr"] else {
            throw failure(fields["descr"].map { $0.isList } == true
                ? "structured dtypes are not supported (expected a plain '<f4'-style descr)"
                : "'descr' must be a string")
        }
        guard case .bool(let fortran) = fields["fortran_order"] else { throw failure("'fortran_order' must be True or False") }
        guard case .tuple(let shape) = fields["shape"] else { throw failure("'shape' must be a tuple of integers") }
        let (dtype, bigEndian) = try NPYDType.parse(descr: descr, failure: failure)
        guard let (count, _) = checkedCounts(shape, itemSize: dtype.itemSize) else {
            throw failure("shape \(NPYHeader.tupleText(shape)) is too large")
        }
        version = Int(bytes[6])
        self.dtype = dtype
        self.descr = descr
        self.bigEndian = bigEndian
        fortranOrder = fortran
        self.shape = shape
        elementCount = count
        dataOffset = size
    }

    /// `shape` written as a Python tuple: `()`, `(3,)`, `(2, 3)`.
    static func tupleText(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
}

/// The subset of Python literal syntax numpy writes in .npy headers: a dict of string keys to strings,
/// True/False and tuples of non-negative integers.
private struct PythonDictLiteral {
    enum Value {
        case string(String)
        case bool(Bool)
        case tuple([Int])
        case list

        var isList: Bool { if case .list = self { return true } else { return false } }
    }

    let bytes: UnsafeRawBufferPointer
    let failure: (String) -> SparseTuningError
    var at = 0

    init(_ bytes: UnsafeRawBufferPointer, failure: @escaping (String) -> SparseTuningError) {
        self.bytes = bytes
        self.failure = failure
    }

    mutating func parse() throws -> [String: Value] {
        skipSpaces()
        try expect("{")
        var fields: [String: Value] = [:]
        skipSpaces()
        while peek != UInt8(ascii: "}") {
            let key = try string()
            skipSpaces()
            try expect(":")
            skipSpaces()
            guard fields.updateValue(try value(), forKey: key) == nil else { throw failure("duplicate key '\(key)'") }
            skipSpaces()
            guard peek == UInt8(ascii: ",") else { break }
            at += 1
            skipSpaces()
        }
        try expect("}")
        skipSpaces()
        guard at == bytes.count else { throw failure("unexpected text after the closing '}'") }
        return fields
    }

    var peek: UInt8? { at < bytes.count ? bytes[at] : nil }

    mutating func skipSpaces() {
        while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D { at += 1 }
    }

    mutating func expect(_ character: Character) throws {
        guard peek == character.asciiValue else {
            throw failure("expected '\(character)' at byte \(at) of the header text")
        }
        at += 1
    }

    mutating func value() throws -> Value {
        switch peek {
        case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "T"): try word("True"); return .bool(true)
        case UInt8(ascii: "F"): try word("False"); return .bool(false)
        case UInt8(ascii: "("): return .tuple(try tuple())
        case UInt8(ascii: "["): try skipList(); return .list
        default: throw failure("unexpected value at byte \(at) of the header text")
        }
    }

    mutating func string() throws -> String {
        guard let quote = peek, quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
            throw failure("expected a quoted string at byte \(at) of the header text")
        }
        at += 1
        let start = at
        while let byte = peek, byte != quote {
            guard byte != UInt8(ascii: "\\") else { throw failure("escapes in strings are not supported") }
            at += 1
        }
        guard peek == quote else { throw failure("unterminated string") }
        at += 1
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<(at - 1)]), as: UTF8.self)
    }

    mutating func word(_ text: String) throws {
        for byte in text.utf8 {
            guard peek == byte else { throw failure("expected \(text) at byte \(at) of the header text") }
            at += 1
        }
    }

    mutating func tuple() throws -> [Int] {
        try expect("(")
        var items: [Int] = []
        skipSpaces()
        while peek != UInt8(ascii: ")") {
            let start = at
            while let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { at += 1 }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
            guard let dim = Int(text) else {
                throw failure(text.isEmpty ? "shape must hold non-negative integers (byte \(at) of the header text)"
                                           : "dimension \(text) is too large")
            }
            items.append(dim)
            skipSpaces()
            guard peek == UInt8(ascii: ",") else { break }
            at += 1
            skipSpaces()
        }
        try expect(")")
        return items
    }

    /// Skips a (possibly nested) list, as used by structured dtypes, which are rejected afterwards.
    mutating func skipList() throws {
        var depth = 0
        repeat {
            guard let byte = peek else { throw failure("unterminated list") }
            if byte == UInt8(ascii: "[") { depth += 1 }
            if byte == UInt8(ascii: "]") { depth -= 1 }
            at += 1
        } while depth > 0
    }
}
