// VideoDecodeTests: FFmpegVideo against ffmpeg's own RGB decode of the committed clips (H.264 with B-frames in mp4
// and raw, VP9 in webm, MJPEG and MPEG-4 with B-frames in avi; scripts/fixtures/video_fixtures.py), random access,
// and the bad inputs.
import XCTest
@testable import SparseTuning

final class VideoDecodeTests: XCTestCase {
    /// The clips; clip_mpeg4.avi has packets without pts, clip_h264.h264 no timestamps at all (it decodes to
    /// clip_h264.rgb, as its mp4).
    static let clips = ["clip_h264.mp4", "clip_vp9.webm", "clip_mjpeg.avi", "clip_mpeg4.avi", "clip_h264.h264"]
    static let (width, height, frames) = (48, 32, 10)

    /// ffmpeg's frames of `clip` (`clip_*.rgb`: frames of (height, width, 3) bytes back to back).
    func expectedFrames(_ clip: String) throws -> [RGBImage] {
        let rgb = (clip as NSString).deletingPathExtension + ".rgb"
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath("video/\(rgb)"))))
        let size = Self.width * Self.height * 3
        XCTAssertEqual(bytes.count, Self.frames * size, rgb)
        return (0..<Self.frames).map {
            RGBImage(width: Self.width, height: Self.height, pixels: Array(bytes[$0 * size..<($0 + 1) * size]))
        }
    }

    func testEveryFrameEqualsFFmpegsDecode() throws {
        for clip in Self.clips {
            let video = try VideoOpener.open(fixturePath("video/\(clip)"))
            XCTAssertEqual(video.frameCount, Self.frames, clip)
            XCTAssertEqual(video.framesPerSecond, 10, clip)
            let expected = try expectedFrames(clip)
            let frames = try video.frames(at: Array(0..<Self.frames))
            for (i, (frame, want)) in zip(frames, expected).enumerated() {
                XCTAssertEqual(frame, want, "\(clip) frame \(i)")
            }
        }
    }

    func testRandomAccessEqualsSequentialDecode() throws {
        for clip in Self.clips {
            let path = fixturePath("video/\(clip)")
            let expected = try expectedFrames(clip)
            let reversed = Array((0..<Self.frames).reversed())
            XCTAssertEqual(try FFmpegVideo(path: path).frames(at: reversed), reversed.map { expected[$0] }, clip)
            let repeats = [5, 5, 2, 9, 0, 5, 3]
            XCTAssertEqual(try FFmpegVideo(path: path).frames(at: repeats), repeats.map { expected[$0] }, clip)
            XCTAssertEqual(try FFmpegVideo(path: path).frames(at: [6]), [expected[6]], clip)
            // One reader, calls that go forward within a GOP, across GOPs, and back.
            let video = try FFmpegVideo(path: path)
            for i in [3, 4, 9, 1, 2, 7, 0, 0] {
                XCTAssertEqual(try video.frames(at: [i]), [expected[i]], "\(clip) frame \(i) after earlier calls")
            }
            XCTAssertEqual(try video.frames(at: []), [], clip)
        }
    }

    /// A file cut inside its 9th packet (decode order) ends at the 8th: presentation frames 0-7, all decodable.
    func testTruncatedFileEndsAtItsLastWholePacket() throws {
        let video = try FFmpegVideo(path: fixturePath("video/truncated_tail.mp4"))
        XCTAssertEqual(video.frameCount, 8)
        XCTAssertEqual(try video.frames(at: Array((0..<8).reversed())),
                       Array(try expectedFrames("clip_h264.mp4")[0..<8].reversed()))
    }

    func testOutOfRangeIndexThrows() throws {
        let video = try FFmpegVideo(path: fixturePath("video/clip_h264.mp4"))
        for bad in [-1, Self.frames] {
            XCTAssertThrowsError(try video.frames(at: [0, bad])) { error in
                XCTAssertTrue("\(error)".contains("clip_h264.mp4") && "\(error)".contains("frame \(bad) is out of range"),
                              "\(error)")
            }
        }
        XCTAssertEqual(try video.frames(at: [1]), [try expectedFrames("clip_h264.mp4")[1]], "usable after an error")
    }

    func testBadFilesThrowErrorsNamingTheFile() {
        let cases = [
            ("missing.mp4", "not found"),
            ("empty.mp4", "empty"),
            ("text.mp4", "not a video FFmpeg can read"),
            ("truncated.mp4", "no whole video packet"),
            ("audio_only.wav", "no video stream"),
            ("huge.y4m", "above the limit"),
        ]
        for (name, reason) in cases {
            XCTAssertThrowsError(try FFmpegVideo(path: fixturePath("video/\(name)")), name) { error in
                XCTAssertTrue(error is SparseTuningError, "\(name): \(error)")
                XCTAssertTrue("\(error)".contains(name) && "\(error)".contains(reason), "\(name): \(error)")
            }
        }
    }

    func testTimeLimitInterruptsFFmpeg() {
        XCTAssertThrowsError(try FFmpegVideo(path: fixturePath("video/clip_vp9.webm"), timeLimit: 0)) { error in
            XCTAssertTrue("\(error)".contains("clip_vp9.webm") && "\(error)".contains("time limit"), "\(error)")
        }
    }
}
