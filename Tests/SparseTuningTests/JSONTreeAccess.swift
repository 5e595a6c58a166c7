// Test helpers for reading JSON documents (CLI `--json` outputs, fixture metadata) through the library's own
// JSONCoding as a JSONTree: `tree["key"]?[0]?.double`.
import Foundation
@testable import SparseTuning

/// `text` decoded as any JSON value.
func jsonTree(_ text: String) throws -> JSONTree { try JSONCoding.decode(JSONTree.self, from: text, source: "test JSON") }

extension JSONTree {
    subscript(key: String) -> JSONTree? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    subscript(index: Int) -> JSONTree? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    /// The keys of an object (empty for other values).
    var keys: Set<String> {
        guard case .object(let members) = self else { return [] }
        return Set(members.keys)
    }

    var array: [JSONTree]? {
        guard case .array(let items) = self else { return nil }
        return items
    }

    /// A number (whole or not).
    var double: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }

    var int: Int? {
        guard case .integer(let i) = self else { return nil }
        return i
    }

    var string: String? {
        guard case .string(let s) = self else { return nil }
        return s
    }

    var bool: Bool? {
        guard case .bool(let b) = self else { return nil }
        return b
    }
}

/// Literals, for editing documents in tests (`config["hidden_act"] = "relu"`).
extension JSONTree: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
}
