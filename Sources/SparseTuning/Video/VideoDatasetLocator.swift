// VideoDatasetLocator: recognises a video dataset folder — Something-Something v2 annotations, Kinetics annotation
// CSVs, or VideoMAE-style list files — and opens a split of it as a VideoDataset.
import Foundation

/// The video dataset layouts the locator recognises.
public enum VideoDatasetFormat: String, Sendable, CaseIterable {
    /// `labels.json` and `something-something-v2-<split>.json` (at the root or in `labels/`); videos `<id>.webm` in
    /// `videos/` (else the root).
    case somethingSomething
    /// Kinetics CSVs `<split>.csv` with the header `label,youtube_id,time_start,time_end,split` (at the root or in
    /// `annotations/`); clips in `<split>/` (flat or in class folders; else the root). Classes: those of `train.csv`.
    case kinetics
    /// VideoMAE-style lists `<split>.csv` or `<split>.txt` (`path label` / `path num_frames label`), paths relative to
    /// the root; classes from `classes.txt` (one per line), else numbered 0…K−1 with K = 1 + the largest label of
    /// the training and requested lists.
    case list
}

public enum VideoDatasetLocator {
    /// The layout of the folder at `path`.
    ///
    /// - Throws: ``SparseTuningError`` naming `path` when it is not a folder or matches no layout.
    public static func detect(_ path: String) throws -> VideoDatasetFormat {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SparseTuningError("video dataset folder '\(path)' not found")
        }
        if first(in: path, ["labels.json", "labels/labels.json"]) != nil { return .somethingSomething }
        if let csv = first(in: path, ["train.csv", "annotations/train.csv"]), isKineticsCSV(csv) { return .kinetics }
        if first(in: path, ["train.csv", "train.txt", "val.csv", "val.txt", "test.csv", "test.txt"]) != nil { return .list }
        throw SparseTuningError("'\(path)' is not a recognised video dataset: expected labels.json (SSv2), Kinetics CSVs "
                                + "(train.csv with a label,youtube_id,… header) or list files (train.csv / train.txt)")
    }

    /// Opens `split` (`train`, `validation` / `val` / `validate`, `test`, …) of the dataset at `path`.
    ///
    /// - Throws: ``SparseTuningError`` naming the folder and the files looked for when the split is missing, or
    ///   the reader's error for a malformed file.
    public static func open(_ path: String, split: String, format: VideoDatasetFormat? = nil) throws -> VideoDataset {
        let dir = path as NSString
        switch try format ?? detect(path) {
        case .somethingSomething:
            let labels = try require(path, ["labels.json", "labels/labels.json"])
            let annotations = try require(path, ["", "labels/"].map { "\($0)something-something-v2-\(split).json" })
            let videos = isDirectory(dir.appendingPathComponent("videos")) ? dir.appendingPathComponent("videos") : path
            return try SomethingSomethingV2.dataset(annotations: annotations, videoRoot: videos,
                                                    classNames: SomethingSomethingV2.classNames(labels: labels))
        case .kinetics:
            let csv = try require(path, [split, "annotations/\(split)"].map { "\($0).csv" })
            let classes = try Kinetics.classNames(csv: try require(path, ["train.csv", "annotations/train.csv"]))
            let folder = dir.appendingPathComponent(split)
            let root = isDirectory(folder) ? folder : path
            let nested = classes.contains { isDirectory((root as NSString).appendingPathComponent($0)) }
            return try Kinetics.dataset(csv: csv, videoRoot: root, classNames: classes, classFolders: nested)
        case .list:
            let list = try require(path, ["\(split).csv", "\(split).txt"])
            if let file = first(in: path, ["classes.txt"]) {
                return try VideoDataset.list(file: list, root: path, classNames: VideoDataset.classNames(file: file))
            }
            let lists = [list] + [first(in: path, ["train.csv", "train.txt"])].compactMap { $0 }
            let classes = try lists.map { try VideoDataset.list(file: $0, root: path, classNames: nil).classCount }.max()!
            return try VideoDataset.list(file: list, root: path, classNames: VideoDataset.numberedClasses(classes))
        }
    }

    /// The first of `names` (relative to `path`) that exists.
    private static func first(in path: String, _ names: [String]) -> String? {
        names.map { (path as NSString).appendingPathComponent($0) }.first { FileManager.default.fileExists(atPath: $0) }
    }

    private static func require(_ path: String, _ names: [String]) throws -> String {
        guard let found = first(in: path, names) else {
            throw SparseTuningError("video dataset '\(path)' has none of \(names.joined(separator: ", "))")
        }
        return found
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    private static func isKineticsCSV(_ file: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: file) else { return false }
        defer { try? handle.close() }
        let head = String(decoding: handle.readData(ofLength: 64), as: UTF8.self).lowercased()
        return head.hasPrefix("label,youtube_id,time_start,time_end")
    }
}
