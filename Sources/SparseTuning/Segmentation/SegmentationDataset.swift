// SegmentationDataset: (image, mask) file pairs of a semantic segmentation split with class names, the ignore value
// and the label mapping (mmseg's reduce_zero_label); loading one sample validates sizes and label range.
import Foundation

/// How raw mask values become training labels.
public enum SegmentationLabelMapping: Sendable, Equatable {
    /// Labels are the mask values.
    case identity
    /// mmseg's `reduce_zero_label`: 0 → ignore (255), v → v − 1 for 1…254, 255 stays 255.
    case reduceZeroLabel

    /// The training label of mask value `value`.
    @inline(__always) public func map(_ value: UInt8) -> UInt8 {
        switch self {
        case .identity: return value
        case .reduceZeroLabel: return value == 0 || value == 255 ? 255 : value - 1
        }
    }
}

/// One split of a semantic segmentation dataset: immutable, `Sendable`, cheap to copy (paths only).
public struct SegmentationDataset: Sendable {
    /// Image files (JPEG or PNG), one per sample.
    public let imagePaths: [String]
    /// PNG mask files, `maskPaths[i]` annotating `imagePaths[i]`.
    public let maskPaths: [String]
    /// Class names; valid labels are `0..<classNames.count`.
    public let classNames: [String]
    /// The label that marks pixels left out of loss and metrics (mmseg's 255).
    public let ignoreIndex: UInt8
    /// How mask values become labels.
    public let labelMapping: SegmentationLabelMapping
    /// One RGB colour per class, for prediction images.  // (K, 3)
    public let palette: [[UInt8]]

    /// - Throws: ``SparseTuningError`` when the path lists differ in length, there are no classes or more than 255,
    ///   the ignore value is a class, or the palette does not have one colour per class.
    public init(imagePaths: [String], maskPaths: [String], classNames: [String], ignoreIndex: UInt8 = 255,
                labelMapping: SegmentationLabelMapping = .identity, palette: [[UInt8]]? = nil) throws {
        guard imagePaths.count == maskPaths.count else {
            throw SparseTuningError("\(imagePaths.count) images but \(maskPaths.count) masks")
        }
        guard !classNames.isEmpty, classNames.count <= 255 else {
            throw SparseTuningError("a segmentation dataset needs 1…255 classes (got \(classNames.count))")
        }
        guard Int(ignoreIndex) >= classNames.count else {
            throw SparseTuningError("ignore value \(ignoreIndex) is one of the \(classNames.count) classes")
        }
        let colours = palette ?? SegmentationPalette.generic(count: classNames.count)
        guard colours.count == classNames.count, colours.allSatisfy({ $0.count == 3 }) else {
            throw SparseTuningError("palette has \(colours.count) colours for \(classNames.count) classes")
        }
        self.imagePaths = imagePaths
        self.maskPaths = maskPaths
        self.classNames = classNames
        self.ignoreIndex = ignoreIndex
        self.labelMapping = labelMapping
        self.palette = colours
    }

    /// Number of samples.
    public var count: Int { imagePaths.count }
    /// Number of classes K.
    public var classCount: Int { classNames.count }

    /// The image path of sample `index`, for messages.
    public func describe(_ index: Int) -> String { imagePaths[index] }

    /// Sample `index`: its image and its label map (mapped, validated).
    ///
    /// - Throws: ``SparseTuningError`` naming the file for an undecodable image or mask, a mask whose size differs
    ///   from its image, or a label outside `0..<K` that is not the ignore value.
    public func load(_ index: Int) throws -> (image: RGBImage, labels: LabelMap) {
        let image = try ImageDecoder.decode(path: imagePaths[index])
        let mask = try LabelMap.read(path: maskPaths[index])
        return (image, try labels(of: mask, image: image, index: index))
    }

    /// `mask` of sample `index` mapped to labels and checked against its image's size and the classes.
    func labels(of mask: LabelMap, image: RGBImage, index: Int) throws -> LabelMap {
        let maskName = (maskPaths[index] as NSString).lastPathComponent
        let imageName = (imagePaths[index] as NSString).lastPathComponent
        guard mask.width == image.width, mask.height == image.height else {
            throw SparseTuningError("mask '\(maskName)' is \(mask.width)×\(mask.height) but image '\(imageName)' is "
                                    + "\(image.width)×\(image.height) (\(maskPaths[index]))")
        }
        var table = [UInt8](repeating: 0, count: 256)
        var valid = [Bool](repeating: false, count: 256)
        for v in 0..<256 {
            table[v] = labelMapping.map(UInt8(v))
            valid[v] = Int(table[v]) < classCount || table[v] == ignoreIndex
        }
        var out = mask
        for i in 0..<out.labels.count {
            let v = Int(mask.labels[i])
            guard valid[v] else {
                let mapped = labelMapping == .identity ? "" : " (\(table[v]) after reduce-zero-label)"
                throw SparseTuningError("label \(v) in '\(maskName)'\(mapped) is outside 0..<\(classCount) and not the "
                                        + "ignore value \(ignoreIndex) (\(maskPaths[index]))")
            }
            out.labels[i] = table[v]
        }
        return out
    }
}
