// The README's library example, compiled against the public API only (no @testable import), and a check that the
// README shows exactly this code.
import Foundation
import SparseTuning
import XCTest

/// The example as it stands in README.md between the markers (compiled, not run: it needs real weights).
func readmeLibraryExample() throws {
    // README example begins
    let backbone = try VisionTransformer(config: ViTConfig.preset("vit-b16")!, seed: nil)
    try backbone.load(try Checkpoint.load("model.safetensors").tensors)        // or a Google .npz
    let pre = ImagePreprocessor(size: 224, mode: .shortSideCrop(cropPct: 0.9), normalization: .inception)
    let images = try pre.batch(paths: ["cat.jpg"])                              // (1, 3, 224, 224)
    let vit = try TunedViT(backbone: backbone)                                  // a plain ViT: no method added
    let logits = try vit.forward(images)                                        // (1, 1000), timm's

    let model = try TunedViT(backbone: backbone, tuning: .defaults(for: .sparseTuning))  // κ 0.7, blocks 3, 6, 9, r 32
    let result = try model.forwardResult(images, blockOutputs: [11])
    let kept = result.reductions[3]!.kept                                       // (B, 138) kept token indices
    let tokens = result.blockOutputs[11]!                                       // (1, 72, 768) last block's tokens
    let train = try DatasetLocator.open("vtab-1k/eurosat", split: "train800val200")
    let trainer = try Trainer(model: model, options: TrainingOptions(), train: train, eval: nil,
                              normalization: .inception, output: "task.safetensors", metricsPath: nil)
    let summary = try trainer.run()                                             // VTAB-1K recipe, 100 epochs
    print(logits.shape, kept.count, tokens.shape, summary.finalLoss)
    // README example ends
}

final class ReadmeExampleTests: XCTestCase {
    /// Non-empty lines with runs of spaces folded, from `text`.
    func normalised(_ lines: [Substring]) -> [String] {
        lines.map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }.filter { !$0.isEmpty }
    }

    func testReadmeShowsTheCompiledExample() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: repo.appendingPathComponent("README.md"), encoding: .utf8)
        let me = try String(contentsOfFile: #filePath, encoding: .utf8)
        let start = try XCTUnwrap(readme.range(of: "```swift\nimport SparseTuning\n"), "README has a Swift example")
        let end = try XCTUnwrap(readme.range(of: "```", range: start.upperBound..<readme.endIndex))
        let shown = normalised(readme[start.upperBound..<end.lowerBound].split(separator: "\n"))
        let begin = try XCTUnwrap(me.range(of: "    // README example begins\n"))
        let stop = try XCTUnwrap(me.range(of: "    // README example ends"))
        let compiled = normalised(me[begin.upperBound..<stop.lowerBound].split(separator: "\n"))
        XCTAssertEqual(shown, compiled, "README.md's library example differs from the compiled one in ReadmeExampleTests.swift")
    }
}
