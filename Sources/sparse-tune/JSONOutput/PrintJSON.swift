// How every `--json` output is printed (through JSONCoding: sorted keys, one formatting), and `Nullable`, for
// keys that stay in the output as null when their value is unknown.
import SparseTuning

/// Prints `value` as JSON on stdout; `pretty` indents it (every command but `train`, whose summary is one line).
func printJSON<T: Encodable>(_ value: T, pretty: Bool = true) throws {
    print(try JSONCoding.string(value, pretty: pretty))
}

/// An optional value written as `null` when absent (a plain optional's key would be left out).
struct Nullable<Wrapped: Codable>: Codable {
    var value: Wrapped?

    init(_ value: Wrapped?) { self.value = value }

    init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        value = single.decodeNil() ? nil : try single.decode(Wrapped.self)
    }

    func encode(to encoder: any Encoder) throws {
        var single = encoder.singleValueContainer()
        if let value { try single.encode(value) } else { try single.encodeNil() }
    }
}
