// Strict objects: a type whose JSON must not carry keys it does not know (a typo must never fall back to a
// default silently) calls `rejectUnknownKeys` from its `init(from:)`; the error names the key and the allowed ones.

extension Decoder {
    /// Throws if the JSON object being decoded has a key that is not one of `Keys` (or `extra`).
    /// - Throws: `DecodingError.dataCorrupted` at the unknown key's path: "unknown key (allowed: a, b, c)".
    func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type, extra: [String] = []) throws {
        let allowed = keys.allCases.map(\.stringValue) + extra
        let container = try container(keyedBy: AnyCodingKey.self)
        guard let unknown = container.allKeys.map(\.stringValue).filter({ !allowed.contains($0) }).sorted().first else {
            return
        }
        throw DecodingError.dataCorrupted(DecodingError.Context(
            codingPath: codingPath + [AnyCodingKey(unknown)],
            debugDescription: "unknown key (allowed: \(allowed.joined(separator: ", ")))"))
    }
}
