// VTABDataset: the VTAB-1K folder layout (vtab-1k/<task>/ with train800/val200/train800val200/test list files
// of "images/<split>/000123.jpg 7" lines) and the table of the 19 tasks with their class counts and groups.
import Foundation

/// The three VTAB task groups; the "mean of group means" convention averages over these.
public enum VTABGroup: String, Sendable, CaseIterable {
    case natural = "Natural"
    case specialized = "Specialized"
    case structured = "Structured"
}

/// One VTAB-1K task: its folder name, class count, group, accepted alternative folder names and the prompt
/// count VPT-deep uses for it.
public struct VTABTask: Sendable, Equatable {
    /// Canonical folder name, e.g. `cifar`.
    public let name: String
    /// Number of classes; labels are `0..<classes`.
    public let classes: Int
    /// Natural, Specialized or Structured.
    public let group: VTABGroup
    /// Other folder names some copies use (`cifar100` for `cifar`, `oxford_pet` for `oxford_iiit_pet`).
    public let aliases: [String]
    /// Prompt tokens per layer used by VPT-deep on this task (for reference tables).
    public let vptPromptTokens: Int

    /// The canonical name followed by the aliases.
    public var folderNames: [String] { [name] + aliases }
}

/// A split of one VTAB-1K task, read from its list file.
///
/// Layout (docs/METHOD.md §8): `<root>/<task>/` holds `images/<split>/NNNNNN.jpg` and the list files `train800.txt`,
/// `val200.txt`, `train800val200.txt` and `test.txt`, each line `images/<split>/000123.jpg 7` — the path
/// relative to the task folder, a space, the 0-based label. An optional `labels.txt` (or `classnames.txt`,
/// `class_names.txt`) in the task folder gives one class name per line.
public struct VTABDataset: ImageFileList {
    /// The 19 VTAB-1K tasks in the customary order (Natural, Specialized, Structured).
    public static let tasks: [VTABTask] = [
        VTABTask(name: "cifar", classes: 100, group: .natural, aliases: ["cifar100"], vptPromptTokens: 10),
        VTABTask(name: "caltech101", classes: 102, group: .natural, aliases: [], vptPromptTokens: 10),
        VTABTask(name: "dtd", classes: 47, group: .natural, aliases: [], vptPromptTokens: 10),
        VTABTask(name: "oxford_flowers102", classes: 102, group: .natural, aliases: [], vptPromptTokens: 1),
        VTABTask(name: "oxford_iiit_pet", classes: 37, group: .natural, aliases: ["oxford_pet"], vptPromptTokens: 1),
        VTABTask(name: "svhn", classes: 10, group: .natural, aliases: [], vptPromptTokens: 50),
        VTABTask(name: "sun397", classes: 397, group: .natural, aliases: [], vptPromptTokens: 5),
        VTABTask(name: "patch_camelyon", classes: 2, group: .specialized, aliases: [], vptPromptTokens: 100),
        VTABTask(name: "eurosat", classes: 10, group: .specialized, aliases: [], vptPromptTokens: 100),
        VTABTask(name: "resisc45", classes: 45, group: .specialized, aliases: [], vptPromptTokens: 10),
        VTABTask(name: "diabetic_retinopathy", classes: 5, group: .specialized, aliases: [], vptPromptTokens: 1),
        VTABTask(name: "clevr_count", classes: 8, group: .structured, aliases: [], vptPromptTokens: 100),
        VTABTask(name: "clevr_dist", classes: 6, group: .structured, aliases: [], vptPromptTokens: 200),
        VTABTask(name: "dmlab", classes: 6, group: .structured, aliases: [], vptPromptTokens: 100),
        VTABTask(name: "kitti", classes: 4, group: .structured, aliases: [], vptPromptTokens: 100),
        VTABTask(name: "dsprites_loc", classes: 16, group: .structured, aliases: [], vptPromptTokens: 100),
        VTABTask(name: "dsprites_ori", classes: 16, group: .structured, aliases: [], vptPromptTokens: 100),
        VTABTask(name: "smallnorb_azi", classes: 18, group: .structured, aliases: [], vptPromptTokens: 200),
        VTABTask(name: "smallnorb_ele", classes: 9, group: .structured, aliases: [], vptPromptTokens: 200),
    ]

