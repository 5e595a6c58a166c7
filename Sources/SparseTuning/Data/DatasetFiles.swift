// DatasetFiles: small file-system helpers shared by the dataset readers (directory tests, sorted listings in
// Python's order, bounded text reads with errors naming the file).
import Foundation

/// File helpers for the dataset readers.
enum DatasetFiles {
    /// True when `path` exists and is a directory (following symbolic links).
    static func isDirectory(_ path: String) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
    }

    /// Names in `path`, sorted by code point (as Python's `sorted`), without hidden entries; empty when unreadable.
    static func directoryEntries(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .filter { !$0.hasPrefix(".") }
            .sorted(by: codePointOrder)
    }

    /// Code-point (UTF-8 byte) order, which is Python's string order.
    static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// At most 8 names joined by ", ", then "… (N in all)".
    static func summarise(_ names: [String]) -> String {
        names.count <= 8 ? names.joined(separator: ", ")
            : names.prefix(8).joined(separator: ", ") + ", … (\(names.count) in all)"
    }

    /// The UTF-8 text of a small file, without a leading byte-order mark.
    ///
    /// - Throws: ``SparseTuningError`` naming the file when it cannot be read or is larger than `limit` bytes.
    static func readText(_ path: String, what: String, limit: Int) throws -> String {
        if let size = fileSize(path), size > limit {
            throw SparseTuningError("\(what) '\(path)' is \(size) bytes, more than the \(limit >> 20) MB expected")
        }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let text = String(decoding: data, as: UTF8.self)
            return text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text  // byte-order mark
        } catch {
            throw SparseTuningError("cannot read \(what) '\(path)': \(error.localizedDescription)")
        }
    }

    /// Size in bytes of the file at `path`, or nil when it cannot be determined.
    static func fileSize(_ path: String) -> Int? {
        guard let value = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] else { return nil }
        switch value {
        case let v as UInt64: return Int(clamping: v)
        case let v as Int: return v
        case let v as NSNumber: return v.intValue
        default: return nil
        }
    }

    /// Class names `"0"`, `"1"`, … `"K−1"`, used when a dataset ships no names.
    static func numericClassNames(_ count: Int) -> [String] {
        (0..<max(count, 0)).map(String.init)
    }

    /// The lines of `text`, split at any line break (`\n`, `\r\n`, `\r`), empty lines kept so that positions are
    /// line numbers − 1.
    static func lines(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
    }

    /// Non-empty, trimmed lines of a class-names file.
    static func nameLines(_ text: String) -> [String] {
        DatasetFiles.lines(text).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }
}
