// Whole numbers with a clear error: Foundation reports a fraction where an integer belongs (`"epochs": 1.5`) as
// "not valid JSON" without a key path, so integer keys that users write go through `decodeWholeNumberIfPresent`.

extension KeyedDecodingContainer {
    /// The integer at `key` (nil when absent or null).
    /// - Throws: `DecodingError` at `key`: "expected a whole number, found 1.5", or a type mismatch.
    func decodeWholeNumberIfPresent(forKey key: Key) throws -> Int? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        do {
            return try decode(Int.self, forKey: key)
        } catch {
            if let number = try? decode(Double.self, forKey: key) {
                throw DecodingError.dataCorruptedError(forKey: key, in: self,
                                                       debugDescription: "expected a whole number, found \(number)")
            }
            throw error
        }
    }

    /// The integer at `key`.
    /// - Throws: as ``decodeWholeNumberIfPresent(forKey:)``, and `keyNotFound` when it is absent or null.
    func decodeWholeNumber(forKey key: Key) throws -> Int {
        guard let value = try decodeWholeNumberIfPresent(forKey: key) else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(codingPath: codingPath, debugDescription: ""))
        }
        return value
    }
}
