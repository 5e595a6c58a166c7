// FFmpegFrameIndex: frame i of a video file is the i-th presentation timestamp of its video packets (as decord
// does). Built once per file by demuxing every packet, without decoding.
import CFFmpeg

/// The frames of a video stream in presentation order, and where decoding must start to reach each.
struct FFmpegFrameIndex {
    /// Presentation timestamp of each frame (stream time base), ascending: (frameCount).
    let timestamps: [Int64]
    /// Packet position in decode (file) order of each frame: (frameCount).
    let decodePosition: [Int]
    /// For each packet in decode order, the position of the last keyframe at or before it (0 when none is
    /// flagged: decoding then starts at the first packet): (packetCount).
    let keyframePosition: [Int]
    /// For each packet in decode order, the timestamp to seek to so the demuxer lands on it or earlier: its
    /// decode timestamp, or its presentation timestamp when that is smaller or the decode timestamp is missing.
    let seekTimestamp: [Int64]
    /// Frame index of each presentation timestamp.
    let frameOfTimestamp: [Int64: Int]

    var frameCount: Int { timestamps.count }

    /// Reads every packet of `input`'s video stream up to the end of the readable data, then sorts their
    /// presentation timestamps (the decode timestamp stands in for a missing one). A packet with neither, or
    /// whose timestamp repeats an earlier packet's, cannot be addressed and is left out.
    init(reading input: FFmpegInput) throws {
        var presentation: [(timestamp: Int64, position: Int)] = []
        var keyframes: [Int] = []
        var seek: [Int64] = []
        var seen = Set<Int64>()
        var lastKeyframe = 0
        while let packet = try input.nextPacket() {
            let pts = packet.pointee.pts, dts = packet.pointee.dts
            let position = seek.count
            if packet.pointee.flags & AV_PKT_FLAG_KEY != 0 { lastKeyframe = position }
            keyframes.append(lastKeyframe)
            let timestamp = pts != ST_AV_NOPTS_VALUE ? pts : dts
            seek.append(dts == ST_AV_NOPTS_VALUE ? timestamp : min(dts, timestamp))
            if timestamp != ST_AV_NOPTS_VALUE, seen.insert(timestamp).inserted {
                presentation.append((timestamp, position))
            }
            if input.deadline.passed { throw input.timeout() }
        }
        presentation.sort { $0.timestamp < $1.timestamp }
        timestamps = presentation.map(\.timestamp)
        decodePosition = presentation.map(\.position)
        keyframePosition = keyframes
        seekTimestamp = seek
        frameOfTimestamp = Dictionary(uniqueKeysWithValues: presentation.enumerated().map { ($1.timestamp, $0) })
    }
}
