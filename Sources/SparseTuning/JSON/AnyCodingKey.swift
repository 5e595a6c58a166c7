// AnyCodingKey: a coding key for any string or index, for JSON objects whose keys are data (metrics extras,
// id2label, arbitrary configuration) and for naming keys a type does not declare.

/// A key made from any string or integer.
struct AnyCodingKey: CodingKey, Hashable {
    let stringValue: String
    let intValue: Int?

    init(_ string: String) {
        stringValue = string
        intValue = nil
    }

    init?(stringValue: String) { self.init(stringValue) }

    init?(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}
