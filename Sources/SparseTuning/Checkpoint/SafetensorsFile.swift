// Reader for .safetensors files: memory-maps the file, validates the header, converts F32/F16/BF16 to fp32 Tensors.

#if _endian(big)
#error("safetensors data is little-endian; this reader assumes a little-endian host")
#endif

/// An opened, validated safetensors file. Tensors are read from a read-only memory map on demand.
public struct SafetensorsFile: Sendable {
    /// The path the file was opened with.
    public let path: String
    /// Tensor names in the order their data appears in the file.
    public let names: [String]
    /// The `__metadata__` map (empty when the file has none).
    public let metadata: [String: String]

    private let file: MappedFile
    private let dataStart: Int
    private let entries: [String: SafetensorsEntry]

    /// Opens and validates `path`. Throws a ``SparseTuningError`` naming the file (and the tensor, where one is
    /// at fault) when the file is missing, unreadable, or breaks any rule of the format.
    public static func open(_ path: String) throws -> SafetensorsFile {
        try SafetensorsFile(file: MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        let header = try SafetensorsHeader(file: file.bytes, path: file.path)
        self.file = file
        path = file.path
        dataStart = header.dataStart
        metadata = header.metadata
        names = header.entries.map(\.name)
        entries = Dictionary(uniqueKeysWithValues: header.entries.map { ($0.name, $0) })
    }

    /// The header entry (dtype, shape, byte range) of `name`, or nil if the file has no such tensor.
    public func entry(_ name: String) -> SafetensorsEntry? { entries[name] }

    /// Every tensor's shape by name (from the header; no data read).
    var shapes: [String: [Int]] { entries.mapValues(\.shape) }

    /// The tensor `name` converted to fp32.
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else {
            throw SparseTuningError("\(path): no tensor named '\(name)'")
        }
        let tensor = Tensor(zeros: entry.shape)
        let source = file.bytes.baseAddress! + dataStart + entry.dataRange.lowerBound
        switch entry.dtype {
        case .f32:
            UnsafeMutableRawPointer(tensor.data).copyMemory(from: source, byteCount: entry.dataRange.count)
        case .f16, .bf16:
            convertHalfs(source, count: entry.elementCount, bfloat: entry.dtype == .bf16, into: tensor.data)
        }
        return tensor
    }

    /// Every tensor, converted to fp32, keyed by name.
    public func loadAll() throws -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for name in names { tensors[name] = try tensor(name) }
        return tensors
    }
}
