// `sparse-tune plot` and `sparse-tune visualize` end to end: outputs written where expected, and bad arguments
// or files give one `error:` line naming the problem, exit 1.
import XCTest
import Foundation
@testable import SparseTuning

final class ReportCLITests: XCTestCase {
    func run(_ args: [String]) throws -> (Int32, String, String) { try runSparseTune(args) }

    func assertError(_ args: [String], mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try assertCLIError(args, mentions: mentions, file: file, line: line)
    }

    func writeLog(_ dir: String, epochs: Int = 12) throws -> String {
        let path = "\(dir)/metrics.jsonl"
        let log = try MetricsLog(path: path)
        for e in 1...epochs {
            let x = Double(e)
            try log.append(MetricsRecord(epoch: e, step: 50 * e, loss: 2 * exp(-x / 4) + 0.2, lr: 1e-3 * (1 + cos(.pi * x / Double(epochs))) / 2,
                                         trainAccuracy: 1 - exp(-x / 3) * 0.9, valAccuracy: e % 2 == 0 ? 0.8 - exp(-x / 3) * 0.7 : nil))
        }
        log.close()
        return path
    }

    func testPlotWritesStackedPanelsNextToTheLog() throws {
        let dir = temporaryDirectory(self)
        let log = try writeLog(dir)
        let (code, out, err) = try run(["plot", log, "--formats", "png,svg,pdf"])
        XCTAssertEqual(code, 0, err)
        XCTAssertTrue(out.contains("metrics.png") && out.contains("metrics.svg") && out.contains("metrics.pdf"), out)
        let image = try ImageDecoder.decode(path: "\(dir)/metrics.png")
        XCTAssertEqual(image.width, 800)
        XCTAssertEqual(image.height, 3 * 320, "loss, lr and accuracy panels")
        XCTAssertGreaterThan(colourCounts(image).count, 10)
        let svg = try String(contentsOfFile: "\(dir)/metrics.svg", encoding: .utf8)
        XCTAssertTrue(svg.contains("height=\"960px\"") && svg.contains("xlink:href=\"#glyph"), String(svg.prefix(300)))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/metrics.pdf")).prefix(5), Data("%PDF-".utf8))
        if let view = reportViewPath("metrics.png") { try FileManager.default.copyItem(atPath: "\(dir)/metrics.png", toPath: view + ".\(UUID().uuidString).png") }

        let (code2, _, err2) = try run(["plot", log, "--out", "\(dir)/curves.svg", "--width", "600", "--panel-height", "200"])
        XCTAssertEqual(code2, 0, err2)
        XCTAssertTrue(try String(contentsOfFile: "\(dir)/curves.svg", encoding: .utf8).contains("height=\"600px\""))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/curves.png"))
        let (code4, _, err4) = try run(["plot", log, "--out", "\(dir)/c.PDF"])
        XCTAssertEqual(code4, 0, err4)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/c.PDF")).prefix(5), Data("%PDF-".utf8))

        // Only some quantities: only their panels.
        let partial = "\(dir)/partial.jsonl"
        try Data("{\"epoch\":1,\"step\":10,\"loss\":1.5}\n{\"epoch\":2,\"step\":20,\"loss\":1.1}\n".utf8)
            .write(to: URL(fileURLWithPath: partial))
        let (code3, _, err3) = try run(["plot", partial, "--out", "\(dir)/p.png"])
        XCTAssertEqual(code3, 0, err3)
        XCTAssertEqual(try ImageDecoder.decode(path: "\(dir)/p.png").height, 320)
    }

