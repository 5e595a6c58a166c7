// Tensor: a 64-byte-aligned, row-major fp32 buffer with a shape, owned or lent by an activation arena. The one
// array type of the library.

/// A dense row-major `Float` tensor that owns its storage.
///
/// Storage is 64-byte aligned (AVX-512 friendly) and zero-initialised. Tensors are reference types so
/// large buffers are never copied implicitly; use ``copy()`` for an explicit copy.
public final class Tensor: @unchecked Sendable {
    /// Dimensions, outermost first.
    public private(set) var shape: [Int]
    /// Number of elements (product of `shape`).
    public let count: Int
    /// Raw storage, `count` floats.
    public let data: UnsafeMutablePointer<Float>
    /// For a tensor from an ``Arena``: the block its bytes live in and where to report its release (nil when the
    /// tensor owns its bytes).
    private let lease: Lease?

    /// What an arena tensor holds on to: the block its bytes are in and the step's recorder.
    struct Lease {
        let block: Arena.Block
        let recorder: Arena.Recorder
        let index: Int
    }

    /// A zero-filled tensor of the given shape.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
        self.data = raw.assumingMemoryBound(to: Float.self)
        lease = nil
    }

    /// A tensor whose contents are undefined, for buffers the caller overwrites completely (skips zero-filling).
    public init(uninitialized shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        data = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64).assumingMemoryBound(to: Float.self)
        lease = nil
    }

    /// A tensor over `data` inside an arena block (not owned: the block frees it).
    init(borrowing data: UnsafeMutablePointer<Float>, shape: [Int], lease: Lease) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = data
        self.lease = lease
    }

    /// A tensor holding a copy of `values`; `values.count` must equal the product of `shape`.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(zeros: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit {
        if let lease { lease.recorder.release(lease.index, block: lease.block) } else { UnsafeMutableRawPointer(data).deallocate() }
    }

    /// The elements as a Swift array (copies).
    public var values: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// Reinterpret the same storage with a new shape of equal element count.
    public func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        shape = newShape
    }

    /// An independent copy.
    public func copy() -> Tensor {
        let t = Tensor(zeros: shape)
        t.data.update(from: data, count: count)
        return t
    }

    /// Element access by flat index.
    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor\(shape)" }
}