    /// The standard list files (without `.txt`): train on `train800val200`, report on `test`.
    public static let standardSplits = ["train800", "val200", "train800val200", "test"]

    /// File names looked for, in this order, in the task folder for class names (one per line).
    public static let classNameFiles = ["labels.txt", "classnames.txt", "class_names.txt"]

    /// The task whose name or alias is `name` (case-insensitive), or nil.
    public static func task(named name: String) -> VTABTask? {
        let key = name.lowercased()
        return tasks.first { $0.folderNames.contains(key) }
    }

    /// Largest list file read (bytes); VTAB lists are well below 1 MB.
    static let maxListBytes = 256 << 20

    /// The task folder that was opened.
    public let taskFolder: String
    /// The task from ``tasks`` when the requested name is known, else nil (then the class count is max label + 1).
    public let task: VTABTask?
    /// The split name (list file name without `.txt`).
    public let split: String
    /// Path of the list file read.
    public let listFile: String
    /// Image paths (task folder joined with the listed relative path), in list order.
    public let paths: [String]
    /// Labels in list order.
    public let labels: [Int]
    public let classNames: [String]

    /// Opens split `split` (`train800`, `val200`, `train800val200`, `test`, or any other list file name; a
    /// trailing `.txt` is accepted) of task `task` under the VTAB-1K folder `root`.
    ///
    /// The task folder is `root/<task>`, trying the task's other accepted names (`cifar` ↔ `cifar100`,
    /// `oxford_iiit_pet` ↔ `oxford_pet`) and also `root/vtab-1k/<task>`. Unknown task names are allowed: their
    /// class count is the largest label + 1 (or the number of names in a labels file).
    ///
    /// - Parameter verifyFiles: check that every listed image exists (a `stat` per line).
    /// - Throws: ``SparseTuningError`` when the root or task folder is missing (listing what exists), the list
    ///   file is missing (listing the list files present), a line is malformed (naming file and line number), a
    ///   label is negative or not below the task's class count, the list is empty, a labels file disagrees with
    ///   the class count, or (with `verifyFiles`) a listed image does not exist.
    public static func open(root: String, task: String, split: String, verifyFiles: Bool = true) throws -> VTABDataset {
        let fm = FileManager.default
        guard DatasetFiles.isDirectory(root) else {
            throw SparseTuningError(fm.fileExists(atPath: root)
                ? "VTAB-1K root '\(root)' is not a directory"
                : "VTAB-1K root folder '\(root)' not found (expected the vtab-1k folder with one subfolder per task)")
        }
        let known = Self.task(named: task)
        var names = [task]
        for name in known?.folderNames ?? [] where !names.contains(name) { names.append(name) }
        let candidates = names.map { (root as NSString).appendingPathComponent($0) }
            + names.map { ((root as NSString).appendingPathComponent("vtab-1k") as NSString).appendingPathComponent($0) }
        guard let folder = candidates.first(where: DatasetFiles.isDirectory) else {
            let present = DatasetFiles.directoryEntries(root).filter { DatasetFiles.isDirectory((root as NSString).appendingPathComponent($0)) }
            let tried = names.map { "'\($0)'" }.joined(separator: ", ")
            throw SparseTuningError(
                "VTAB-1K task \(tried) not found in '\(root)' (it has "
                + (present.isEmpty ? "no subfolders" : "subfolders: \(DatasetFiles.summarise(present))")
                + "); expected <root>/<task>/ holding the list files and images/")
        }

        let splitName = split.hasSuffix(".txt") ? String(split.dropLast(4)) : split
        guard !splitName.isEmpty, !splitName.contains("/") else {
            throw SparseTuningError("invalid VTAB-1K split name '\(split)' (expected one of \(standardSplits.joined(separator: ", ")))")
        }
        let listFile = (folder as NSString).appendingPathComponent(splitName + ".txt")
        guard fm.fileExists(atPath: listFile) else {
            let lists = DatasetFiles.directoryEntries(folder).filter { $0.hasSuffix(".txt") && !classNameFiles.contains($0) }
            throw SparseTuningError(
                "VTAB-1K list file '\(listFile)' not found; '\(folder)' has "
                + (lists.isEmpty ? "no list files" : "list files: \(lists.joined(separator: ", "))")
                + " (expected \(standardSplits.map { $0 + ".txt" }.joined(separator: ", ")))")
        }
        let text = try DatasetFiles.readText(listFile, what: "VTAB-1K list file", limit: maxListBytes)

        var paths: [String] = [], labels: [Int] = [], lineNumbers: [Int] = []
        for (n, rawLine) in DatasetFiles.lines(text).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let lineNumber = n + 1
            guard let space = line.lastIndex(where: { $0 == " " || $0 == "\t" }) else {
                throw malformed(listFile, lineNumber, line)
            }
            let relative = line[..<space].trimmingCharacters(in: .whitespaces)
            let labelText = line[line.index(after: space)...]
            guard !relative.isEmpty, let label = Int(labelText) else {
                throw malformed(listFile, lineNumber, line)
            }
            guard label >= 0 else {
                throw SparseTuningError("\(listFile):\(lineNumber): label \(label) is negative (labels are 0-based class indices)")
            }
            if let known, label >= known.classes {
                throw SparseTuningError(
                    "\(listFile):\(lineNumber): label \(label) is out of range for task '\(known.name)' "
                    + "(\(known.classes) classes, labels 0…\(known.classes - 1))")
            }
            paths.append(relative.hasPrefix("/") ? relative : (folder as NSString).appendingPathComponent(relative))
            labels.append(label)
            lineNumbers.append(lineNumber)
        }
        guard !paths.isEmpty else {
            throw SparseTuningError("VTAB-1K list file '\(listFile)' has no entries (expected lines '<image path> <label>')")
        }

