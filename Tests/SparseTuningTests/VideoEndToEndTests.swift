// End to end on generated clips whose label is the direction a square moves (SyntheticVideos; flipping would corrupt
// the labels): `sparse-tune train` fine-tunes with Sparse-Tuning (frozen backbone, Dense Adapters, EViT over video
// tokens without a class token) the small space-time model that `demo --video` pretrains from scratch
// (Fixtures/video_models/moving_square_backbone.safetensors, scripts/fixtures/video_backbone.sh) on freshly generated
// clips; `eval --json` scores multi-view; `predict --video` names the direction. All far above chance (25%).
import XCTest
import Foundation
@testable import SparseTuning

final class VideoEndToEndTests: XCTestCase {
    func testMovingSquareDirectionSparseTuneEvalPredict() throws {
        let dir = temporaryDirectory(self)
        let data = "\(dir)/moving"
        try SyntheticVideos(size: 32, frames: 8).writeDataset(root: data, trainCount: 160, valCount: 48, seed: 7)
        let backbone = fixturePath("video_models/moving_square_backbone.safetensors")
        let clips = ["--recipe", "ssv2", "--sampling", "dense", "--frame-stride", "2", "--clips", "1", "--crops", "1"]
        let task = "\(dir)/task.safetensors"
        let (code, out, err) = try runSparseTune(["train", "--weights", backbone, "--method", "sparse-tuning", "--keep-rate", "0.7",
                                                  "--ts-layers", "1", "--rank", "8", "--data", data, "--epochs", "3", "--batch", "16",
                                                  "--lr", "2e-3", "--warmup-epochs", "1", "--output", task, "--frames", "4",
                                                  "--threads", "2", "--json"] + clips)
        XCTAssertEqual(code, 0, err)
        XCTAssertTrue(err.contains("space-time tubelets of 2 frames"), err)
        XCTAssertTrue(err.contains("flip off"), err)
        let tuned = try jsonTree(out)
        XCTAssertGreaterThan(try XCTUnwrap(tuned["eval_top1"]?.double), 0.6, out)

        // eval: the task file's clip settings with 2 temporal clips × 2 crops; top1 as a fraction and the views used.
        let (c2, o2, e2) = try runSparseTune(["eval", "--weights", backbone, "--weights", task, "--data", data,
                                              "--clips", "2", "--crops", "2", "--json", "--threads", "2"])
        XCTAssertEqual(c2, 0, e2)
        let ev = try jsonTree(o2)
        XCTAssertGreaterThan(try XCTUnwrap(ev["top1"]?.double), 0.6, o2)
        XCTAssertEqual(ev["views"]?["count"]?.int, 4)
        XCTAssertEqual(ev["samples"]?.int, 48)

        // predict --video on frame folders: each of the four directions' first validation clip.
        let folders = (0..<4).map { String(format: "%@/val/%06d", data, $0) }  // labels 0, 1, 2, 3 (index % 4)
        let (c3, o3, e3) = try runSparseTune(["predict", "--weights", backbone, "--weights", task, "--json", "--top", "1",
                                              "--threads", "2"] + folders.flatMap { ["--video", $0] })
        XCTAssertEqual(c3, 0, e3)
        let predictions = try XCTUnwrap(jsonTree(o3)["predictions"])
        var right = 0
        for i in 0..<4 where predictions[i]?["top"]?[0]?["label"]?.string == SyntheticVideos.directions[i] { right += 1 }
        XCTAssertGreaterThanOrEqual(right, 3, o3)
        XCTAssertEqual(predictions[0]?["views"]?.int, 1)

        // visualize --video: the kept space-time tokens as a frame grid.
        let figure = "\(dir)/kept.png"
        let (c4, o4, e4) = try runSparseTune(["visualize", "--weights", backbone, "--weights", task, "--video", folders[1],
                                              "--out", figure, "--threads", "2"])
        XCTAssertEqual(c4, 0, e4)
        XCTAssertTrue(o4.contains(figure), o4)
        XCTAssertEqual(try PNGDecoder.decode(Data(contentsOf: URL(fileURLWithPath: figure)), name: figure).width > 100, true)
    }

    func testBadVideosNamedOrSkipped() throws {
        let dir = temporaryDirectory(self)
        let data = "\(dir)/moving"
        try SyntheticVideos(size: 32, frames: 8).writeDataset(root: data, trainCount: 8, valCount: 4, seed: 9)
        // A frame folder with a frame missing, and a text file posing as an mp4, in the training list.
        try FileManager.default.removeItem(atPath: "\(data)/train/000002/img_00003.png")
        try "not a video".write(toFile: "\(data)/train/bogus.mp4", atomically: true, encoding: .utf8)
        let list = try String(contentsOfFile: "\(data)/train.csv", encoding: .utf8) + "train/bogus.mp4 1\n"
        try list.write(toFile: "\(data)/train.csv", atomically: true, encoding: .utf8)
        let backbone = fixturePath("video_models/moving_square_backbone.safetensors")
        let args = ["train", "--weights", backbone, "--data", data, "--epochs", "1", "--batch", "4", "--frames", "4",
                    "--recipe", "ssv2", "--sampling", "dense", "--frame-stride", "2", "--clips", "1", "--crops", "1",
                    "--output", "\(dir)/task.safetensors", "--threads", "2", "--no-eval"]
        let (code, _, err) = try runSparseTune(args)
        XCTAssertNotEqual(code, 0)
        XCTAssertTrue(err.contains("error:") && (err.contains("img_00003.png") || err.contains("bogus.mp4")), err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/task.safetensors"), "no task file from a failed epoch")
        let (c2, o2, e2) = try runSparseTune(args + ["--skip-bad-videos", "--json"])
        XCTAssertEqual(c2, 0, e2)
        XCTAssertEqual(try jsonTree(o2)["skipped_samples"]?.int, 2, o2)
    }

    func testImageModelOnVideoDataIsAClearError() throws {
        let dir = temporaryDirectory(self)
        try SyntheticVideos(size: 16, frames: 2).writeDataset(root: "\(dir)/v", trainCount: 4, valCount: 4, seed: 1)
        try assertCLIError(["train", "--method", "full", "--data", "\(dir)/v", "--dim", "16", "--depth", "1", "--heads", "2",
                            "--patch", "8", "--image-size", "16", "--recipe", "ssv2", "--frames", "2", "--tubelet", "3",
                            "--output", "\(dir)/t.safetensors"], mentions: "--frames 2 must be a positive multiple of the tubelet depth 3")
    }
}
