// ImageFolderDataset: torchvision's ImageFolder layout (root/<class>/<images>, classes and files in sorted order)
// and Food-101's layout (images/<class>/<id>.jpg listed by meta/train.txt and meta/test.txt).
import Foundation

/// Labelled image files organised by class.
///
/// - ``open(root:)``: torchvision's `ImageFolder` — one subfolder of `root` per class (class names sorted by code
///   point, label = position), every `.jpg`, `.jpeg` or `.png` file (case-insensitive) below it, in
///   torchvision's order (folders sorted by path, files sorted within each folder; subfolders are walked).
/// - ``openFood101(root:split:verifyFiles:)``: Food-101 — `images/<class>/<id>.jpg` listed by
///   `meta/<split>.txt` lines `<class>/<id>`, class names from `meta/classes.txt` when present.
public struct ImageFolderDataset: ImageFileList {
    /// File extensions read as images (compared in lower case). Decoding goes by the file's bytes, not its name.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Deepest folder nesting walked below a class folder (guards against symbolic-link cycles).
    static let maxDepth = 32

    /// The folder that was opened.
    public let root: String
    /// Image paths in sample order.
    public let paths: [String]
    /// Labels in sample order.
    public let labels: [Int]
    public let classNames: [String]

    /// Opens `root/<class>/…` as torchvision's `ImageFolder` does. Hidden entries (starting with `.`) and files
    /// with other extensions are ignored.
    ///
    /// - Throws: ``SparseTuningError`` when `root` is missing or has no class subfolders, or when a class folder
    ///   holds no image file (naming the folder and any files that were ignored).
    public static func open(root: String) throws -> ImageFolderDataset {
        guard DatasetFiles.isDirectory(root) else {
            throw SparseTuningError(FileManager.default.fileExists(atPath: root)
                ? "image folder '\(root)' is not a directory"
                : "image folder '\(root)' not found (expected <root>/<class>/<images>)")
        }
        let entries = DatasetFiles.directoryEntries(root)
        let classes = entries.filter { DatasetFiles.isDirectory(join(root, $0)) }
        if classes.contains("images") && classes.contains("meta")
            && FileManager.default.fileExists(atPath: join(root, "meta/train.txt")) {
            throw SparseTuningError(
                "'\(root)' has the Food-101 layout (images/ and meta/train.txt), not one folder per class: "
                + "open it as Food-101 with a split (train or test)")
        }
        guard !classes.isEmpty else {
            let images = entries.filter(isImageName)
            throw SparseTuningError(
                "image folder '\(root)' has no class subfolders"
                + (images.isEmpty ? "" : " (it holds \(images.count) image files directly)")
                + "; expected <root>/<class>/<images>, one subfolder per class")
        }
        var paths: [String] = [], labels: [Int] = []
        for (label, name) in classes.enumerated() {
            let folder = join(root, name)
            var ignored: [String] = []
            let files = imageFiles(under: folder, ignored: &ignored)
            guard !files.isEmpty else {
                throw SparseTuningError(
                    "class folder '\(folder)' has no images (expected .jpg, .jpeg or .png files"
                    + (ignored.isEmpty ? ")" : "; ignored: \(DatasetFiles.summarise(ignored)))"))
            }
            paths += files
            labels += Array(repeating: label, count: files.count)
        }
        return ImageFolderDataset(root: root, paths: paths, labels: labels, classNames: classes)
    }

