// FFmpegVideo: placeholder until the FFmpeg reader lands (issue 9).

/// A video file decoded by FFmpeg.
public final class FFmpegVideo: VideoReader {
    public let frameCount = 0
    public let framesPerSecond: Double? = nil
    public init(path: String) throws { throw SparseTuningError("cannot read video '\(path)': FFmpeg decoding is not built yet") }
    public func frames(at indices: [Int]) throws -> [RGBImage] { [] }
}
