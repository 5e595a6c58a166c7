// FFmpegVideo: a video file read by FFmpeg, frame-accurately by index (docs/VIDEO.md, "Decoding"): demux once to
// index every packet's presentation timestamp, then seek to the keyframe before each requested frame and decode
// forward to it.
import CFFmpeg

/// A video file FFmpeg can read (any container and codec of the linked libavformat / libavcodec).
///
/// Frame i is the i-th presentation timestamp among the video packets (read without decoding when the file is
/// opened), so B-frames and variable frame rates are addressed as decord addresses them; a stream whose packets
/// lack timestamps (raw streams, AVI with B-frames) is counted by decoding it once, and its frames are numbered in
/// decoding output order from the start (random access then decodes from the start). A truncated file ends
/// at its last whole packet. Each `init` and each `frames(at:)` call runs under a time limit; FFmpeg's own log
/// output is switched off process-wide (AV_LOG_QUIET) the first time a video is opened: docs/VIDEO.md.
/// Not thread-safe: open one per thread.
public final class FFmpegVideo: VideoReader {
    /// Seconds an open or a `frames(at:)` call may take by default.
    public static let defaultTimeLimit = 30.0

    /// The file, as given.
    public let path: String
    public let frameCount: Int
    public let framesPerSecond: Double?
    private let input: FFmpegInput
    private let index: FFmpegFrameIndex
    private let decoder: FFmpegDecoder
    private let converter: FFmpegRGBConverter
    /// Where the decoder stands: the decode position of the last packet sent and the highest frame index received
    /// since the last seek; nil when it must seek before decoding (at open, and after a failed call).
    private var position: (lastPacket: Int, lastFrame: Int)?

    /// Opens and indexes `path`.
    ///
    /// - Parameter timeLimit: seconds this call and each `frames(at:)` call may take (FFmpeg's I/O is interrupted
    ///   when they are over), so a pathological file cannot hang a data loader.
    /// - Throws: ``SparseTuningError`` naming `path` when it is missing, empty, not a container FFmpeg reads, has
    ///   no video stream or no frames, has frames above ``ImageDecoder/maxPixels``, or takes longer than
    ///   `timeLimit`.
    public init(path: String, timeLimit: Double = FFmpegVideo.defaultTimeLimit) throws {
        self.path = path
        let deadline = FFmpegDeadline(seconds: timeLimit)
        deadline.restart()
        input = try FFmpegInput(path: path, deadline: deadline)
        let parameters = input.stream.pointee.codecpar.pointee
        guard Int(parameters.width) * Int(parameters.height) <= ImageDecoder.maxPixels else {
            throw SparseTuningError("cannot read video '\(path)': it is \(parameters.width)×\(parameters.height) "
                + "pixels, above the limit of \(ImageDecoder.maxPixels / 1_000_000) megapixels")
        }
        decoder = try FFmpegDecoder(stream: input.stream, path: path)
        converter = FFmpegRGBConverter(path: path)
        index = try FFmpegFrameIndex(reading: input, decoder: decoder)
        guard index.frameCount > 0 else {
            throw SparseTuningError("cannot read video '\(path)': it has no frames (no whole video packet)")
        }
        frameCount = index.frameCount
        let rate = input.stream.pointee.avg_frame_rate
        framesPerSecond = rate.num > 0 && rate.den > 0 ? Double(rate.num) / Double(rate.den) : nil
    }

    public func frames(at indices: [Int]) throws -> [RGBImage] {
        if let bad = indices.first(where: { !(0..<frameCount).contains($0) }) {
            throw SparseTuningError("cannot read video '\(path)': frame \(bad) is out of range (\(frameCount) frames)")
        }
        input.deadline.restart()
        let wanted = Set(indices)
        var decoded: [Int: RGBImage] = [:]
        do {
            for target in wanted.sorted() where decoded[target] == nil {
                try decode(upTo: target, wanted: wanted, into: &decoded)
            }
        } catch {
            position = nil
            throw error
        }
        return indices.map { decoded[$0]! }
    }

    /// Decodes until frame `target` is in `decoded`, converting every frame of `wanted` met on the way; continues
    /// from the current position when `target` lies ahead of it without a keyframe between, else seeks.
    private func decode(upTo target: Int, wanted: Set<Int>, into decoded: inout [Int: RGBImage]) throws {
        let start = index.start(of: target)
        if let position, position.lastFrame < target, start.position <= position.lastPacket + 1 {
            // Keep decoding from here: seeking would go back to a keyframe already passed.
        } else {
            try input.seek(to: start.seek)
            decoder.flush()
            position = (lastPacket: start.position - 1, lastFrame: -1)
        }
        while decoded[target] == nil {
            guard let frame = try decoder.nextFrame(from: input, sent: noteSent), let last = position?.lastFrame else {
                throw SparseTuningError("cannot read video '\(path)': frame \(target) cannot be decoded")
            }
            let shown: Int
            if let frameOfTimestamp = index.frameOfTimestamp {
                let timestamp = frame.pointee.best_effort_timestamp != ST_AV_NOPTS_VALUE
                    ? frame.pointee.best_effort_timestamp : frame.pointee.pts
                guard let found = frameOfTimestamp[timestamp] else { continue }
                shown = found
            } else {
                shown = last + 1  // frames counted from the first packet
            }
            position?.lastFrame = max(last, shown)
            if wanted.contains(shown), decoded[shown] == nil { decoded[shown] = try converter.convert(frame) }
            if shown > target, decoded[target] == nil {
                throw SparseTuningError("cannot read video '\(path)': frame \(target) cannot be decoded")
            }
        }
    }

    /// Records the decode position of a packet sent to the decoder.
    private func noteSent(_ packet: UnsafeMutablePointer<AVPacket>) {
        guard let frameOfTimestamp = index.frameOfTimestamp, let frame = frameOfTimestamp[packet.pointee.pts] else {
            return
        }
        position?.lastPacket = index.packetPosition(of: frame)
    }
}
