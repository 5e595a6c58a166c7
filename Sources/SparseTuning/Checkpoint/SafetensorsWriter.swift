// Writer for .safetensors files (F32): sorted-key JSON header padded to 8 bytes, written atomically.

/// Writing safetensors files.
public enum Safetensors {
    /// Writes `tensors` as F32 with `metadata` in `__metadata__` to `path`, atomically: the data goes to a
    /// temporary file in the same directory that is renamed over `path` only once complete.
    ///
    /// The header lists tensors with sorted keys and is padded with spaces so the data starts 8-byte
    /// aligned; the data follows in the same (name) order, back to back.
    /// - Throws: ``SparseTuningError`` naming `path` for duplicate or reserved names and I/O failures.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                             to path: String) throws {
        let ordered = tensors.sorted { $0.name < $1.name }
        for (index, item) in ordered.enumerated() {
            guard item.name != "__metadata__" else {
                throw SparseTuningError("\(path): '__metadata__' is reserved and cannot name a tensor")
            }
            if index > 0, ordered[index - 1].name == item.name {
                throw SparseTuningError("\(path): tensor name '\(item.name)' appears more than once")
            }
        }
        var entries: [String: WrittenHeader.Entry] = [:]
        var offset = 0
        for (name, tensor) in ordered {
            let end = offset + 4 * tensor.count
            entries[name] = WrittenHeader.Entry(dtype: SafetensorsDType.f32.rawValue, shape: tensor.shape,
                                                dataOffsets: [offset, end])
            offset = end
        }
        var header = Array(try JSONCoding.encode(WrittenHeader(entries: entries, metadata: metadata)))
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))

        try AtomicFileWriter.writeFile(at: path) { file in
            try withUnsafeBytes(of: UInt64(header.count).littleEndian) { try file.append($0) }
            try file.append(header)
            for (_, tensor) in ordered {
                try file.append(UnsafeRawBufferPointer(start: tensor.data, count: 4 * tensor.count))
            }
        }
    }
}

/// The header ``Safetensors/write(_:metadata:to:)`` writes: each tensor's entry under its name, and
/// `__metadata__` when there is any (keys sorted by ``JSONCoding``).
private struct WrittenHeader: Encodable {
    struct Entry: Encodable {
        var dtype: String
        var shape: [Int]
        var dataOffsets: [Int]

        private enum CodingKeys: String, CodingKey { case dtype, shape, dataOffsets = "data_offsets" }
    }

    var entries: [String: Entry]
    var metadata: [String: String]

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        for (name, entry) in entries { try c.encode(entry, forKey: AnyCodingKey(name)) }
        if !metadata.isEmpty { try c.encode(metadata, forKey: AnyCodingKey("__metadata__")) }
    }
}
