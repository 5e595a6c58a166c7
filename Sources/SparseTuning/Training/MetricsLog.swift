// The training metrics log: JSON Lines, one object per logged event, each line written with a single write() as
// soon as it is logged; append mode for resumed runs; a reader that tolerates a last line cut off by a crash.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line of the metrics log. `epoch` and `step` are always present; the rest only when set.
///
/// JSON keys (sorted in the file): `epoch`, `step`, `loss`, `lr`, `train_acc`, `val_acc`, `images_per_s`, `time`
/// (seconds since the run started), and each ``extra`` number and each ``tags`` string under its own key.
public struct MetricsRecord: Sendable, Equatable {
    /// The epoch (0-based) the record belongs to.
    public var epoch: Int
    /// Optimizer steps taken over the whole run when the record was made.
    public var step: Int
    /// Training loss (e.g. the running mean over the epoch).
    public var loss: Double?
    /// Learning rate.
    public var lr: Double?
    /// Training accuracy, a fraction in [0, 1].
    public var trainAccuracy: Double?
    /// Validation accuracy, a fraction in [0, 1].
    public var valAccuracy: Double?
    /// Training throughput.
    public var imagesPerSecond: Double?
    /// Seconds since the start of the run.
    public var time: Double?
    /// Further numbers (e.g. `val_loss`, `grad_norm`, `keep_rate`).
    public var extra: [String: Double]
    /// Further strings (e.g. `"phase": "val"`).
    public var tags: [String: String]

    /// A record for `epoch` at global `step`; every other field is optional.
    public init(epoch: Int, step: Int, loss: Double? = nil, lr: Double? = nil, trainAccuracy: Double? = nil,
                valAccuracy: Double? = nil, imagesPerSecond: Double? = nil, time: Double? = nil,
                extra: [String: Double] = [:], tags: [String: String] = [:]) {
        self.epoch = epoch
        self.step = step
        self.loss = loss
        self.lr = lr
        self.trainAccuracy = trainAccuracy
        self.valAccuracy = valAccuracy
        self.imagesPerSecond = imagesPerSecond
        self.time = time
        self.extra = extra
        self.tags = tags
    }
}

/// A JSON Lines metrics file being written: one ``MetricsRecord`` per line, each handed to the operating system
/// with one `write` call as soon as it is appended (so a crash loses at most the line being written).
public final class MetricsLog {
    /// How to open the file.
    public enum Mode: Sendable, Equatable {
        /// Start a new, empty log (replacing any file at the path).
        case create
        /// Continue an existing log (or start one). A last line without its newline — cut off by a crash — is
        /// dropped; with `keepingThroughStep: s`, records with `step` > s are dropped too (they came after the
        /// resume state being continued from), so the log reads as one uninterrupted run.
        case append(keepingThroughStep: Int?)
    }

    /// The file written.
    public let path: String
    private var fd: Int32

    /// Opens `path` for logging.
    /// - Throws: ``SparseTuningError`` naming `path` if it cannot be created or opened, or (append mode) the
    ///   existing log has a malformed complete line.
    public init(path: String, mode: Mode = .create) throws {
        self.path = path
        if case .append(let keepThrough) = mode, let existing = try MetricsLog.readBytes(path) {
            let (lines, cut) = try MetricsLog.completeLines(existing, path: path)
            var kept: [String] = []
            var dropped = cut != nil
            for (number, line) in lines {
                if let limit = keepThrough, !line.allSatisfy(\.isWhitespace) {
                    let record = try MetricsLog.parse(line, where: "\(path):\(number)")
                    if record.step > limit { dropped = true; continue }
                }
                kept.append(line)
            }
            if dropped {
                let text = kept.map { $0 + "\n" }.joined()
                try AtomicFileWriter.write(text, to: path)
            }
        }
        let flags: Int32
        if case .create = mode { flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC } else {
            flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC
        }
        fd = open(path, flags, 0o644)
        guard fd >= 0 else {
            throw SparseTuningError("\(path): cannot open the metrics log for writing (\(String(cString: strerror(errno))))")
        }
    }

    deinit { close() }

    /// Appends `record` as one line.
    /// - Throws: ``SparseTuningError`` naming the file if the log was closed or the write fails, or as
    ///   ``MetricsRecord/jsonLine()``.
    public func append(_ record: MetricsRecord) throws {
        guard fd >= 0 else { throw SparseTuningError("\(path): the metrics log is closed") }
        let bytes = Array((try record.jsonLine() + "\n").utf8)
        try bytes.withUnsafeBytes { try writeFully(fd, $0, path: path, what: "writing the metrics log") }
    }

    /// Closes the file (also done when the log is released). Later appends throw.
    public func close() {
        if fd >= 0 { closeDescriptor(fd) }
        fd = -1
    }

    /// Reads a metrics log back. Blank lines are skipped; a last line without its newline that is not valid JSON
    /// (cut off while being written) is ignored.
    /// - Throws: ``SparseTuningError`` naming the file and line for a missing file or a malformed complete line
    ///   (not a JSON object, `epoch`/`step` missing, a field of the wrong type).
    public static func read(_ path: String) throws -> [MetricsRecord] {
        guard let bytes = try readBytes(path) else { throw SparseTuningError("\(path): no such file") }
        let (lines, cut) = try completeLines(bytes, path: path)
        var records: [MetricsRecord] = []
        for (number, line) in lines where !line.allSatisfy(\.isWhitespace) {
            records.append(try parse(line, where: "\(path):\(number)"))
        }
        if let partial = cut, !partial.line.allSatisfy(\.isWhitespace),
           let record = try? parse(partial.line, where: path) {
            records.append(record)  // complete JSON that only lacks its newline
        }
        return records
    }

    // MARK: Helpers

    private static func parse(_ line: String, where where_: String) throws -> MetricsRecord {
        try JSONCoding.decode(MetricsRecord.self, from: line, source: where_)
    }

    /// The newline-terminated lines with their 1-based numbers, and the unterminated remainder, if any.
    private static func completeLines(_ bytes: [UInt8], path: String)
        throws -> (lines: [(Int, String)], cut: (number: Int, line: String)?) {
        var lines: [(Int, String)] = []
        var start = 0
        for (i, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            lines.append((lines.count + 1, String(decoding: bytes[start..<i], as: UTF8.self)))
            start = i + 1
        }
        let rest = start < bytes.count ? (lines.count + 1, String(decoding: bytes[start...], as: UTF8.self)) : nil
        return (lines, rest.map { (number: $0.0, line: $0.1) })
    }

    /// The whole file, or nil if it does not exist.
    private static func readBytes(_ path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw SparseTuningError("\(path): cannot open the metrics log (\(String(cString: strerror(errno))))")
        }
        defer { closeDescriptor(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw SparseTuningError("\(path): is not a regular file, expected a metrics log")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { readDescriptor(fd, $0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SparseTuningError("\(path): reading the metrics log failed (\(String(cString: strerror(errno))))")
            }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }
}

/// `close(2)`, reachable from inside types that have their own `close`.
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }

/// `read(2)` into `buffer`, reachable from inside types that have their own `read`.
private func readDescriptor(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
    read(fd, buffer.baseAddress!, buffer.count)
}
