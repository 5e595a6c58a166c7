// FFmpegSupport: what every FFmpeg wrapper of the video reader shares — error text, the process-wide log level,
// and the per-call deadline that bounds blocking I/O.
import CFFmpeg

enum FFmpegSupport {
    /// FFmpeg's description of the error code `code` (e.g. "Invalid data found when processing input").
    static func describe(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard av_strerror(code, &buffer, buffer.count) == 0 else { return "FFmpeg error \(code)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Sets FFmpeg's log level to AV_LOG_QUIET the first time it is read. FFmpeg's log level is process-wide:
    /// without this every corrupt packet prints to stderr from inside the library, and the reader already turns
    /// every failure into a thrown error. A process that wants FFmpeg's own messages can raise the level again
    /// with av_log_set_level after opening the first video.
    static let quietLogs: Void = av_log_set_level(AV_LOG_QUIET)
}

/// A moving deadline on FFmpeg's clock (av_gettime_relative, microseconds) that the interrupt callback of a
/// format context reads (st_ffmpeg_set_deadline); `restart()` before each bounded call.
final class FFmpegDeadline {
    /// Seconds each bounded call may take.
    let seconds: Double
    /// The deadline in microseconds; the interrupt callback holds this address.
    let microseconds: UnsafeMutablePointer<Int64>

    init(seconds: Double) {
        self.seconds = seconds
        microseconds = .allocate(capacity: 1)
        microseconds.initialize(to: .max)
    }

    deinit { microseconds.deallocate() }

    /// Starts a new period of `seconds` from now.
    func restart() {
        microseconds.pointee = av_gettime_relative() + Int64(seconds * 1_000_000)
    }

    /// Whether the current period is over.
    var passed: Bool { av_gettime_relative() >= microseconds.pointee }
}
