// .npy arrays: reading (float16/32/64 into fp32 Tensors, int32/64 into Int64; either byte order; Fortran-order
// arrays transposed to C order) and atomic writing of fp32 tensors and Int64 arrays (format 1.0, C order,
// little-endian).
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
    /// The descr as written in the file, e.g. `'>f8'` (the byte order is not kept: values are in host order).
    public let descr: String
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
    /// Reads the .npy file at `path`: `f2`, `f4`, `f8` (converted to fp32, float64 rounded to nearest) or `i4`,
    /// `i8` (converted to Int64), little- or big-endian, C or Fortran order (returned in C order). Throws a
    /// ``SparseTuningError`` naming the file for any other dtype or a header or size that does not check out.
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
                + "'\(header.descr)' needs \(header.dataByteCount) bytes but only \(available) follow the header")
        }
        guard available == header.dataByteCount else {
            throw SparseTuningError("\(name): \(available - header.dataByteCount) unexpected bytes after the .npy data "
                + "(shape \(NPYHeader.tupleText(header.shape)) of '\(header.descr)' needs \(header.dataByteCount))")
        }
        let source = bytes.baseAddress! + header.dataOffset
        let count = header.elementCount
        let big = header.bigEndian
        /// The `i`-th stored element as raw bits in host order.
        func bits<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
            let raw = source.loadUnaligned(fromByteOffset: MemoryLayout<T>.size * i, as: T.self)
            return big ? T(bigEndian: raw) : T(littleEndian: raw)
        }
        let storage: NPYArray.Storage
        switch header.dtype {
        case .float32, .float16, .float64:
            let tensor = Tensor(zeros: header.shape)
            let out = tensor.data
            switch header.dtype {
            case .float32:
                if big {
                    for i in 0..<count { out[i] = Float(bitPattern: bits(i, UInt32.self)) }
                } else {
                    UnsafeMutableRawPointer(out).copyMemory(from: source, byteCount: header.dataByteCount)
                }
            case .float16:
                for i in 0..<count { out[i] = floatFromHalfBits(bits(i, UInt16.self)) }
            default:
                // Round to nearest even, as numpy's astype(float32).
                for i in 0..<count { out[i] = Float(Double(bitPattern: bits(i, UInt64.self))) }
            }
            if header.fortranOrder {
                let fortran = Array(UnsafeBufferPointer(start: out, count: count))
                fortran.withUnsafeBufferPointer { fortranToC($0.baseAddress!, shape: header.shape, into: out) }
            }
            storage = .float(tensor)
        case .int64, .int32:
            var values = header.dtype == .int64
                ? (0..<count).map { Int64(bitPattern: bits($0, UInt64.self)) }
                : (0..<count).map { Int64(Int32(bitPattern: bits($0, UInt32.self))) }
            if header.fortranOrder {
                let fortran = values
                values.withUnsafeMutableBufferPointer { out in
                    fortran.withUnsafeBufferPointer { fortranToC($0.baseAddress!, shape: header.shape, into: out.baseAddress!) }
                }
            }
            storage = .int64(values)
        }
        return NPYArray(dtype: header.dtype, descr: header.descr, shape: header.shape, storage: storage)
    }

    /// Copies an array stored in Fortran order (first index fastest) into C order (last index fastest).
    /// `source` and `destination` hold the product of `shape` elements and must not overlap.
    static func fortranToC<T>(_ source: UnsafePointer<T>, shape: [Int], into destination: UnsafeMutablePointer<T>) {
        let count = shape.reduce(1, *)
        guard count > 0 else { return }
        guard shape.count > 1 else {
            destination.update(from: source, count: count)
            return
        }
        // Walk the source sequentially, keeping the C offset of the current index with an odometer.
        var cStrides = [Int](repeating: 1, count: shape.count)
        for k in stride(from: shape.count - 2, through: 0, by: -1) { cStrides[k] = cStrides[k + 1] * shape[k + 1] }
        var index = [Int](repeating: 0, count: shape.count)
        var offset = 0
        let inner = shape[0], innerStride = cStrides[0]
        var f = 0
        while f < count {
            var c = offset
            for i in 0..<inner {
                destination[c] = source[f + i]
                c += innerStride
            }
            f += inner
            // Advance the odometer over dimensions 1... (dimension 0 was the inner loop).
            var k = 1
            while k < shape.count {
                index[k] += 1
                offset += cStrides[k]
                if index[k] < shape[k] { break }
                offset -= cStrides[k] * shape[k]
                index[k] = 0
                k += 1
            }
        }
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
