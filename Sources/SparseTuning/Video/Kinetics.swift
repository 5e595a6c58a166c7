// Kinetics: the Kinetics-400 annotation convention — CSV files `label,youtube_id,time_start,time_end,split`, one
// clip per row stored as `<youtube_id>_<start:06d>_<end:06d>.mp4`, classes sorted alphabetically.
import Foundation

/// Reads Kinetics annotation CSVs into a ``VideoDataset``.
public enum Kinetics {
    /// The rows of an annotation CSV: (class name, file name).
    ///
    /// - Throws: ``SparseTuningError`` naming `file:line` for a row without five fields or with non-integer times,
    ///   or when the header is not `label,youtube_id,time_start,time_end,split`.
    public static func rows(csv file: String) throws -> [(label: String, file: String)] {
        let lines = try ListLines.read(file)
        guard let header = lines.first, header.text.lowercased().hasPrefix("label,youtube_id,time_start,time_end") else {
            throw SparseTuningError("\(file): expected the header 'label,youtube_id,time_start,time_end,split'")
        }
        return try lines.dropFirst().map { line in
            let fields = line.text.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
            }
            guard fields.count >= 4, !fields[0].isEmpty, !fields[1].isEmpty,
                  let start = Int(fields[2]), let end = Int(fields[3]) else {
                throw SparseTuningError("\(file):\(line.number): expected 'label,youtube_id,time_start,time_end,split' "
                                        + "with integer times, got '\(line.text)'")
            }
            return (fields[0], "\(fields[1])_\(padded(start))_\(padded(end)).mp4")
        }
    }

    /// `value` zero-padded to six digits (`%06d`).
    private static func padded(_ value: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The class names of a CSV: its distinct labels sorted alphabetically (use the training CSV's for every split).
    public static func classNames(csv file: String) throws -> [String] {
        Array(Set(try rows(csv: file).map(\.label))).sorted()
    }

    /// The clips of a CSV, stored flat under `videoRoot` (or under `videoRoot/<class name>/` with `classFolders`).
    ///
    /// - Throws: ``SparseTuningError`` naming the file for a malformed row or a class not in `classNames`.
    public static func dataset(csv file: String, videoRoot: String, classNames: [String], classFolders: Bool = false) throws -> VideoDataset {
        let index = Dictionary(classNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var paths: [String] = [], labels: [Int] = []
        for row in try rows(csv: file) {
            guard let label = index[row.label] else {
                throw SparseTuningError("\(file): class '\(row.label)' of \(row.file) is not one of the \(classNames.count) classes")
            }
            let folder = classFolders ? (videoRoot as NSString).appendingPathComponent(row.label) : videoRoot
            paths.append((folder as NSString).appendingPathComponent(row.file))
            labels.append(label)
        }
        guard !paths.isEmpty else { throw SparseTuningError("\(file) lists no clip") }
        return try VideoDataset(paths: paths, labels: labels, classNames: classNames)
    }

    /// The class folders of `root` (each holding that class's videos), sorted alphabetically, and their videos.
    ///
    /// - Throws: ``SparseTuningError`` naming `root` when it cannot be listed or holds no class folder with videos.
    public static func dataset(classFolders root: String) throws -> VideoDataset {
        let fm = FileManager.default
        func list(_ dir: String) throws -> [String] {
            do { return try fm.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted() } catch {
                throw SparseTuningError("cannot list '\(dir)': \(error.localizedDescription)")
            }
        }
        var isDirectory: ObjCBool = false
        let classes = try list(root).filter {
            fm.fileExists(atPath: (root as NSString).appendingPathComponent($0), isDirectory: &isDirectory) && isDirectory.boolValue
        }
        var paths: [String] = [], labels: [Int] = []
        for (label, name) in classes.enumerated() {
            let folder = (root as NSString).appendingPathComponent(name)
            for video in try list(folder) {
                paths.append((folder as NSString).appendingPathComponent(video))
                labels.append(label)
            }
        }
        guard !paths.isEmpty else { throw SparseTuningError("'\(root)' has no class folder with videos") }
        return try VideoDataset(paths: paths, labels: labels, classNames: classes)
    }
}
