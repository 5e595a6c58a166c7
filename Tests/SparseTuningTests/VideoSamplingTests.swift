// Tests of clip sampling (dense and segment, training and test views, exact indices), test crops, and the clip
// augmentation's one set of random parameters per clip.
import XCTest
@testable import SparseTuning

final class VideoSamplingTests: XCTestCase {
    func testDenseTrainingWindow() {
        let dense = ClipSampling.dense(frames: 4, stride: 3)
        for seed in 0..<50 {
            var rng = SeededGenerator(seed: UInt64(seed)), copy = rng
            let indices = dense.trainIndices(frameCount: 20, using: &rng)
            let start = RandomSampling.integer(below: 20 - 12 + 1, &copy)  // one draw: the start in 0...8
            XCTAssertEqual(indices, [start, start + 3, start + 6, start + 9])
            XCTAssertEqual(rng.next(), copy.next())
        }
        // Shorter than the window (12 > 7): clamped to the last frame, still one draw.
        var rng = SeededGenerator(seed: 1), copy = rng
        XCTAssertEqual(dense.trainIndices(frameCount: 7, using: &rng), [0, 3, 6, 6])
        _ = copy.next()
        XCTAssertEqual(rng.next(), copy.next())
        XCTAssertEqual(dense.trainIndices(frameCount: 1, using: &rng), [0, 0, 0, 0])
    }

    func testSegmentTrainingOneFramePerSegment() {
        let segments = ClipSampling.segments(frames: 4)
        var seen = Set<[Int]>()
        for seed in 0..<50 {
            var rng = SeededGenerator(seed: UInt64(seed))
            let indices = segments.trainIndices(frameCount: 18, using: &rng)  // segments [0,4) [4,9) [9,13) [13,18)
            XCTAssertTrue(zip(indices, [0..<4, 4..<9, 9..<13, 13..<18]).allSatisfy { $1.contains($0) }, "\(indices)")
            seen.insert(indices)
        }
        XCTAssertGreaterThan(seen.count, 10)
        var rng = SeededGenerator(seed: 3)
        XCTAssertEqual(segments.trainIndices(frameCount: 3, using: &rng), [0, 0, 1, 2])  // n < T: frames repeat
    }

    func testTestViewIndices() {
        let dense = ClipSampling.dense(frames: 4, stride: 2)  // window 8 in 100 frames: starts over 0...92
        XCTAssertEqual((0..<5).map { dense.testIndices(frameCount: 100, clip: $0, clips: 5)[0] }, [0, 23, 46, 69, 92])
        XCTAssertEqual(dense.testIndices(frameCount: 100, clip: 4, clips: 5), [92, 94, 96, 98])
        XCTAssertEqual(dense.testIndices(frameCount: 100, clip: 0, clips: 1), [46, 48, 50, 52])
        XCTAssertEqual(dense.testIndices(frameCount: 5, clip: 2, clips: 3), [0, 2, 4, 4])

        let segments = ClipSampling.segments(frames: 4)  // 16 frames: segments of 4
        XCTAssertEqual(segments.testIndices(frameCount: 16, clip: 0, clips: 1), [2, 6, 10, 14])
        XCTAssertEqual(segments.testIndices(frameCount: 16, clip: 0, clips: 2), [1, 5, 9, 13])
        XCTAssertEqual(segments.testIndices(frameCount: 16, clip: 1, clips: 2), [2, 6, 10, 14])
        XCTAssertEqual(segments.testIndices(frameCount: 2, clip: 0, clips: 1), [0, 0, 1, 1])
        XCTAssertThrowsError(try ClipSampling.dense(frames: 0, stride: 1).validated())
    }

    func testTestCrops() {
        XCTAssertEqual((0..<3).map { TestCrop.box(width: 300, height: 224, size: 224, crop: $0, crops: 3) },
                       [CropBox(top: 0, left: 0, height: 224, width: 224), CropBox(top: 0, left: 38, height: 224, width: 224),
                        CropBox(top: 0, left: 76, height: 224, width: 224)])
        XCTAssertEqual(TestCrop.box(width: 8, height: 13, size: 8, crop: 2, crops: 3), CropBox(top: 5, left: 0, height: 8, width: 8))
        XCTAssertEqual(TestCrop.box(width: 8, height: 13, size: 8, crop: 0, crops: 1), CropBox(top: 2, left: 0, height: 8, width: 8))
    }

    /// A w×h frame with a horizontal and vertical gradient shifted by `shift`.
    static func gradient(width: Int, height: Int, shift: Int) -> RGBImage {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width { pixels += [UInt8((x * 11 + shift) % 256), UInt8((y * 7 + shift) % 256), UInt8(shift % 256)] }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    func testAugmentationUsesOneSetOfParametersPerClip() throws {
        let augmentation = try ClipAugmentation(size: 8, shortSide: 9...14, flip: true)
        let frame = Self.gradient(width: 24, height: 16, shift: 0)
        var flips = Set<Bool>()
        for seed in 0..<30 {
            var rng = SeededGenerator(seed: UInt64(seed)), replay = rng
            let out = try augmentation.apply([frame, frame, frame], using: &rng)
            XCTAssertEqual(out.map(\.width), [8, 8, 8])
            XCTAssertEqual(out[0], out[1])
            XCTAssertEqual(out[0], out[2])
            // The documented draws: short side, top, left, flip.
            let short = 9 + RandomSampling.integer(below: 6, &replay)
            let resized = frame.resizedShorterSide(to: short)
            let box = CropBox(top: RandomSampling.integer(below: resized.height - 7, &replay),
                              left: RandomSampling.integer(below: resized.width - 7, &replay), height: 8, width: 8)
            let flipped = RandomSampling.uniform(&replay) < 0.5
            let crop = ImageAugmentation.crop(resized, box)
            XCTAssertEqual(out[0], flipped ? ImageAugmentation.flippedHorizontally(crop) : crop)
            flips.insert(flipped)
        }
        XCTAssertEqual(flips, [false, true])
        XCTAssertEqual(try ClipAugmentation.somethingSomething().flip, false)
        XCTAssertEqual(try ClipAugmentation.kinetics().shortSide, 256...320)
        XCTAssertThrowsError(try ClipAugmentation(size: 8, shortSide: 7...9, flip: false))
        var rng = SeededGenerator(seed: 0)
        XCTAssertThrowsError(try augmentation.apply([frame, Self.gradient(width: 20, height: 16, shift: 0)], using: &rng))
    }
}
