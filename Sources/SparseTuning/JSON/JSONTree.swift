// JSONTree: any JSON value, decoded through Codable, for documents with no fixed schema (a run's configuration
// compared against a resume state, run plans compared for messages) — compared key by key as dotted paths.
import Foundation

/// A JSON value of any shape. Whole numbers decode as `integer`, others as `number`.
enum JSONTree: Codable, Equatable {
    case object([String: JSONTree])
    case array([JSONTree])
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case null

    init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: AnyCodingKey.self) {
            var members: [String: JSONTree] = [:]
            for key in keyed.allKeys { members[key.stringValue] = try keyed.decode(JSONTree.self, forKey: key) }
            self = .object(members)
            return
        }
        if var unkeyed = try? decoder.unkeyedContainer() {
            var items: [JSONTree] = []
            while !unkeyed.isAtEnd { items.append(try unkeyed.decode(JSONTree.self)) }
            self = .array(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { self = .null }
        else if let b = try? single.decode(Bool.self) { self = .bool(b) }
        else if let i = try? single.decode(Int.self) { self = .integer(i) }
        else if let d = try? single.decode(Double.self) { self = .number(d) }
        else { self = .string(try single.decode(String.self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var single = encoder.singleValueContainer()
        switch self {
        case .object(let members): try single.encode(members)
        case .array(let items): try single.encode(items)
        case .string(let s): try single.encode(s)
        case .integer(let i): try single.encode(i)
        case .number(let d): try single.encode(d)
        case .bool(let b): try single.encode(b)
        case .null: try single.encodeNil()
        }
    }

    /// The JSON object in `text`; `source` names it in errors.
    /// - Throws: ``SparseTuningError`` for invalid JSON or a value that is not an object.
    static func object(_ text: String, source: String) throws -> [String: JSONTree] {
        try JSONCoding.decode([String: JSONTree].self, from: text, source: source)
    }

    /// Dotted paths at which `self` and `other` differ, skipping `ignoring` paths and everything below them.
    func differences(from other: JSONTree, path: String = "", ignoring: Set<String> = []) -> [String] {
        if !path.isEmpty, ignoring.contains(path) { return [] }
        guard case .object(let x) = self, case .object(let y) = other else {
            return self == other ? [] : [path.isEmpty ? "(the whole value)" : path]
        }
        var out: [String] = []
        for key in Set(x.keys).union(y.keys).sorted() {
            let child = path.isEmpty ? key : path + "." + key
            switch (x[key], y[key]) {
            case let (l?, r?): out += l.differences(from: r, path: child, ignoring: ignoring)
            default: if !ignoring.contains(child) { out.append(child) }
            }
        }
        return out
    }
}

extension JSONTree {
    /// Every non-object value under its dotted path (`options.lr`); arrays are single values.
    var leaves: [String: JSONTree] {
        guard case .object(let members) = self else { return ["": self] }
        var out: [String: JSONTree] = [:]
        for (key, value) in members {
            for (path, leaf) in value.leaves { out[path.isEmpty ? key : "\(key).\(path)"] = leaf }
        }
        return out
    }

    /// Compact JSON text of the value.
    var text: String { (try? JSONCoding.string(self)) ?? "?" }
}
