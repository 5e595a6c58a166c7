// FFmpegInput: an opened container (libavformat) and its video stream — packets in file order and seeking — with
// a deadline on every blocking call.
import CFFmpeg
import Foundation

/// A container opened for its best video stream. Errors name the file.
final class FFmpegInput {
    /// The file, as given.
    let path: String
    /// The deadline each open / read / seek runs under (see ``FFmpegVideo``).
    let deadline: FFmpegDeadline
    /// The video stream read.
    let stream: UnsafeMutablePointer<AVStream>
    private var context: UnsafeMutablePointer<AVFormatContext>?  // nil only after deinit's close
    private var packet: UnsafeMutablePointer<AVPacket>?

    /// Opens `path` and finds its video stream; the deadline must have been restarted.
    init(path: String, deadline: FFmpegDeadline) throws {
        _ = FFmpegSupport.quietLogs
        self.path = path
        self.deadline = deadline
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let attributes else { throw SparseTuningError("video not found: '\(path)'") }
        guard (attributes[.size] as? NSNumber)?.intValue ?? 0 > 0 else {
            throw SparseTuningError("cannot read video '\(path)': the file is empty (0 bytes)")
        }
        (context, stream) = try Self.open(path, deadline)
        packet = av_packet_alloc()
        guard packet != nil else { throw SparseTuningError("cannot read video '\(path)': out of memory") }
    }

    /// The opened context of `path` and its best video stream; every other stream is discarded by the demuxer.
    private static func open(_ path: String, _ deadline: FFmpegDeadline) throws
        -> (UnsafeMutablePointer<AVFormatContext>, UnsafeMutablePointer<AVStream>) {
        func failure(_ what: String) -> SparseTuningError { SparseTuningError("cannot read video '\(path)': \(what)") }
        guard let allocated = avformat_alloc_context() else { throw failure("out of memory") }
        st_ffmpeg_set_deadline(allocated, deadline.microseconds)
        var opened: UnsafeMutablePointer<AVFormatContext>? = allocated
        let openResult = avformat_open_input(&opened, path, nil, nil)  // frees the context on failure
        guard openResult >= 0, let context = opened else {
            throw failure(explain(openResult, deadline, "not a video FFmpeg can read"))
        }
        var keep = false
        defer { if !keep { avformat_close_input(&opened) } }
        let infoResult = avformat_find_stream_info(context, nil)
        guard infoResult >= 0 else { throw failure(explain(infoResult, deadline, "cannot find its streams")) }
        let found = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard found >= 0, let stream = context.pointee.streams[Int(found)],
              stream.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0 else {
            throw failure("it has no video stream")
        }
        for i in 0..<Int(context.pointee.nb_streams) where i != Int(found) {
            context.pointee.streams[i]?.pointee.discard = AVDISCARD_ALL
        }
        keep = true
        return (context, stream)
    }

    deinit {
        av_packet_free(&packet)
        avformat_close_input(&context)
    }

    /// The next packet of the video stream (valid until the next call), or nil at the end of the readable data:
    /// the end of the file, a read error, or an incomplete packet (a truncated file ends at its last whole packet).
    ///
    /// - Throws: when the deadline passes.
    func nextPacket() throws -> UnsafeMutablePointer<AVPacket>? {
        guard let context, let packet else { return nil }
        av_packet_unref(packet)
        let result = av_read_frame(context, packet)
        if result == ST_AVERROR_EXIT { throw timeout() }
        guard result >= 0, packet.pointee.flags & AV_PKT_FLAG_CORRUPT == 0 else { return nil }
        return packet
    }

    /// Moves the demuxer to the last keyframe at or before a timestamp (stream time base), or to a byte offset.
    func seek(to target: FFmpegSeekTarget) throws {
        let result: Int32
        switch target {
        case .timestamp(let timestamp):
            result = av_seek_frame(context, stream.pointee.index, timestamp, AVSEEK_FLAG_BACKWARD)
        case .byte(let offset):
            result = av_seek_frame(context, stream.pointee.index, offset, AVSEEK_FLAG_BYTE)
        }
        guard result >= 0 else {
            throw SparseTuningError("cannot read video '\(path)': "
                + Self.explain(result, deadline, "cannot seek to \(target)"))
        }
    }

    /// The error for a passed deadline.
    func timeout() -> SparseTuningError {
        SparseTuningError("cannot read video '\(path)': took longer than the time limit of \(deadline.seconds) s")
    }

    private static func explain(_ code: Int32, _ deadline: FFmpegDeadline, _ what: String) -> String {
        code == ST_AVERROR_EXIT
            ? "took longer than the time limit of \(deadline.seconds) s"
            : "\(what): \(FFmpegSupport.describe(code))"
    }
}
