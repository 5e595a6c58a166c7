// FFmpegDecoder: a libavcodec decoder for one video stream, fed packet by packet and drained at the end.
import CFFmpeg

/// Decodes the packets of one stream into frames (in presentation order, as libavcodec returns them).
final class FFmpegDecoder {
    private let path: String
    private var context: UnsafeMutablePointer<AVCodecContext>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    /// Whether the end of the stream was sent (`send(nil)`); only `flush()` makes the decoder take packets again.
    private var draining = false

    /// A single-threaded decoder for `stream` (a data loader runs one reader per worker; frame threads would
    /// also delay every frame by the thread count) that refuses frames above ``ImageDecoder/maxPixels`` before
    /// allocating them.
    init(stream: UnsafeMutablePointer<AVStream>, path: String) throws {
        self.path = path
        func failure(_ what: String) -> SparseTuningError { SparseTuningError("cannot read video '\(path)': \(what)") }
        let parameters = stream.pointee.codecpar!
        guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
            throw failure("no decoder for its codec \(String(cString: avcodec_get_name(parameters.pointee.codec_id)))")
        }
        context = avcodec_alloc_context3(codec)
        frame = av_frame_alloc()
        guard let context, frame != nil else { throw failure("out of memory") }
        var result = avcodec_parameters_to_context(context, parameters)
        guard result >= 0 else { throw failure("bad codec parameters: \(FFmpegSupport.describe(result))") }
        context.pointee.thread_count = 1
        context.pointee.max_pixels = Int64(ImageDecoder.maxPixels)
        context.pointee.pkt_timebase = stream.pointee.time_base
        result = avcodec_open2(context, codec, nil)
        guard result >= 0 else { throw failure("cannot open its decoder: \(FFmpegSupport.describe(result))") }
    }

    deinit {
        av_frame_free(&frame)
        avcodec_free_context(&context)
    }

    /// Feeds one packet, or nil to drain the frames still held at the end of the stream.
    private func send(_ packet: UnsafeMutablePointer<AVPacket>?) throws {
        if packet == nil { draining = true }
        let result = avcodec_send_packet(context, packet)
        guard result >= 0 || result == ST_AVERROR_EOF else {
            throw SparseTuningError("cannot read video '\(path)': a packet cannot be decoded: \(FFmpegSupport.describe(result))")
        }
    }

    /// The next decoded frame (valid until the next call), or nil when the decoder needs another packet or has
    /// been drained (see `draining`).
    private func receive() throws -> UnsafeMutablePointer<AVFrame>? {
        let result = avcodec_receive_frame(context, frame)
        if result == ST_AVERROR_EAGAIN || result == ST_AVERROR_EOF { return nil }
        guard result >= 0 else {
            throw SparseTuningError("cannot read video '\(path)': a frame cannot be decoded: \(FFmpegSupport.describe(result))")
        }
        return frame
    }

    /// The next frame, feeding the decoder packets from `input` (each passed to `sent` after it is sent) and, at
    /// the end of the readable data, the empty packet that drains it; nil once it is drained.
    func nextFrame(from input: FFmpegInput, sent: (UnsafeMutablePointer<AVPacket>) -> Void = { _ in })
        throws -> UnsafeMutablePointer<AVFrame>? {
        while true {
            if let frame = try receive() { return frame }
            if draining { return nil }
            if input.deadline.passed { throw input.timeout() }
            if let packet = try input.nextPacket() {
                try send(packet)
                sent(packet)
            } else {
                try send(nil)
            }
        }
    }

    /// Drops every buffered frame and packet (after a seek) and ends draining.
    func flush() {
        avcodec_flush_buffers(context)
        draining = false
    }
}
