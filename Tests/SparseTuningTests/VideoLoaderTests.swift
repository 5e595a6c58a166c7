// Tests of frame-folder videos (listing, templates, missing frames), clip batches (B, T, 3, S, S) from the batch
// loader (identical for 0 and 2 workers, bad videos skipped or fatal) and multi-view evaluation's averaging.
import XCTest
import Foundation
@testable import SparseTuning

final class VideoLoaderTests: XCTestCase {
    /// Writes `frames` PNG frames `img_00001.png …` (gradients shifted by the frame number) into `dir/name`.
    private func frameFolder(_ name: String, frames: Int, in dir: String, width: Int = 20, height: Int = 14) throws -> String {
        let folder = (dir as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for t in 0..<frames {
            let image = VideoSamplingTests.gradient(width: width, height: height, shift: 30 * t)
            try PNGEncoder.write(image, to: "\(folder)/img_\(String(repeating: "0", count: 5 - String(t + 1).count))\(t + 1).png")
        }
        return folder
    }

    func testFrameFolderReadsFramesInOrder() throws {
        let dir = temporaryDirectory(self)
        let folder = try frameFolder("v", frames: 12, in: dir)
        let video = try VideoOpener.open(folder)
        XCTAssertEqual(video.frameCount, 12)
        XCTAssertNil(video.framesPerSecond)
        let frames = try video.frames(at: [10, 0, 10])  // img_00011 sorts after img_00002 by number
        XCTAssertEqual(frames[0], VideoSamplingTests.gradient(width: 20, height: 14, shift: 300))
        XCTAssertEqual(frames[1], VideoSamplingTests.gradient(width: 20, height: 14, shift: 0))
        XCTAssertEqual(frames[2], frames[0])
        XCTAssertThrowsError(try video.frames(at: [12]))

        FileManager.default.createFile(atPath: "\(folder)/notes.txt", contents: Data("x".utf8))
        try PNGEncoder.write(VideoSamplingTests.gradient(width: 20, height: 14, shift: 1), to: "\(folder)/flow_x_00001.png")
        XCTAssertThrowsError(try FrameFolderVideo(path: folder)) { XCTAssertTrue("\($0)".contains("pass a frame template"), "\($0)") }
        XCTAssertEqual(try FrameFolderVideo(path: folder, template: "img_{:05d}.png").frameCount, 12)
        XCTAssertEqual(try VideoOpener.open(folder, frameTemplate: "flow_x_{}.png").frameCount, 1)
    }

    func testFrameFolderErrors() throws {
        let dir = temporaryDirectory(self)
        let folder = try frameFolder("gap", frames: 5, in: dir)
        try FileManager.default.removeItem(atPath: "\(folder)/img_00003.png")
        XCTAssertThrowsError(try VideoOpener.open(folder)) { error in
            XCTAssertTrue("\(error)".contains(folder) && "\(error)".contains("'img_00003.png' is missing"), "\(error)")
        }
        let empty = (dir as NSString).appendingPathComponent("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try VideoOpener.open(empty)) { XCTAssertTrue("\($0)".contains(empty) && "\($0)".contains("no numbered"), "\($0)") }
        XCTAssertThrowsError(try FrameFolderVideo(path: folder, template: "frame_{}.jpg")) {
            XCTAssertTrue("\($0)".contains("frame_{}.jpg"), "\($0)")
        }
    }

    /// Five frame-folder videos of 6…10 frames, labels 0, 1, 2, 0, 1.
    private func videos(in dir: String) throws -> VideoDataset {
        let paths = try (0..<5).map { try frameFolder("v\($0)", frames: 6 + $0, in: dir, width: 18 + $0, height: 12) }
        return try VideoDataset(paths: paths, labels: [0, 1, 2, 0, 1], classNames: VideoDataset.numberedClasses(3))
    }

    private func drain(_ epoch: EpochIterator) throws -> [Batch] {
        var batches: [Batch] = []
        while let batch = try epoch.next() { batches.append(batch) }
        return batches
    }

    func testClipBatchesAreIdenticalForAnyWorkerCount() throws {
        let dir = temporaryDirectory(self)
        let samples = try ClipSamples(dataset: try videos(in: dir), sampling: .dense(frames: 3, stride: 2),
                                      augmentation: try ClipAugmentation(size: 8, shortSide: 8...11, flip: true),
                                      normalization: .imagenet)
        XCTAssertEqual(samples.sampleShape, [3, 3, 8, 8])
        var runs: [[Batch]] = []
        for workers in [0, 2] {
            let loader = try BatchLoader(samples: samples, batchSize: 2, shuffle: true, seed: 9, workers: workers)
            runs.append(try drain(loader.epoch(1)))
        }
        XCTAssertEqual(runs[0].map { $0.images.shape }, [[2, 3, 3, 8, 8], [2, 3, 3, 8, 8], [1, 3, 3, 8, 8]])
        XCTAssertEqual(runs[0].flatMap(\.indices).sorted(), [0, 1, 2, 3, 4])
        for (a, b) in zip(runs[0], runs[1]) {
            XCTAssertEqual(a.indices, b.indices)
            XCTAssertEqual(a.labels, b.labels)
            XCTAssertEqual(a.images.values, b.images.values)
        }
        // Sample i of the batch is exactly samples.load(i) for (seed 9, epoch 1).
        let first = runs[0][0]
        XCTAssertEqual(Array(first.images.values.prefix(samples.floatsPerSample)), try samples.load(first.indices[0], seed: 9, epoch: 1))
        XCTAssertNotEqual(try samples.load(0, seed: 9, epoch: 1), try samples.load(0, seed: 9, epoch: 2))
    }

    func testBadVideosEndTheEpochOrAreSkipped() throws {
        let dir = temporaryDirectory(self)
        let good = try videos(in: dir)
        var paths = good.paths
        paths[1] = "\(dir)/missing-video"
        let data = try VideoDataset(paths: paths, labels: good.labels, classNames: good.classNames)
        let samples = try ClipSamples(dataset: data, sampling: .segments(frames: 2),
                                      augmentation: try ClipAugmentation(size: 8, flip: false), normalization: .inception)
        let failing = try BatchLoader(samples: samples, batchSize: 2, shuffle: false, workers: 2)
        XCTAssertThrowsError(try drain(failing.epoch(0))) { XCTAssertTrue("\($0)".contains("missing-video"), "\($0)") }
        let skipping = try BatchLoader(samples: samples, batchSize: 2, shuffle: false, workers: 0, skipBadImages: true)
        XCTAssertEqual(try drain(skipping.epoch(0)).map(\.indices), [[0, 2], [3, 4]])
        XCTAssertEqual(skipping.skipped.map(\.index), [1])
    }

    func testEvaluatorAveragesViewProbabilities() throws {
        let dir = temporaryDirectory(self)
        let data = try VideoDataset(paths: Array(try videos(in: dir).paths.prefix(2)), labels: [0, 2], classNames: ["a", "b", "c"])
        // Video 0: views with probabilities (1, 3, 4)/8 and (6, 1, 1)/8 → mean (7, 4, 5)/16: class 0 although view 0
        // alone says class 2. Video 1: (1, 3, 4)/8 twice → class 2.
        let logits: [[[Float]]] = [[[0, log(3), log(4)], [log(6), 0, 0]], [[0, log(3), log(4)], [0, log(3), log(4)]]]
        var calls: [[Int]] = []
        let result = try VideoEvaluator.evaluate(dataset: data, sampling: .segments(frames: 2), views: try VideoViews(clips: 2, crops: 1),
                                                 size: 8, normalization: .imagenet, workers: 2, keepPredictions: true) { input in
            calls.append(input.shape)
            let video = calls.count - 1
            return Tensor(shape: [2, 3], values: logits[video].flatMap { $0 })
        }
        XCTAssertEqual(calls, [[2, 2, 3, 8, 8], [2, 2, 3, 8, 8]])
        XCTAssertEqual(result.count, 2)
        XCTAssertEqual(result.top1, 1)
        XCTAssertEqual(result.top5, 1)
        XCTAssertEqual(result.views, try VideoViews(clips: 2, crops: 1))
        XCTAssertEqual(result.predictions.map(\.predicted), [0, 2])
        assertClose(result.predictions[0].probabilities, [7.0 / 16, 4.0 / 16, 5.0 / 16], atol: 1e-6, "mean probabilities")

        // One view per call: the same result; a wrong logits shape names the expected one.
        var single = 0
        let chunked = try VideoEvaluator.evaluate(dataset: data, sampling: .segments(frames: 2), views: try VideoViews(clips: 2, crops: 1),
                                                  size: 8, normalization: .imagenet, viewBatch: 1, workers: 0) { input in
            XCTAssertEqual(input.shape[0], 1)
            single += 1
            return Tensor(shape: [1, 3], values: logits[(single - 1) / 2][(single - 1) % 2])
        }
        XCTAssertEqual(chunked.top1, 1)
        XCTAssertThrowsError(try VideoEvaluator.evaluate(dataset: data, sampling: .segments(frames: 2), views: .somethingSomething,
                                                         size: 8, normalization: .imagenet) { _ in Tensor(zeros: [6, 4]) }) {
            XCTAssertTrue("\($0)".contains("expected [6, 3]"), "\($0)")
        }
    }

    func testViewSamplesAreTheTestCropsOfTheTestClips() throws {
        let dir = temporaryDirectory(self)
        let data = try videos(in: dir)
        let views = try VideoViews(clips: 2, crops: 3)
        let samples = try VideoViewSamples(dataset: data, sampling: .dense(frames: 2, stride: 3), views: views, size: 8,
                                           normalization: .imagenet)
        XCTAssertEqual(samples.sampleShape, [6, 2, 3, 8, 8])
        let values = try samples.load(2, seed: 0, epoch: 0)  // (V, T, 3, S, S); video 2 has 8 frames, 20×12
        let video = try VideoOpener.open(data.paths[2])
        let resized = try TestCrop.resized(video.frames(at: ClipSampling.dense(frames: 2, stride: 3).testIndices(frameCount: 8, clip: 1, clips: 2)), size: 8)
        let expected = NormalizedPlanes(.imagenet).floats(TestCrop.crop(resized, size: 8, crop: 2, crops: 3))  // view 5: clip 1, crop 2
        let viewFloats = 2 * 3 * 64
        XCTAssertEqual(Array(values[5 * viewFloats..<6 * viewFloats]), expected)
    }
}
