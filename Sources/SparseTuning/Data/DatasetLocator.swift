// One entry point for every dataset layout: recognise a folder (VTAB-1K task, Food-101, CIFAR binaries, class
// subfolders) and open the requested split as an ImageSource.
import Foundation

/// The dataset layouts the library reads.
public enum DatasetFormat: String, Sendable, CaseIterable {
    /// A VTAB-1K task folder with `train800val200.txt`, `test.txt`, … (docs/METHOD.md §8).
    case vtab
    /// `root/<class>/<image>`; with `train/`, `val/` or `test/` subfolders the split picks one.
    case folder
    /// CIFAR-10/100 binary files.
    case cifar
    /// Food-101: `images/<class>/<id>.jpg` with `meta/train.txt`, `meta/test.txt`.
    case food101
}

public enum DatasetLocator {
    /// The layout of the folder at `path`, recognised by its files.
    public static func detect(_ path: String) throws -> DatasetFormat {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw SparseTuningError("dataset folder '\(path)' not found")
        }
        func has(_ name: String) -> Bool { fm.fileExists(atPath: (path as NSString).appendingPathComponent(name)) }
        if VTABDataset.standardSplits.contains(where: { has("\($0).txt") }) { return .vtab }
        if has("meta/train.txt") && has("images") { return .food101 }
        let cifarFiles = ["data_batch_1.bin", "train.bin", "test_batch.bin", "test.bin", "cifar-10-batches-bin", "cifar-100-binary"]
        if cifarFiles.contains(where: has) { return .cifar }
        return .folder
    }

    /// Opens `split` of the dataset at `path` (`format` nil = detect). Splits: VTAB list names
    /// (`train800val200`, `test`, …), `train`/`test` for CIFAR and Food-101, a subfolder name for class folders.
    public static func open(_ path: String, split: String, format: DatasetFormat? = nil) throws -> any ImageSource {
        let fmt = try format ?? detect(path)
        switch fmt {
        case .vtab:
            let url = URL(fileURLWithPath: path).standardizedFileURL
            return try VTABDataset.open(root: url.deletingLastPathComponent().path, task: url.lastPathComponent, split: split)
        case .cifar:
            return try CIFARDataset.open(root: path, split: split)
        case .food101:
            return try ImageFolderDataset.openFood101(root: path, split: split)
        case .folder:
            let sub = (path as NSString).appendingPathComponent(split)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: sub, isDirectory: &isDir), isDir.boolValue {
                return try ImageFolderDataset.open(root: sub)
            }
            return try ImageFolderDataset.open(root: path)
        }
    }

    /// The conventional (train, eval) split names of a layout.
    public static func defaultSplits(_ format: DatasetFormat) -> (train: String, eval: String) {
        switch format {
        case .vtab: return ("train800val200", "test")
        case .cifar, .food101: return ("train", "test")
        case .folder: return ("train", "val")
        }
    }
}
