// SomethingSomethingV2: the Something-Something v2 annotation conventions — `labels.json` (template → class index
// string) and the split files `something-something-v2-train.json` / `-validation.json` (a list of
// {"id", "label", "template", "placeholders"}, the video being `<id>.webm`).
import Foundation

/// Reads Something-Something v2 annotations into a ``VideoDataset``.
public enum SomethingSomethingV2 {
    /// The class names of `labels.json` (`{"Approaching something with your camera": "0", …}`), ordered by index.
    ///
    /// - Throws: ``SparseTuningError`` naming the file when it is not such an object, an index is not an integer,
    ///   or the indices are not exactly 0..<K.
    public static func classNames(labels file: String) throws -> [String] {
        let map = try JSONCoding.decode([String: String].self, from: try read(file), source: file)
        var names = [String?](repeating: nil, count: map.count)
        for (name, value) in map {
            guard let index = Int(value), index >= 0, index < map.count else {
                throw SparseTuningError("\(file): class '\(name)' has index \"\(value)\"; expected an integer in 0..<\(map.count)")
            }
            guard names[index] == nil else {
                throw SparseTuningError("\(file): index \(index) is given to both '\(names[index]!)' and '\(name)'")
            }
            names[index] = name
        }
        guard !map.isEmpty else { throw SparseTuningError("\(file) names no class") }
        return names.map { $0! }
    }

    /// The class of an annotation: its template with the brackets of `[something]` removed.
    public static func className(template: String) -> String {
        template.replacingOccurrences(of: "[", with: "").replacingOccurrences(of: "]", with: "")
    }

    /// The videos of an annotation file (`something-something-v2-train.json` or `-validation.json`).
    ///
    /// - Parameters:
    ///   - videoRoot: the folder of `<id>.webm` files (or `<id>` frame folders with `extension` "").
    ///   - classNames: from ``classNames(labels:)``.
    ///   - extension: the video file extension (default `webm`; empty for frame folders named by id).
    /// - Throws: ``SparseTuningError`` naming the file and the entry when an entry lacks an id or template (the
    ///   test split has none) or its template is not a class.
    public static func dataset(annotations file: String, videoRoot: String, classNames: [String],
                               extension ext: String = "webm") throws -> VideoDataset {
        struct Entry: Decodable {
            let id: String?
            let template: String?
        }
        let entries = try JSONCoding.decode([Entry].self, from: try read(file), source: file)
        let index = Dictionary(classNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var paths: [String] = [], labels: [Int] = []
        for (i, entry) in entries.enumerated() {
            guard let id = entry.id, let template = entry.template else {
                throw SparseTuningError("\(file): entry \(i) has no \(entry.id == nil ? "\"id\"" : "\"template\"") "
                                        + "(expected {\"id\", \"label\", \"template\", \"placeholders\"})")
            }
            guard let label = index[className(template: template)] else {
                throw SparseTuningError("\(file): entry \(i) (id \(id)): class '\(className(template: template))' is not in the labels")
            }
            paths.append((videoRoot as NSString).appendingPathComponent(ext.isEmpty ? id : "\(id).\(ext)"))
            labels.append(label)
        }
        guard !paths.isEmpty else { throw SparseTuningError("\(file) lists no video") }
        return try VideoDataset(paths: paths, labels: labels, classNames: classNames)
    }

    private static func read(_ file: String) throws -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw SparseTuningError("cannot read '\(file)': \(error.localizedDescription)")
        }
    }
}
