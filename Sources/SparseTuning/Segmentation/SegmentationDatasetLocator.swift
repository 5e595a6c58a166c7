// SegmentationDatasetLocator: recognises a semantic segmentation folder — ADE20K's ADEChallengeData2016 or a generic
// "segfolder" (images/<split>, masks/<split>, classes.txt) — and opens one split of it as a SegmentationDataset.
import Foundation

/// The segmentation dataset layouts the locator recognises.
public enum SegmentationDatasetFormat: String, Sendable, CaseIterable {
    /// `[ADEChallengeData2016/]images/{training,validation}/*.jpg` + `annotations/{training,validation}/*.png`;
    /// reduce_zero_label, the 150 mmseg classes and palette.
    case ade20k
    /// `images/<split>/NAME.(jpg|jpeg|png)` + `masks/<split>/NAME.png` + `classes.txt` (one class per line).
    case segfolder
}

public enum SegmentationDatasetLocator {
    /// The layout of the folder at `path`.
    ///
    /// - Throws: ``SparseTuningError`` naming `path` when it is not a folder or matches no layout.
    public static func detect(_ path: String) throws -> SegmentationDatasetFormat {
        guard DatasetFiles.isDirectory(path) else {
            throw SparseTuningError("segmentation dataset folder '\(path)' not found")
        }
        if adeRoot(path) != nil { return .ade20k }
        let join = (path as NSString).appendingPathComponent
        if DatasetFiles.isDirectory(join("images")) && DatasetFiles.isDirectory(join("masks")) { return .segfolder }
        throw SparseTuningError("'\(path)' is not a recognised segmentation dataset: expected ADEChallengeData2016 "
                                + "(images/ and annotations/ with training/ and validation/) or a segfolder (images/<split>, "
                                + "masks/<split>, classes.txt)")
    }

    /// Opens `split` of the dataset at `path`. ADE20K accepts `train`/`training` and `val`/`validation`; segfolder
    /// splits are folder names (`train`, `val`, …).
    ///
    /// - Parameters:
    ///   - ignoreIndex: the ignore value of a segfolder (ADE20K: always 255).
    ///   - reduceZeroLabel: apply mmseg's reduce_zero_label to a segfolder (ADE20K: always).
    /// - Throws: ``SparseTuningError`` naming the missing folder or file, an image without mask or a mask without
    ///   image, an empty split, or a malformed classes file.
    public static func open(_ path: String, split: String, format: SegmentationDatasetFormat? = nil,
                            ignoreIndex: UInt8 = 255, reduceZeroLabel: Bool = false) throws -> SegmentationDataset {
        switch try format ?? detect(path) {
        case .ade20k:
            guard let root = adeRoot(path) else {
                throw SparseTuningError("'\(path)' has no ADEChallengeData2016 images/ and annotations/ folders")
            }
            let folder: String
            switch split {
            case "train", "training": folder = "training"
            case "val", "validation", "validate": folder = "validation"
            default: throw SparseTuningError("ADE20K has splits training and validation, not '\(split)'")
            }
            let (images, masks) = try pairs(root: root, imageDir: "images/\(folder)", maskDir: "annotations/\(folder)",
                                            imageExtensions: ["jpg"])
            return try SegmentationDataset(imagePaths: images, maskPaths: masks, classNames: ADE20K.classes,
                                           ignoreIndex: 255, labelMapping: .reduceZeroLabel, palette: ADE20K.palette)
        case .segfolder:
            let classesFile = (path as NSString).appendingPathComponent("classes.txt")
            guard FileManager.default.fileExists(atPath: classesFile) else {
                throw SparseTuningError("segmentation dataset '\(path)' has no classes.txt (one class name per line)")
            }
            let names = DatasetFiles.nameLines(try DatasetFiles.readText(classesFile, what: "classes file", limit: 1 << 20))
            guard !names.isEmpty else { throw SparseTuningError("classes file '\(classesFile)' lists no class") }
            let (images, masks) = try pairs(root: path, imageDir: "images/\(split)", maskDir: "masks/\(split)",
                                            imageExtensions: ["jpg", "jpeg", "png"])
            return try SegmentationDataset(imagePaths: images, maskPaths: masks, classNames: names, ignoreIndex: ignoreIndex,
                                           labelMapping: reduceZeroLabel ? .reduceZeroLabel : .identity)
        }
    }

    /// The ADEChallengeData2016 folder: `path` itself or its child of that name.
    static func adeRoot(_ path: String) -> String? {
        for root in [path, (path as NSString).appendingPathComponent("ADEChallengeData2016")] {
            let join = (root as NSString).appendingPathComponent
            if DatasetFiles.isDirectory(join("images/training")) || DatasetFiles.isDirectory(join("images/validation")),
               DatasetFiles.isDirectory(join("annotations")) {
                return root
            }
        }
        return nil
    }

    /// Images of `imageDir` and masks (`.png`) of `maskDir` matched by file stem, sorted by stem (code points).
    static func pairs(root: String, imageDir: String, maskDir: String,
                      imageExtensions: Set<String>) throws -> (images: [String], masks: [String]) {
        let imageFolder = (root as NSString).appendingPathComponent(imageDir)
        let maskFolder = (root as NSString).appendingPathComponent(maskDir)
        for folder in [imageFolder, maskFolder] where !DatasetFiles.isDirectory(folder) {
            throw SparseTuningError("segmentation dataset folder '\(folder)' not found")
        }
        func stems(_ folder: String, _ extensions: Set<String>) throws -> [String: String] {
            var out: [String: String] = [:]
            for name in DatasetFiles.directoryEntries(folder) {
                let ext = (name as NSString).pathExtension.lowercased()
                guard extensions.contains(ext) else { continue }
                let stem = (name as NSString).deletingPathExtension
                if let other = out[stem] {
                    throw SparseTuningError("'\(folder)' has two files for '\(stem)': \(other) and \(name)")
                }
                out[stem] = name
            }
            return out
        }
        let images = try stems(imageFolder, imageExtensions), masks = try stems(maskFolder, ["png"])
        for stem in images.keys.sorted(by: DatasetFiles.codePointOrder) where masks[stem] == nil {
            throw SparseTuningError("image '\(images[stem]!)' in '\(imageFolder)' has no mask '\(stem).png' in '\(maskFolder)'")
        }
        for stem in masks.keys.sorted(by: DatasetFiles.codePointOrder) where images[stem] == nil {
            throw SparseTuningError("mask '\(masks[stem]!)' in '\(maskFolder)' has no image '\(stem).(\(imageExtensions.sorted().joined(separator: "|")))' in '\(imageFolder)'")
        }
        guard !images.isEmpty else { throw SparseTuningError("no images in '\(imageFolder)'") }
        let order = images.keys.sorted(by: DatasetFiles.codePointOrder)
        return (order.map { (imageFolder as NSString).appendingPathComponent(images[$0]!) },
                order.map { (maskFolder as NSString).appendingPathComponent(masks[$0]!) })
    }
}
