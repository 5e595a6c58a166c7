// FigureFormat: the file formats a figure is written in — PNG (raster), SVG and PDF (vector) — named in a flag or
// taken from an output path's extension.
import Foundation

/// A file format for figures.
public enum FigureFormat: String, Sendable, CaseIterable {
    /// An antialiased raster image, one pixel per unit of the figure's size.
    case png
    /// A scalable vector graphic; text is drawn as glyph outlines.
    case svg
    /// A one-page PDF document, one point per unit of the figure's size.
    case pdf

    /// The format named by `path`'s extension (case-insensitive).
    /// - Throws: ``SparseTuningError`` naming `path` when the extension is not png, svg or pdf.
    public init(path: String) throws {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        guard let format = FigureFormat(rawValue: ext) else {
            throw SparseTuningError("\(path): expected a .png, .svg or .pdf file name")
        }
        self = format
    }

    /// The formats of a comma-separated list such as `png,svg` (duplicates dropped, order kept); `flag` names the
    /// option in errors.
    /// - Throws: ``SparseTuningError`` when the list is empty or names another format.
    public static func list(_ text: String, flag: String) throws -> [FigureFormat] {
        var formats: [FigureFormat] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = part.trimmingCharacters(in: .whitespaces).lowercased()
            guard let format = FigureFormat(rawValue: name) else {
                throw SparseTuningError("\(flag) '\(text)': '\(name)' is not a figure format; expected png, svg or pdf")
            }
            if !formats.contains(format) { formats.append(format) }
        }
        return formats
    }
}
