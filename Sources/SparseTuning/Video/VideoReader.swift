// VideoReader: the one way to read frames of a video by index, whatever holds them — a file FFmpeg decodes
// (`FFmpegVideo`) or a folder of frame images (`FrameFolderVideo`, `<video>/img_00001.jpg …`).
import Foundation

/// An opened video whose frames are read by index. Not thread-safe: open one per thread (opening is cheap).
public protocol VideoReader: AnyObject {
    /// Frames in the video (≥ 1 for an opened video).
    var frameCount: Int { get }
    /// Frames per second as the container states it (nil for a frame folder).
    var framesPerSecond: Double? { get }
    /// The frames at `indices` (any order, repeats allowed), each in `0..<frameCount`, decoded to RGB.
    ///
    /// - Throws: ``SparseTuningError`` naming the file when a frame cannot be decoded.
    func frames(at indices: [Int]) throws -> [RGBImage]
}

/// Opens videos: a directory is a frame folder, anything else a file for FFmpeg.
public enum VideoOpener {
    /// The reader for `path`; `frameTemplate` names the frames of a frame folder (nil: detected, see
    /// ``FrameFolderVideo``).
    ///
    /// - Throws: ``SparseTuningError`` naming `path` when it is missing, unreadable, not a video, or has no frames.
    public static func open(_ path: String, frameTemplate: String? = nil) throws -> any VideoReader {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SparseTuningError("video not found: '\(path)'")
        }
        if isDirectory.boolValue { return try FrameFolderVideo(path: path, template: frameTemplate) }
        return try FFmpegVideo(path: path)
    }
}
