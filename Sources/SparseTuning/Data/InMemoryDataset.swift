// In-memory and generated image sources: InMemoryDataset over arrays of decoded images and labels, and
// SyntheticDataset producing SyntheticImages samples on demand by index (the built-in data of demos and tests).

/// An ``ImageSource`` over images already in memory.
public struct InMemoryDataset: ImageSource {
    /// The images, in index order.
    public let images: [RGBImage]
    /// The label of each image.
    public let imageLabels: [Int]
    public let classNames: [String]
    /// Name used in ``describe(_:)`` (`"<name>[i]"`).
    public let name: String

    /// A source over `images` with `labels` (same count). Class names default to `"0"…"K−1"` with
    /// K = max label + 1.
    ///
    /// - Throws: ``SparseTuningError`` when the counts differ, a label is negative or not below the number of
    ///   class names, or an image is empty.
    public init(images: [RGBImage], labels: [Int], classNames: [String]? = nil, name: String = "memory") throws {
        guard images.count == labels.count else {
            throw SparseTuningError("in-memory dataset '\(name)': \(images.count) images but \(labels.count) labels")
        }
        let names = classNames ?? DatasetFiles.numericClassNames((labels.max() ?? -1) + 1)
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= names.count }) {
            throw SparseTuningError(
                "in-memory dataset '\(name)': label \(labels[bad]) of image \(bad) is outside 0..<\(names.count)")
        }
        if let empty = images.firstIndex(where: { $0.width == 0 || $0.height == 0 }) {
            throw SparseTuningError("in-memory dataset '\(name)': image \(empty) is empty")
        }
        self.images = images
        self.imageLabels = labels
        self.classNames = names
        self.name = name
    }

    public var count: Int { images.count }
    public func label(_ i: Int) -> Int { imageLabels[i] }
    public func image(_ i: Int) throws -> RGBImage { images[i] }
    public func describe(_ i: Int) -> String { "\(name)[\(i)]" }
}

/// An ``ImageSource`` of ``SyntheticImages`` samples generated on demand: sample `i` is
/// `generator.sample(i, seed: seed)`, so the data is deterministic and costs no memory.
public struct SyntheticDataset: ImageSource {
    /// The image generator (side length and class count).
    public let generator: SyntheticImages
    /// Stream seed; different seeds give disjoint-looking data (e.g. one for training, one for testing).
    public let seed: UInt64
    public let count: Int

    /// `count` synthetic images of side `size` over `classes` shape classes (2…8).
    ///
    /// - Throws: ``SparseTuningError`` for an invalid size or class count, or a negative count.
    public init(count: Int, size: Int, classes: Int, seed: UInt64) throws {
        guard count >= 0 else { throw SparseTuningError("synthetic dataset size must not be negative (got \(count))") }
        self.generator = try SyntheticImages(size: size, classes: classes)
        self.seed = seed
        self.count = count
    }

    /// The shape names of the classes used.
    public var classNames: [String] { Array(SyntheticImages.shapes.prefix(generator.classes)) }
    public func label(_ i: Int) -> Int { i % generator.classes }
    public func image(_ i: Int) throws -> RGBImage { generator.sample(i, seed: seed).image }
    public func describe(_ i: Int) -> String { "synthetic[\(i)]" }
}
