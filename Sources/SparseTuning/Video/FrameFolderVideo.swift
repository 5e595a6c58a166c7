// FrameFolderVideo: placeholder until the frame-folder reader lands (issue 9).

/// A video stored as a folder of frame images.
public final class FrameFolderVideo: VideoReader {
    public let frameCount = 0
    public let framesPerSecond: Double? = nil
    public init(path: String) throws { throw SparseTuningError("cannot read frame folder '\(path)': not built yet") }
    public func frames(at indices: [Int]) throws -> [RGBImage] { [] }
}