    /// Opens split `split` (`train` or `test`, i.e. `meta/<split>.txt`) of the Food-101 folder `root`.
    ///
    /// Each list line `<class>/<id>` names `images/<class>/<id>.jpg`; its label is the position of `<class>` in
    /// `meta/classes.txt` when that file exists, else among the sorted subfolders of `images/`.
    ///
    /// - Parameter verifyFiles: check that every listed image exists.
    /// - Throws: ``SparseTuningError`` when `images/` or the list file is missing (listing the list files present),
    ///   a line is malformed or names an unknown class (naming file and line number), the list is empty, or (with
    ///   `verifyFiles`) a listed image does not exist.
    public static func openFood101(root: String, split: String, verifyFiles: Bool = true) throws -> ImageFolderDataset {
        let imagesFolder = join(root, "images"), meta = join(root, "meta")
        guard DatasetFiles.isDirectory(root) else {
            throw SparseTuningError("Food-101 folder '\(root)' not found (expected images/ and meta/ inside it)")
        }
        guard DatasetFiles.isDirectory(imagesFolder) else {
            throw SparseTuningError("Food-101 folder '\(root)' has no images/ subfolder (expected images/<class>/<id>.jpg)")
        }
        let splitName = split.hasSuffix(".txt") ? String(split.dropLast(4)) : split
        let listFile = join(meta, splitName + ".txt")
        guard !splitName.isEmpty, !splitName.contains("/"), FileManager.default.fileExists(atPath: listFile) else {
            let lists = DatasetFiles.directoryEntries(meta).filter { $0.hasSuffix(".txt") && $0 != "classes.txt" && $0 != "labels.txt" }
            throw SparseTuningError(
                "Food-101 list file '\(listFile)' not found; "
                + (lists.isEmpty ? "'\(meta)' has no list files" : "'\(meta)' has \(lists.joined(separator: ", "))")
                + " (expected train.txt and test.txt with lines '<class>/<id>')")
        }
        let classesFile = join(meta, "classes.txt")
        let classNames: [String]
        if FileManager.default.fileExists(atPath: classesFile) {
            classNames = DatasetFiles.nameLines(try DatasetFiles.readText(classesFile, what: "Food-101 class list", limit: 16 << 20))
            guard !classNames.isEmpty else { throw SparseTuningError("Food-101 class list '\(classesFile)' is empty") }
        } else {
            classNames = DatasetFiles.directoryEntries(imagesFolder).filter { DatasetFiles.isDirectory(join(imagesFolder, $0)) }
            guard !classNames.isEmpty else {
                throw SparseTuningError("Food-101 folder '\(imagesFolder)' has no class subfolders and there is no meta/classes.txt")
            }
        }
        let labelOf = Dictionary(classNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })

        let text = try DatasetFiles.readText(listFile, what: "Food-101 list file", limit: 256 << 20)
        var paths: [String] = [], labels: [Int] = [], lineNumbers: [Int] = []
        for (n, raw) in DatasetFiles.lines(text).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            guard let slash = line.lastIndex(of: "/"), slash != line.startIndex, line.index(after: slash) != line.endIndex else {
                throw SparseTuningError("\(listFile):\(n + 1): expected '<class>/<image id>' (e.g. 'apple_pie/1005649'), got '\(line.prefix(120))'")
            }
            let className = String(line[..<slash])
            guard let label = labelOf[className] else {
                throw SparseTuningError(
                    "\(listFile):\(n + 1): unknown class '\(className)' (\(classNames.count) classes"
                    + (FileManager.default.fileExists(atPath: classesFile) ? " in '\(classesFile)')" : " in '\(imagesFolder)')"))
            }
            let relative = line.lowercased().hasSuffix(".jpg") ? line : line + ".jpg"
            paths.append(join(imagesFolder, relative))
            labels.append(label)
            lineNumbers.append(n + 1)
        }
        guard !paths.isEmpty else {
            throw SparseTuningError("Food-101 list file '\(listFile)' has no entries (expected lines '<class>/<image id>')")
        }
        if verifyFiles {
            let missing = paths.indices.filter { !FileManager.default.fileExists(atPath: paths[$0]) }
            if let first = missing.first {
                throw SparseTuningError(
                    "\(listFile):\(lineNumbers[first]): image '\(paths[first])' does not exist"
                    + (missing.count > 1 ? " (\(missing.count) of \(paths.count) listed images are missing)" : ""))
            }
        }
        return ImageFolderDataset(root: root, paths: paths, labels: labels, classNames: classNames)
    }

    /// True for names ending in one of ``imageExtensions`` (case-insensitive).
    static func isImageName(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        return imageExtensions.contains(name[name.index(after: dot)...].lowercased())
    }

    /// Image files below `folder` in torchvision's order: every folder of the tree sorted by its path, and the
    /// files of each folder sorted by name. Non-image files are appended to `ignored` (relative names).
    private static func imageFiles(under folder: String, ignored: inout [String]) -> [String] {
        // (full path, path relative to `folder`, depth); sorting by the relative path sorts by the full path.
        var folders: [(path: String, relative: String)] = []
        var pending = [(folder, "", 0)]
        while let (dir, relative, depth) = pending.popLast() {
            folders.append((dir, relative))
            guard depth < maxDepth else { continue }
            for name in DatasetFiles.directoryEntries(dir) where DatasetFiles.isDirectory(join(dir, name)) {
                pending.append((join(dir, name), relative.isEmpty ? name : relative + "/" + name, depth + 1))
            }
        }
        folders.sort { DatasetFiles.codePointOrder($0.relative, $1.relative) }
        var files: [String] = []
        for (dir, relative) in folders {
            for name in DatasetFiles.directoryEntries(dir) where !DatasetFiles.isDirectory(join(dir, name)) {
                if isImageName(name) {
                    files.append(join(dir, name))
                } else {
                    ignored.append(relative.isEmpty ? name : relative + "/" + name)
                }
            }
        }
        return files
    }

    private static func join(_ a: String, _ b: String) -> String {
        (a as NSString).appendingPathComponent(b)
    }
}
