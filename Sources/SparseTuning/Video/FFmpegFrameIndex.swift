// FFmpegFrameIndex: frame i of a video file is the i-th presentation timestamp of its video packets (as decord
// does), found by demuxing every packet once without decoding; a stream whose packets lack timestamps is counted
// by decoding it once instead.
import CFFmpeg

/// Where a seek goes: a timestamp of the video stream (the demuxer lands on the keyframe at or before it) or a
/// byte offset in the file.
enum FFmpegSeekTarget {
    case timestamp(Int64)
    case byte(Int64)
}

/// The frames of a video stream in presentation order, and where decoding must start to reach each.
struct FFmpegFrameIndex {
    /// Frames in the stream.
    let frameCount: Int
    /// Frame index of each presentation timestamp; nil when some packet has no pts or two packets share one: the
    /// frames are then numbered in the order the decoder returns them, decoding from the first packet.
    let frameOfTimestamp: [Int64: Int]?
    /// Packet position in decode (file) order of each frame: (frameCount), empty without `frameOfTimestamp`.
    private let decodePosition: [Int]
    /// For each packet in decode order, the position of the last keyframe at or before it (0 when none is
    /// flagged: decoding then starts at the first packet): (packetCount).
    private let keyframePosition: [Int]
    /// For each packet in decode order, where to seek so the demuxer lands on it or earlier: its dts, or its pts
    /// when smaller; the byte offset of the first packet when neither is known: (packetCount).
    private let seekTarget: [FFmpegSeekTarget]

    /// Reads every packet of `input`'s video stream up to the end of the readable data and sorts their
    /// presentation timestamps. When they do not all exist and differ, rewinds and decodes the whole stream with
    /// `decoder` to count its frames.
    init(reading input: FFmpegInput, decoder: FFmpegDecoder) throws {
        var presentation: [(timestamp: Int64, position: Int)] = []
        var keyframes: [Int] = []
        var seek: [FFmpegSeekTarget] = []
        var seen = Set<Int64>()
        var lastKeyframe = 0
        var everyTimestampKnown = true
        while let packet = try input.nextPacket() {
            let pts = packet.pointee.pts, dts = packet.pointee.dts
            let position = seek.count
            if packet.pointee.flags & AV_PKT_FLAG_KEY != 0 { lastKeyframe = position }
            keyframes.append(lastKeyframe)
            switch (pts == ST_AV_NOPTS_VALUE, dts == ST_AV_NOPTS_VALUE) {
            case (false, false): seek.append(.timestamp(min(pts, dts)))
            case (false, true): seek.append(.timestamp(pts))
            case (true, false): seek.append(.timestamp(dts))
            case (true, true): seek.append(.byte(max(packet.pointee.pos, 0)))
            }
            if pts != ST_AV_NOPTS_VALUE, seen.insert(pts).inserted {
                presentation.append((pts, position))
            } else {
                everyTimestampKnown = false
            }
            if input.deadline.passed { throw input.timeout() }
        }
        keyframePosition = keyframes
        seekTarget = seek
        if everyTimestampKnown {
            presentation.sort { $0.timestamp < $1.timestamp }
            frameCount = presentation.count
            decodePosition = presentation.map(\.position)
            frameOfTimestamp = Dictionary(uniqueKeysWithValues: presentation.enumerated().map { ($1.timestamp, $0) })
        } else {
            frameCount = try Self.countFrames(input, decoder, from: seek.first)
            decodePosition = []
            frameOfTimestamp = nil
        }
    }

    /// Where decoding must start to reach `frame`: the decode position of that packet and where to seek for it.
    func start(of frame: Int) -> (position: Int, seek: FFmpegSeekTarget) {
        guard frameOfTimestamp != nil else { return (0, seekTarget[0]) }
        let keyframe = keyframePosition[decodePosition[frame]]
        return (keyframe, seekTarget[keyframe])
    }

    /// The decode position of `frame`'s packet (frames addressed by timestamp only).
    func packetPosition(of frame: Int) -> Int { decodePosition[frame] }

    /// Decodes the stream from its first packet (`start`, nil when it has none) and counts the frames returned.
    private static func countFrames(_ input: FFmpegInput, _ decoder: FFmpegDecoder,
                                    from start: FFmpegSeekTarget?) throws -> Int {
        guard let start else { return 0 }
        try input.seek(to: start)
        decoder.flush()
        var count = 0
        while try decoder.nextFrame(from: input) != nil { count += 1 }
        return count
    }
}
