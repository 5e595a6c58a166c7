// JSONCoding: the one place JSON encoders and decoders are made (sorted keys, unescaped slashes, Swift's shortest
// number text), and the one shape of decode error: `<source>: at "<key path>": <what is wrong>`.
import Foundation

/// Encoding and decoding of every JSON document the library and the CLI read or write.
public enum JSONCoding {
    /// An encoder with sorted keys and unescaped slashes; `pretty` indents (CLI `--json`, result files), otherwise
    /// one line (metadata, JSON Lines).
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// `value` as JSON bytes.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> Data {
        try encoder(pretty: pretty).encode(value)
    }

    /// `value` as JSON text.
    public static func string<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
        String(decoding: try encode(value, pretty: pretty), as: UTF8.self)
    }

    /// Decodes `type` from `data`; `source` (a path, or a description such as "file.safetensors: metadata 'x'")
    /// starts every error message.
    /// - Throws: ``SparseTuningError`` `<source>: at "<key path>": <problem>` (see ``message(_:source:)``).
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, source: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw SparseTuningError(message(error, source: source))
        }
    }

    /// Decodes `type` from JSON text (see ``decode(_:from:source:)``).
    public static func decode<T: Decodable>(_ type: T.Type, from text: String, source: String) throws -> T {
        try decode(type, from: Data(text.utf8), source: source)
    }

    /// The message for a decoding error: the source, the dotted key path (`recipe.ts_layers[2]`) when there is one,
    /// and what was wrong there.
    static func message(_ error: DecodingError, source: String) -> String {
        let path: [any CodingKey], problem: String
        switch error {
        case .typeMismatch(let type, let context):
            path = context.codingPath
            problem = "expected \(describe(type))" + (found(context.debugDescription).map { ", found \($0)" } ?? "")
        case .valueNotFound(let type, let context):
            path = context.codingPath
            problem = "expected \(describe(type)), found null"
        case .keyNotFound(let key, let context):
            path = context.codingPath + [key]
            problem = "missing"
        case .dataCorrupted(let context):
            path = context.codingPath
            if path.isEmpty, context.debugDescription.contains("not valid JSON") {
                // Foundation reports a number that does not fit its Swift type the same way, without a path.
                problem = "not valid JSON (or a number that does not fit its key)"
            } else {
                problem = context.debugDescription
            }
        @unknown default:
            path = []
            problem = "\(error)"
        }
        let where_ = keyPath(path)
        return where_.isEmpty ? "\(source): \(problem)" : "\(source): at \"\(where_)\": \(problem)"
    }

    /// `a.b[2].c` for a coding path.
    static func keyPath(_ path: [any CodingKey]) -> String {
        var out = ""
        for key in path {
            // An array index (Foundation names it "Index 2"); an object key that looks like a number stays a name.
            if let index = key.intValue, key.stringValue != String(index) {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return out
    }

    /// What Foundation's type-mismatch description says was found ("a string", "an array", …), if it says.
    private static func found(_ description: String) -> String? {
        guard let start = description.range(of: "but found "), let end = description.range(of: " instead") else {
            return nil
        }
        let what = String(description[start.upperBound..<end.lowerBound])
        let words = ["number": "a number", "bool": "a boolean", "string": "a string", "array": "an array",
                     "dictionary": "an object", "a dictionary": "an object"]
        return words[what] ?? what
    }

    /// "an integer", "a number", … for the type a decoder expected.
    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is any BinaryInteger.Type: return "an integer"
        case is any BinaryFloatingPoint.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") || name.hasPrefix("[") && !name.contains(":") { return "an array" }
            if name.hasPrefix("Dictionary") || name.hasPrefix("[") { return "an object" }
            return name
        }
    }
}