    func testPlotErrorsNameTheFile() throws {
        let dir = temporaryDirectory(self)
        try assertError(["plot", "\(dir)/missing.jsonl"], mentions: "missing.jsonl")
        try Data().write(to: URL(fileURLWithPath: "\(dir)/empty.jsonl"))
        try assertError(["plot", "\(dir)/empty.jsonl"], mentions: "empty.jsonl")
        try Data("{\"epoch\":1,\"step\":1,\"loss\":1}\nnot json\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/bad.jsonl"))
        try assertError(["plot", "\(dir)/bad.jsonl"], mentions: "bad.jsonl:2")
        try Data("{\"epoch\":1,\"step\":1,\"images_per_s\":3}\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/none.jsonl"))
        try assertError(["plot", "\(dir)/none.jsonl"], mentions: "none.jsonl")
        let log = try writeLog(dir)
        try assertError(["plot", log, "--out", "\(dir)/x.jpg"], mentions: "x.jpg")
        try assertError(["plot", log, "--formats", "png,gif"], mentions: "gif")
        try assertError(["plot", log, "--width", "5"], mentions: "--width")
        try assertError(["plot", log, "--out", "\(dir)/no/such/dir/c.png"], mentions: "c.png")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/empty.png"))
    }

    func testVisualizeWritesPanelsForEachSparsifyingBlock() throws {
        let dir = temporaryDirectory(self)
        let image = try SyntheticImages(size: 48, classes: 4).sample(1, seed: 3).image
        try PNGEncoder.write(image, to: "\(dir)/photo.png")
        let tiny = fixturePath("vit/model_tiny.safetensors")
        let dims = ["--dim", "48", "--depth", "3", "--heads", "3", "--mlp", "96", "--patch", "8"]
        let (code, out, err) = try run(["visualize", "--weights", tiny] + dims
                                       + ["--keep-rate", "0.5", "--ts-layers", "1,2", "--image", "\(dir)/photo.png"])
        XCTAssertEqual(code, 0, err)
        XCTAssertTrue(out.contains("block 1: 8/16 tokens kept"), out)
        XCTAssertTrue(out.contains("block 2: 5/9 tokens kept"), out)
        let figure = try ImageDecoder.decode(path: "\(dir)/photo-kept.png")
        // Three panels of the 32×32 input shown at 6× (192 px) plus margins and gaps.
        XCTAssertGreaterThanOrEqual(figure.width, 3 * 192 + 2 * 12 + 20)
        XCTAssertGreaterThan(figure.height, 192)
        let colours = colourCounts(figure)
        XCTAssertTrue(colours.keys.contains { $0.r == $0.g && $0.g == $0.b && $0.r > 20 && $0.r < 110 }, "greyed patches")
        XCTAssertTrue(colours.keys.contains { Int($0.r) > Int($0.b) + 40 }, "tinted patches")

        let (code2, _, err2) = try run(["visualize", "--weights", tiny] + dims
                                         + ["--keep-rate", "0.7", "--no-fuse", "--image", "\(dir)/photo.png", "--out", "\(dir)/o.png",
                                            "--norm", "imagenet"])
        XCTAssertEqual(code2, 0, err2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/o.png"))

        let (code3, out3, err3) = try run(["visualize", "--weights", tiny] + dims
                                          + ["--keep-rate", "0.5", "--image", "\(dir)/photo.png", "--format", "pdf"])
        XCTAssertEqual(code3, 0, err3)
        XCTAssertTrue(out3.contains("photo-kept.pdf"), out3)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/photo-kept.pdf")).prefix(5), Data("%PDF-".utf8))
    }

    func testVisualizeErrors() throws {
        let dir = temporaryDirectory(self)
        try PNGEncoder.write(RGBImage(width: 8, height: 8, pixels: [UInt8](repeating: 90, count: 192)), to: "\(dir)/a.png")
        let tiny = fixturePath("vit/model_tiny.safetensors")
        let dims = ["--dim", "48", "--depth", "3", "--heads", "3", "--mlp", "96", "--patch", "8"]
        try assertError(["visualize", "--weights", tiny] + dims + ["--image", "\(dir)/a.png"], mentions: "no EViT token sparsification")
        try assertError(["visualize", "--weights", tiny] + dims + ["--keep-rate", "0.5", "--image", "\(dir)/nothere.jpg"],
                        mentions: "nothere.jpg")
        try assertError(["visualize", "--weights", tiny] + dims + ["--keep-rate", "0.5"], mentions: "--image")
        try assertError(["visualize"] + dims + ["--keep-rate", "0.5", "--image", "\(dir)/a.png"], mentions: "--weights")
        try assertError(["visualize", "--weights", tiny] + dims + ["--keep-rate", "0.5", "--image", "\(dir)/a.png", "--out", "\(dir)/a.jpg"],
                        mentions: "a.jpg")
        try assertError(["visualize", "--weights", tiny] + dims + ["--keep-rate", "0.5", "--image", "\(dir)/a.png", "--image", "\(dir)/a.png",
                                                                  "--out", "\(dir)/x.png"], mentions: "--out")
        try assertError(["visualize", "--weights", tiny] + dims + ["--keep-rate", "0.5", "--image", "\(dir)/a.png", "--format", "gif"],
                        mentions: "--format")
        try assertError(["visualize", "--weights", tiny] + dims + ["--keep-rate", "0.5", "--image", "\(dir)/a.png", "--norm", "zzz"],
                        mentions: "--norm")
        try assertError(["visualize", "--weights", tiny] + dims + ["--reduction", "tome", "--tome-r", "2", "--image", "\(dir)/a.png"],
                        mentions: "ToMe")
        try assertError(["visualize", "--weights", tiny] + dims + ["--keep-rate", "0.5", "--ts-layers", "7", "--image", "\(dir)/a.png"],
                        mentions: "--ts-layers")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/a-kept.png"))
    }
}
