// The JSON form of a metrics log line: MetricsRecord's named fields, then its extra numbers and tag strings under
// their own keys; a Double that is exactly a Float is written with the Float's shortest text, non-finite as null.

extension MetricsRecord: Codable {
    private enum Field: String, CodingKey, CaseIterable {
        case epoch, step, loss, lr, trainAccuracy = "train_acc", valAccuracy = "val_acc"
        case imagesPerSecond = "images_per_s", time
    }

    /// The keys of the named fields, in documentation order.
    public static let fieldKeys = Field.allCases.map(\.stringValue)

    /// The record as one line of JSON (no newline), keys sorted.
    /// - Throws: ``SparseTuningError`` if an ``extra`` or ``tags`` key repeats a field key or each other.
    public func jsonLine() throws -> String { try JSONCoding.string(self) }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        try c.encode(epoch, forKey: AnyCodingKey("epoch"))
        try c.encode(step, forKey: AnyCodingKey("step"))
        let named: [(Field, Double?)] = [(.loss, loss), (.lr, lr), (.trainAccuracy, trainAccuracy),
                                         (.valAccuracy, valAccuracy), (.imagesPerSecond, imagesPerSecond), (.time, time)]
        for case let (field, value?) in named { try Self.encode(value, at: AnyCodingKey(field.stringValue), in: &c) }
        for (key, value) in extra {
            guard !Self.fieldKeys.contains(key) else {
                throw SparseTuningError("metrics log: extra key '\(key)' is reserved for a named field")
            }
            try Self.encode(value, at: AnyCodingKey(key), in: &c)
        }
        for (key, value) in tags {
            guard !Self.fieldKeys.contains(key), extra[key] == nil else {
                throw SparseTuningError("metrics log: tag key '\(key)' is already used by another field")
            }
            try c.encode(value, forKey: AnyCodingKey(key))
        }
    }

    private static func encode(_ value: Double, at key: AnyCodingKey, in c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
        guard value.isFinite else { return try c.encodeNil(forKey: key) }
        let single = Float(value)
        if Double(single) == value { try c.encode(single, forKey: key) } else { try c.encode(value, forKey: key) }
    }

    /// Reads a line: `epoch` and `step` required, named numbers optional (null: absent), every other key a number
    /// (``extra``), a string (``tags``) or null (skipped).
    public init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: Field.self)
        func number(_ field: Field) throws -> Double? { try fields.decodeIfPresent(Double.self, forKey: field) }
        self.init(epoch: try fields.decodeWholeNumber(forKey: .epoch), step: try fields.decodeWholeNumber(forKey: .step),
                  loss: try number(.loss), lr: try number(.lr), trainAccuracy: try number(.trainAccuracy),
                  valAccuracy: try number(.valAccuracy), imagesPerSecond: try number(.imagesPerSecond),
                  time: try number(.time))
        let all = try decoder.container(keyedBy: AnyCodingKey.self)
        for key in all.allKeys where !Self.fieldKeys.contains(key.stringValue) {
            if try all.decodeNil(forKey: key) { continue }
            if let value = try? all.decode(Double.self, forKey: key) { extra[key.stringValue] = value }
            else if let value = try? all.decode(String.self, forKey: key) { tags[key.stringValue] = value }
            else {
                throw DecodingError.dataCorruptedError(forKey: key, in: all, debugDescription: "expected a number or a string")
            }
        }
    }
}
