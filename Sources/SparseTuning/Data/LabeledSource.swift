// ImageSource: the protocol every labelled image collection implements (VTAB-1K lists, image folders, CIFAR
// binaries, in-memory and synthetic data), consumed by the batch loader and the training/evaluation commands.

/// A finite, indexable collection of labelled RGB images.
///
/// Implementations are immutable values that may be read from several threads at once: the batch loader
/// calls ``image(_:)`` concurrently for different indices.
public protocol ImageSource: Sendable {
    /// Number of samples; valid indices are `0..<count`.
    var count: Int { get }
    /// Class names, one per class; labels are indices into this array.
    var classNames: [String] { get }
    /// The 0-based class of sample `i`, in `0..<classNames.count`. Never loads the image.
    func label(_ i: Int) -> Int
    /// Sample `i` decoded to 8-bit RGB.
    ///
    /// - Throws: ``SparseTuningError`` naming the file (or record) when it cannot be read or decoded.
    func image(_ i: Int) throws -> RGBImage
    /// Where sample `i` comes from, for messages: its file path, or e.g. `test_batch.bin[123]` for a record.
    func describe(_ i: Int) -> String
}

extension ImageSource {
    /// Number of classes (`classNames.count`).
    public var classCount: Int { classNames.count }

    /// All labels in index order.
    public var labels: [Int] { (0..<count).map { label($0) } }

    /// How many samples each class has, indexed by label.
    public var classHistogram: [Int] {
        var histogram = [Int](repeating: 0, count: classNames.count)
        for i in 0..<count {
            let l = label(i)
            if l >= 0 && l < histogram.count { histogram[l] += 1 }
        }
        return histogram
    }
}

/// A source whose samples are image files listed with their labels (class folders, VTAB-1K lists, Food-101).
public protocol ImageFileList: ImageSource {
    /// Image paths in sample order.
    var paths: [String] { get }
    /// Labels in sample order.
    var labels: [Int] { get }
}

extension ImageFileList {
    public var count: Int { paths.count }
    public func label(_ i: Int) -> Int { labels[i] }
    public func image(_ i: Int) throws -> RGBImage { try ImageDecoder.decode(path: paths[i]) }
    public func describe(_ i: Int) -> String { paths[i] }
}