        let maxLabel = labels.max()!
        var classNames = DatasetFiles.numericClassNames(known?.classes ?? maxLabel + 1)
        if let namesFile = classNameFiles.map({ (folder as NSString).appendingPathComponent($0) })
            .first(where: { fm.fileExists(atPath: $0) }) {
            let names = DatasetFiles.nameLines(
                try DatasetFiles.readText(namesFile, what: "class names file", limit: maxListBytes))
            if let known, names.count != known.classes {
                throw SparseTuningError(
                    "class names file '\(namesFile)' has \(names.count) names but task '\(known.name)' has \(known.classes) classes")
            }
            guard names.count > maxLabel else {
                let line = lineNumbers[labels.firstIndex(of: maxLabel)!]
                throw SparseTuningError(
                    "\(listFile):\(line): label \(maxLabel) has no name in '\(namesFile)' (\(names.count) names)")
            }
            classNames = names
        }

        if verifyFiles {
            let missing = paths.indices.filter { !fm.fileExists(atPath: paths[$0]) }
            if let first = missing.first {
                throw SparseTuningError(
                    "\(listFile):\(lineNumbers[first]): image '\(paths[first])' does not exist"
                    + (missing.count > 1 ? " (\(missing.count) of \(paths.count) listed images are missing)" : ""))
            }
        }
        return VTABDataset(taskFolder: folder, task: known, split: splitName, listFile: listFile,
                           paths: paths, labels: labels, classNames: classNames)
    }

    private static func malformed(_ file: String, _ line: Int, _ text: String) -> SparseTuningError {
        let shown = text.count > 120 ? String(text.prefix(120)) + "…" : text
        return SparseTuningError(
            "\(file):\(line): expected '<image path relative to the task folder> <label>' "
            + "(e.g. 'images/test/000123.jpg 7'), got '\(shown)'")
    }
}
