// Parsing and validation of a safetensors header (docs/METHOD.md §7): every size is checked against the file
// before use.

/// Element types of safetensors tensors that the library reads (all are converted to fp32).
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"

    /// Bytes per element.
    public var itemSize: Int { self == .f32 ? 4 : 2 }
}

/// One tensor described by a safetensors header.
public struct SafetensorsEntry: Sendable, Equatable {
    /// Tensor name.
    public let name: String
    /// Stored element type.
    public let dtype: SafetensorsDType
    /// Dimensions, outermost first (empty for a scalar).
    public let shape: [Int]
    /// Number of elements (product of `shape`).
    public let elementCount: Int
    /// Byte range inside the data section, which starts right after the header.
    public let dataRange: Range<Int>
}

/// A validated safetensors header: entries in data order, metadata, and where the data section starts.
struct SafetensorsHeader {
    /// Largest accepted header, in bytes.
    static let maxHeaderBytes = 100_000_000

    /// Entries sorted by their position in the data section.
    let entries: [SafetensorsEntry]
    /// The `__metadata__` map (empty when absent).
    let metadata: [String: String]
    /// Offset of the data section from the start of the file.
    let dataStart: Int

    /// Parses and validates the header of the safetensors file `bytes`; errors name `path`.
    init(file bytes: UnsafeRawBufferPointer, path: String) throws {
        func failure(_ message: String) -> SparseTuningError { SparseTuningError("\(path): \(message)") }

        guard bytes.count >= 8 else {
            throw failure("file is \(bytes.count) bytes, too short for a safetensors file "
                + "(expected at least the 8-byte header length)")
        }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(Self.maxHeaderBytes) else {
            throw failure("header length \(declared) exceeds the limit of \(Self.maxHeaderBytes) bytes "
                + "(not a safetensors file?)")
        }
        let headerLength = Int(declared)
        guard headerLength <= bytes.count - 8 else {
            throw failure("header length \(headerLength) runs past the end of the file "
                + "(only \(bytes.count - 8) bytes follow the 8-byte length)")
        }
        dataStart = 8 + headerLength
        let dataSize = bytes.count - dataStart

        let json: SafetensorsJSON
        do {
            json = try SafetensorsJSON.parse(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart]))
        } catch {
            throw failure("header is not valid JSON: \(error.description)")
        }
        guard case .object(let members) = json else {
            throw failure("header must be a JSON object, found \(json.kind)")
        }

        var metadata: [String: String] = [:]
        var entries: [SafetensorsEntry] = []
        for (name, value) in members.sorted(by: { $0.key < $1.key }) {
            if name == "__metadata__" {
                metadata = try Self.metadata(value, failure: failure)
            } else {
                entries.append(try Self.entry(name, value, dataSize: dataSize,
                                              failure: { failure("tensor '\(name)': \($0)") }))
            }
        }
        entries.sort { ($0.dataRange.lowerBound, $0.dataRange.upperBound, $0.name)
            < ($1.dataRange.lowerBound, $1.dataRange.upperBound, $1.name) }
        try Self.checkCoverage(entries, dataSize: dataSize, failure: failure)
        self.entries = entries
        self.metadata = metadata
    }

    private static func metadata(_ value: SafetensorsJSON, failure: (String) -> SparseTuningError) throws -> [String: String] {
        guard case .object(let members) = value else {
            throw failure("'__metadata__' must be an object of strings, found \(value.kind)")
        }
        var metadata: [String: String] = [:]
        for (key, item) in members {
            guard case .string(let text) = item else {
                throw failure("'__metadata__' value for key '\(key)' must be a string, found \(item.kind)")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func entry(_ name: String, _ value: SafetensorsJSON, dataSize: Int,
                              failure: (String) -> SparseTuningError) throws -> SafetensorsEntry {
        guard case .object(let fields) = value else {
            throw failure("entry must be an object with dtype, shape and data_offsets, found \(value.kind)")
        }
        if let extra = fields.keys.sorted().first(where: { !["dtype", "shape", "data_offsets"].contains($0) }) {
            throw failure("unexpected field '\(extra)' (expected dtype, shape, data_offsets)")
        }
        guard let dtypeValue = fields["dtype"] else { throw failure("missing 'dtype'") }
        guard case .string(let dtypeName) = dtypeValue else {
            throw failure("'dtype' must be a string, found \(dtypeValue.kind)")
        }
        guard let shapeValue = fields["shape"] else { throw failure("missing 'shape'") }
        let shape = try integers(shapeValue, field: "shape", failure: failure)
        guard let offsetsValue = fields["data_offsets"] else { throw failure("missing 'data_offsets'") }
        let offsets = try integers(offsetsValue, field: "data_offsets", failure: failure)
        guard offsets.count == 2 else {
            throw failure("'data_offsets' must hold exactly 2 integers [begin, end], found \(offsets.count)")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw failure("dtype '\(dtypeName)' is not supported (readable dtypes: "
                + SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        if let negative = shape.first(where: { $0 < 0 }) {
            throw failure("negative dimension \(negative) in shape \(shape)")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, end >= 0 else { throw failure("negative value in data_offsets \(offsets)") }
        guard begin <= end else { throw failure("data_offsets \(offsets) end before they begin") }
        guard let (count, byteCount) = checkedCounts(shape, itemSize: dtype.itemSize) else {
            throw failure("shape \(shape) has too many elements")
        }
        guard end - begin == byteCount else {
            throw failure("data_offsets \(offsets) span \(end - begin) bytes but shape \(shape) of \(dtypeName) "
                + "needs \(byteCount) bytes")
        }
        guard end <= dataSize else {
            throw failure("data_offsets \(offsets) lie outside the data section (\(dataSize) bytes)")
        }
        return SafetensorsEntry(name: name, dtype: dtype, shape: shape, elementCount: count, dataRange: begin..<end)
    }

    private static func integers(_ value: SafetensorsJSON, field: String,
                                 failure: (String) -> SparseTuningError) throws -> [Int] {
        guard case .array(let items) = value else {
            throw failure("'\(field)' must be an array of integers, found \(value.kind)")
        }
        return try items.map { item in
            guard case .integer(let number) = item else {
                throw failure("'\(field)' must be an array of integers, found \(item.kind) in it")
            }
            return number
        }
    }

    /// The data section must be covered exactly: tensors back to back from 0 to its end, no overlap, no hole.
    private static func checkCoverage(_ sorted: [SafetensorsEntry], dataSize: Int,
                                      failure: (String) -> SparseTuningError) throws {
        var covered = 0
        var previous: String?
        for entry in sorted {
            let begin = entry.dataRange.lowerBound
            if begin < covered {
                throw failure("tensors '\(previous!)' and '\(entry.name)' overlap (bytes \(begin)..<\(covered) "
                    + "of the data section belong to both)")
            }
            if begin > covered {
                throw failure("hole in the data section: bytes \(covered)..<\(begin) before tensor '\(entry.name)' "
                    + "belong to no tensor")
            }
            covered = entry.dataRange.upperBound
            previous = entry.name
        }
        guard covered == dataSize else {
            throw failure("\(dataSize - covered) trailing bytes after the last tensor (the data section is "
                + "\(dataSize) bytes, the tensors cover \(covered))")
        }
    }
}
