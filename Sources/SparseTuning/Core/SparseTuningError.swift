// The library's single error type: every failure names the file, tensor or option and what was expected.

/// An error with a one-line, user-facing message that names what was wrong and what was expected.
///
/// The CLI prints it as `error: <message>` and exits 1.
public struct SparseTuningError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
