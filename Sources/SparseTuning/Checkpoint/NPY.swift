// .npy arrays: reading (float types into fp32 Tensors, integer types into Int64) and atomic writing
// of fp32 tensors and Int64 arrays (format 1.0, C order, little-endian).
import Foundation

/// A .npy array read into memory.
public struct NPYArray: Sendable {
    /// The converted values: floating-point arrays become a fp32 ``Tensor``, integer arrays `Int64` values.
    public enum Storage: Sendable {
        case float(Tensor)
        case int64([Int64])
    }

    /// The element type stored in the file (before conversion).
    public let dtype: NPYDType
    /// Dimensions, outermost first (empty for a scalar).
    public let shape: [Int]
    /// The values.
    public let storage: Storage

    /// The values as a fp32 tensor, or nil for an integer array.
    public var tensor: Tensor? {
        if case .float(let tensor) = storage { return tensor }
        return nil
    }

    /// The values as `Int64`, or nil for a floating-point array.
    public var int64Values: [Int64]? {
        if case .int64(let values) = storage { return values }
        return nil
    }
}

/// Reading and writing NumPy .npy files.
public enum NPY {
    /// Reads the .npy file at `path`. Throws a ``SparseTuningError`` naming the file for anything that is not
    /// a C-order little-endian `<f4`, `<f8`, `<f2`, `<i8` or `<i4` array of exactly the declared size.
    public static func read(path: String) throws -> NPYArray {
        let file = try MappedFile(path: path)
        return try withExtendedLifetime(file) { try read(bytes: file.bytes, name: path) }
    }

    /// Reads a .npy array held in memory; `name` (a file, or a file and entry) prefixes error messages.
    public static func read(data: Data, name: String) throws -> NPYArray {
        try data.withUnsafeBytes { try read(bytes: $0, name: name) }
    }

    static func read(bytes: UnsafeRawBufferPointer, name: String) throws -> NPYArray {
        let header = try NPYHeader(bytes, name: name)
        let available = bytes.count - header.dataOffset
        guard available >= header.dataByteCount else {
            throw SparseTuningError("\(name): truncated .npy data: shape \(NPYHeader.tupleText(header.shape)) of "
                + "'\(header.dtype.rawValue)' needs \(header.dataByteCount) bytes but only \(available) follow the header")
        }
        guard available == header.dataByteCount else {
            throw SparseTuningError("\(name): \(available - header.dataByteCount) unexpected bytes after the .npy data "
                + "(shape \(NPYHeader.tupleText(header.shape)) of '\(header.dtype.rawValue)' needs \(header.dataByteCount))")
        }
        let source = bytes.baseAddress! + header.dataOffset
        let count = header.elementCount
        let storage: NPYArray.Storage
        switch header.dtype {
        case .float32, .float16, .float64:
            let tensor = Tensor(zeros: header.shape)
            switch header.dtype {
            case .float32:
                UnsafeMutableRawPointer(tensor.data).copyMemory(from: source, byteCount: header.dataByteCount)
            case .float16:
                convertHalfs(source, count: count, bfloat: false, into: tensor.data)
            default:
                for i in 0..<count {
                    let bits = UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                    tensor.data[i] = Float(Double(bitPattern: bits))
                }
            }
            storage = .float(tensor)
        case .int64:
            storage = .int64((0..<count).map {
                Int64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))
            })
        case .int32:
            storage = .int64((0..<count).map {
                Int64(Int32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)))
            })
        }
        return NPYArray(dtype: header.dtype, shape: header.shape, storage: storage)
    }

    /// Writes `tensor` as a `<f4` C-order .npy file, atomically (temporary file renamed over `path`).
    public static func write(_ tensor: Tensor, to path: String) throws {
        try write(dtype: .float32, shape: tensor.shape, to: path) { file in
            try file.append(UnsafeRawBufferPointer(start: tensor.data, count: 4 * tensor.count))
        }
    }

    /// Writes `values` with `shape` as a `<i8` C-order .npy file, atomically.
    public static func writeInt64(_ values: [Int64], shape: [Int], to path: String) throws {
        guard checkedCounts(shape, itemSize: 8)?.elements == values.count else {
            throw SparseTuningError("\(path): \(values.count) values do not fill shape \(NPYHeader.tupleText(shape))")
        }
        try write(dtype: .int64, shape: shape, to: path) { file in
            try values.map(\.littleEndian).withUnsafeBytes { try file.append($0) }
        }
    }

    private static func write(dtype: NPYDType, shape: [Int], to path: String,
                              data: (AtomicFileWriter) throws -> Void) throws {
        let dict = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(NPYHeader.tupleText(shape)), }"
        // numpy pads with spaces and ends with a newline so the data starts 64-byte aligned.
        let version: UInt8 = dict.utf8.count + 64 <= Int(UInt16.max) ? 1 : 2
        let preamble = version == 1 ? 10 : 12
        let padding = (64 - (preamble + dict.utf8.count + 1) % 64) % 64
        let text = Array(dict.utf8) + Array(repeating: UInt8(ascii: " "), count: padding) + [UInt8(ascii: "\n")]
        var head = NPYHeader.magic + [version, 0]
        if version == 1 {
            withUnsafeBytes(of: UInt16(text.count).littleEndian) { head.append(contentsOf: $0) }
        } else {
            withUnsafeBytes(of: UInt32(text.count).littleEndian) { head.append(contentsOf: $0) }
        }
        try AtomicFileWriter.writeFile(at: path) { file in
            try file.append(head + text)
            try data(file)
        }
    }
}
