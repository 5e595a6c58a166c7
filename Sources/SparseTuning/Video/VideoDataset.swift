// VideoDataset: the labelled videos of one split — paths (video files or frame folders), labels, class names and,
// for frame folders, the frame counts the list states — read from list files as VideoMAE, AdaptFormer and DyT write
// them. The SSv2 and Kinetics annotation conventions are in SomethingSomethingV2.swift and Kinetics.swift.
import Foundation

/// The videos of one split with their labels. Immutable; safe to share between threads.
public struct VideoDataset: Sendable {
    /// Video paths (files or frame folders) in sample order.
    public let paths: [String]
    /// The 0-based class of each video.
    public let labels: [Int]
    /// The frame count the list file states for each video (3-field lines; nil for 2-field lines). Informational:
    /// sampling uses the count the reader finds.
    public let frameCounts: [Int?]
    /// Class names; labels index into them.
    public let classNames: [String]

    /// - Throws: ``SparseTuningError`` when the arrays differ in length, there is no video or no class, or a label
    ///   is outside `0..<classNames.count`.
    public init(paths: [String], labels: [Int], frameCounts: [Int?]? = nil, classNames: [String]) throws {
        let counts = frameCounts ?? Array(repeating: nil, count: paths.count)
        guard labels.count == paths.count, counts.count == paths.count else {
            throw SparseTuningError("video dataset: \(paths.count) paths, \(labels.count) labels and \(counts.count) frame counts")
        }
        guard !paths.isEmpty else { throw SparseTuningError("video dataset has no video") }
        guard !classNames.isEmpty else { throw SparseTuningError("video dataset has no class") }
        if let i = labels.firstIndex(where: { $0 < 0 || $0 >= classNames.count }) {
            throw SparseTuningError("video '\(paths[i])' has label \(labels[i]) outside 0..<\(classNames.count)")
        }
        self.paths = paths
        self.labels = labels
        self.frameCounts = counts
        self.classNames = classNames
    }

    /// Number of videos.
    public var count: Int { paths.count }
    /// Number of classes.
    public var classCount: Int { classNames.count }
    /// The class of video `i`.
    public func label(_ i: Int) -> Int { labels[i] }
    /// Video `i`'s path, for messages.
    public func describe(_ i: Int) -> String { paths[i] }

    /// The class names "0", "1", …, "K−1", for lists without a classes file.
    public static func numberedClasses(_ count: Int) -> [String] { (0..<count).map(String.init) }

    /// Class names from a file with one name per line (blank lines and `#` comments ignored; line k is class k).
    ///
    /// - Throws: ``SparseTuningError`` naming the file when it cannot be read, is empty or repeats a name.
    public static func classNames(file: String) throws -> [String] {
        let names = try ListLines.read(file).map(\.text)
        guard !names.isEmpty else { throw SparseTuningError("classes file '\(file)' lists no class") }
        var seen: Set<String> = []
        for name in names where !seen.insert(name).inserted {
            throw SparseTuningError("classes file '\(file)' lists '\(name)' twice")
        }
        return names
    }

    /// The videos of a list file: one per line, `path label` (video files) or `path num_frames label` (frame
    /// folders), fields separated by spaces or tabs (or commas); blank lines and lines starting with `#` ignored.
    ///
    /// - Parameters:
    ///   - root: directory relative paths are resolved against (nil: the list file's directory).
    ///   - classNames: the classes (``classNames(file:)`` or ``numberedClasses(_:)``); every label must index one.
    ///     nil: "0"…"K−1" with K = 1 + the largest label of this list (labels need only be ≥ 0).
    /// - Throws: ``SparseTuningError`` naming `file:line` and what was expected for a malformed line or a label
    ///   outside the classes.
    public static func list(file: String, root: String? = nil, classNames: [String]?) throws -> VideoDataset {
        let base = root ?? (file as NSString).deletingLastPathComponent
        var paths: [String] = [], labels: [Int] = [], counts: [Int?] = []
        for line in try ListLines.read(file) {
            let fields = line.text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
            func fail(_ problem: String) -> SparseTuningError {
                SparseTuningError("\(file):\(line.number): \(problem); expected 'path label' or 'path num_frames label', "
                                  + "got '\(line.text)'")
            }
            guard fields.count == 2 || fields.count == 3 else { throw fail("\(fields.count) fields") }
            guard let label = Int(fields[fields.count - 1]) else { throw fail("the label '\(fields.last!)' is not an integer") }
            guard label >= 0 && label < classNames?.count ?? Int.max else {
                throw fail("label \(label) is outside 0..<\(classNames?.count ?? 0) (the number of classes)")
            }
            var frames: Int?
            if fields.count == 3 {
                guard let n = Int(fields[1]), n >= 1 else { throw fail("the frame count '\(fields[1])' is not a positive integer") }
                frames = n
            }
            paths.append(fields[0].hasPrefix("/") ? fields[0] : (base as NSString).appendingPathComponent(fields[0]))
            labels.append(label)
            counts.append(frames)
        }
        guard !paths.isEmpty else { throw SparseTuningError("list file '\(file)' lists no video") }
        return try VideoDataset(paths: paths, labels: labels, frameCounts: counts,
                                classNames: classNames ?? numberedClasses(labels.max()! + 1))
    }
}

/// The meaningful lines of a text file: trimmed, without blank lines and `#` comments, with 1-based line numbers.
enum ListLines {
    static func read(_ file: String) throws -> [(number: Int, text: String)] {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw SparseTuningError("cannot read '\(file)': \(error.localizedDescription)")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { i, raw in
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            return line.isEmpty || line.hasPrefix("#") ? nil : (i + 1, line)
        }
    }
}
