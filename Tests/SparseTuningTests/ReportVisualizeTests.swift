// Report visualisation: tracing kept token indices back to patches through successive EViT reductions (a
// constructed case), the public TokenReduction views, the kept-token figure masking exactly the pruned patches in
// every panel, and the figure of a tiny random model in PNG, SVG and PDF.
import XCTest
import Foundation
@testable import SparseTuning

final class ReportVisualizeTests: XCTestCase {
    /// An EViT reduction of one sample with the given scores, keeping the `k` best, fused or not.
    func reduction(scores: [Float], k: Int, fuse: Bool) -> TokenReduction {
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        let kept = Array(order[..<k]), dropped = Array(order[k...])
        return TokenReduction(batch: 1, tokensIn: scores.count + 1, tokensOut: k + (fuse ? 2 : 1), prefix: 1, rows: [],
                              kept: [kept], dropped: fuse ? [dropped] : [],
                              scores: Tensor(shape: [1, scores.count], values: scores))
    }

    /// Three reductions of 6 patches. Block 1: scores rank p4 > p0 > p2 > p5 > p1 > p3; keep 3, fuse the rest.
    /// Block 2 sees [p4, p0, p2, fused(1)]: it keeps the fused token first, then p0; drops p4 and p2.
    /// Block 3 sees [fused(1), p0, fused(2)], keeps two without fusion: fused(2) is dropped for good.
    func threeReductions() -> (TokenReduction, TokenReduction, TokenReduction) {
        (reduction(scores: [0.2, 0.05, 0.15, 0.01, 0.3, 0.1], k: 3, fuse: true),
         reduction(scores: [0.1, 0.3, 0.05, 0.4], k: 2, fuse: true),
         reduction(scores: [0.5, 0.2, 0.1], k: 2, fuse: false))
    }

    func testKeptIndicesMapBackToPatches() throws {
        let (r1, r2, r3) = threeReductions()
        XCTAssertEqual(r1.kept, [[4, 0, 2]])
        XCTAssertEqual(r1.droppedTokens, [[5, 1, 3]])
        XCTAssertEqual(r1.fusionWeights, [[0.1, 0.05, 0.01]])
        XCTAssertTrue(r1.isEViT && r1.fusesDropped)
        XCTAssertFalse(r3.fusesDropped)
        XCTAssertEqual(r3.droppedTokens, [[2]], "the complement of kept without fusion")
        XCTAssertEqual(r3.fusionWeights, [])

        let trace = try SparsificationTrace(reductions: [1: r1, 2: r2, 3: r3], patchCount: 6)
        XCTAssertEqual(trace.stages.map(\.block), [1, 2, 3])
        let (s1, s2, s3) = (trace.stages[0], trace.stages[1], trace.stages[2])
        XCTAssertEqual(s1.outputs, [.patch(4), .patch(0), .patch(2), .fused(block: 1)])
        XCTAssertEqual(s1.droppedPatches, [5, 1, 3])
        XCTAssertEqual(s1.droppedPatchWeights, [0.1, 0.05, 0.01])
        XCTAssertEqual(s1.fusedWeight, 0.16, accuracy: 1e-6)
        XCTAssertEqual(s1.remainingPatches, [0, 2, 4])
        XCTAssertEqual(s1.keptCount, 3)

        XCTAssertEqual(s2.outputs, [.fused(block: 1), .patch(0), .fused(block: 2)])
        XCTAssertEqual(s2.keptFusedTokens, [.init(block: 1, rank: 1)])
        XCTAssertEqual(s2.droppedPatches, [4, 2])
        XCTAssertEqual(s2.droppedPatchWeights, [0.1, 0.05])
        XCTAssertEqual(s2.fusedWeight, 0.15, accuracy: 1e-6)
        XCTAssertEqual(s2.remainingPatches, [0])

        XCTAssertEqual(s3.outputs, [.fused(block: 1), .patch(0)])
        XCTAssertEqual(s3.droppedPatches, [])
        XCTAssertEqual(s3.droppedFusedTokens, [2])
        XCTAssertEqual(s3.fusedWeight, 0)
        XCTAssertEqual(s3.keptFusedTokens, [.init(block: 1, rank: 1)])
        XCTAssertEqual(trace.stageDropping(patch: 5), 0)
        XCTAssertEqual(trace.stageDropping(patch: 2), 1)
        XCTAssertNil(trace.stageDropping(patch: 0))

        // Captions on a 3×2 grid of 4-pixel patches.
        let image = RGBImage(width: 12, height: 8, pixels: [UInt8](repeating: 128, count: 12 * 8 * 3))
        let figure = try KeptTokenFigure(image: image, patch: 4, trace: trace)
        XCTAssertEqual(figure.captions(panel: 1)[0], "block 1: 3/6 kept")
        XCTAssertEqual(figure.captions(panel: 1)[1], "fused: Σw = 0.160 over 3 patches")
        XCTAssertEqual(figure.captions(panel: 2), ["block 2: 2/4 kept", "fused: Σw = 0.150 over 2 patches",
                                                  "fused token of block 1 kept (rank 1)", "patches left: 1/6"])
        XCTAssertEqual(figure.captions(panel: 3), ["block 3: 2/3 kept", "dropped: 0 patches + fused, no fusion",
                                                  "fused token of block 1 kept (rank 1)", "fused token of block 2 dropped", "patches left: 1/6"])
        let states = figure.states(panel: 2)
        XCTAssertEqual(states[0], .kept)
        XCTAssertEqual(states[5], .droppedEarlier)
        XCTAssertEqual(states[4], .droppedHere(tint: 0.5), "the highest fusion weight gets the strongest tint")
    }

    func testFigureMasksExactlyThePrunedPatches() throws {
        let (r1, r2, r3) = threeReductions()
        let trace = try SparsificationTrace(reductions: [1: r1, 2: r2, 3: r3], patchCount: 6)
        // A 3×2 grid of 16-pixel patches, each patch its own colour.
        var pixels = [UInt8](repeating: 0, count: 48 * 32 * 3)  // 32 rows × 48 columns × RGB
        let colours = [RGBColor(40, 200, 90), RGBColor(70, 175, 110), RGBColor(100, 150, 130), RGBColor(130, 125, 150),
                       RGBColor(160, 100, 170), RGBColor(190, 75, 190)]
        for y in 0..<32 {
            for x in 0..<48 {
                let c = colours[(y / 16) * 3 + x / 16], i = (y * 48 + x) * 3
                (pixels[i], pixels[i + 1], pixels[i + 2]) = (c.r, c.g, c.b)
            }
        }
        let figure = try KeptTokenFigure(image: RGBImage(width: 48, height: 32, pixels: pixels), patch: 16, trace: trace)
        let image = try ImageDecoder.decode(Data(figure.figure().render(.png)), name: "kept.png")
        let d = figure.displayScale, pw = figure.panelWidth
        XCTAssertEqual(d, 4)
        let removedBefore: [Set<Int>] = [[], [], [5, 1, 3], [5, 1, 3, 4, 2]]  // per panel: dropped by earlier blocks
        let removedHere: [Set<Int>] = [[], [5, 1, 3], [4, 2], []]
        for panel in 0...3 {
            let (x0, y0) = figure.panelOrigin(panel)
            let left = x0 + (pw - 48 * d) / 2
            for p in 0..<6 {
                let centre = pixel(image, left + ((p % 3) * 16 + 8) * d + 1, y0 + ((p / 3) * 16 + 8) * d + 1)
                let masked = removedBefore[panel].contains(p) || removedHere[panel].contains(p)
                if masked {
                    XCTAssertNotEqual(centre, colours[p], "panel \(panel): patch \(p) is pruned, so masked")
                } else {
                    XCTAssertEqual(centre, colours[p], "panel \(panel): patch \(p) is kept, so shown as it is")
                }
                if removedBefore[panel].contains(p) {
                    XCTAssertTrue(centre.r == centre.g && centre.g == centre.b, "panel \(panel): patch \(p) greyed, got \(centre)")
                }
            }
        }
    }

    func testTraceRejectsToMeAndMismatchedCounts() throws {
        XCTAssertThrowsError(try SparsificationTrace(reductions: [:], patchCount: 4))
        let tome = TokenReduction(batch: 1, tokensIn: 5, tokensOut: 4, prefix: 1, rows: [], sizes: Tensor(zeros: [1, 4]))
        XCTAssertFalse(tome.isEViT)
        XCTAssertEqual(tome.droppedTokens, [])
        XCTAssertThrowsError(try SparsificationTrace(reductions: [0: tome], patchCount: 4)) { error in
            XCTAssertTrue("\(error)".contains("ToMe"), "\(error)")
        }
        let r = reduction(scores: [0.4, 0.3, 0.2, 0.1], k: 2, fuse: true)
        XCTAssertThrowsError(try SparsificationTrace(reductions: [0: r], patchCount: 9)) { error in
            XCTAssertTrue("\(error)".contains("expected 10"), "\(error)")
        }
        XCTAssertThrowsError(try SparsificationTrace(reductions: [0: r], sample: 1, patchCount: 4))
        let trace = try SparsificationTrace(reductions: [0: r], patchCount: 4)
        let image = RGBImage(width: 10, height: 10, pixels: [UInt8](repeating: 0, count: 300))
        XCTAssertThrowsError(try KeptTokenFigure(image: image, patch: 4, trace: trace))
        XCTAssertNoThrow(try KeptTokenFigure(image: image, patch: 5, trace: trace))
    }

    func testFigureOfTinyRandomModelShowsGreyAndColouredPatches() throws {
        var config = ViTConfig(dim: 48, depth: 4, heads: 3, mlpDim: 96, patch: 8, imageSize: 64, classes: 4)
        config.imageSize = 64
        var tuning = TuningConfig.defaults(for: .evit)
        tuning.keepRate = 0.5
        tuning.tsLayers = [1, 2]
        let model = try TunedViT(backbone: VisionTransformer(config: config, seed: 7), tuning: tuning)
        let synthetic = try SyntheticImages(size: 64, classes: 4)
        let image = synthetic.sample(2, seed: 11).image
        if let view = reportViewPath("synthetic224.png") {
            try PNGEncoder.write(try SyntheticImages(size: 224, classes: 8).sample(5, seed: 1).image, to: view)
        }
        let pre = ImagePreprocessor(size: 64, mode: .squash, normalization: .inception)
        let reductions = try model.forwardResult(pre.batch([image])).reductions
        XCTAssertEqual(reductions.keys.sorted(), [1, 2])
        let trace = try SparsificationTrace(reductions: reductions, patchCount: 64)
        XCTAssertEqual(trace.stages.map(\.keptCount), [32, 17])  // 64 → 32 (+ fused) → ⌈0.5·33⌉
        XCTAssertEqual(trace.stages[0].droppedPatches.count, 32)
        XCTAssertEqual(trace.stages[0].droppedPatchWeights.count, 32)
        let weights = reductions[1]!.fusionWeights[0]
        XCTAssertEqual(trace.stages[0].fusedWeight, weights.reduce(0, +), accuracy: 1e-6)
        XCTAssertEqual(Set(trace.stages[0].droppedPatches + trace.stages[0].remainingPatches), Set(0..<64))

        let figure = try KeptTokenFigure(image: pre.geometry(image), patch: 8, trace: trace, title: "synthetic")
        let path = temporaryDirectory(self) + "/kept.png"
        try figure.figure().write(to: path)
        if let view = reportViewPath("kept-tiny.png") { try figure.figure().write(to: view) }
        if let view = reportViewPath("kept-tiny.pdf") { try figure.figure().write(to: view) }
        let decoded = try ImageDecoder.decode(path: path)
        XCTAssertEqual(decoded.width, figure.size.width)
        XCTAssertEqual(decoded.height, figure.size.height)
        XCTAssertEqual(figure.displayScale, 3)
        XCTAssertEqual(decoded.width, 2 * 10 + 3 * figure.panelWidth + 2 * 12)
        XCTAssertTrue(latin1(try figure.figure().render(.svg)).contains("<image"), "the panels embedded in the SVG")
        XCTAssertEqual(latin1(try figure.figure().render(.pdf).prefix(5)), "%PDF-")
        let d = figure.displayScale
        let left = { (panel: Int) in figure.panelOrigin(panel).x + (figure.panelWidth - 64 * d) / 2 }
        /// The displayed colour of pixel (x, y) of the model-size image in panel `panel` (inside its patch, off the grid lines).
        func shown(_ panel: Int, _ x: Int, _ y: Int) -> RGBColor {
            pixel(decoded, left(panel) + x * d + 1, figure.panelOrigin(panel).y + y * d + 1)
        }
        func original(_ x: Int, _ y: Int) -> RGBColor {
            let i = (y * 64 + x) * 3
            let g = pre.geometry(image).pixels
            return RGBColor(g[i], g[i + 1], g[i + 2])
        }
        let kept = trace.stages[1].remainingPatches[0]
        let droppedFirst = trace.stages[0].droppedPatches[0]
        let droppedSecond = trace.stages[1].droppedPatches[0]
        func centre(_ p: Int) -> (Int, Int) { ((p % 8) * 8 + 3, (p / 8) * 8 + 3) }
        var (x, y) = centre(kept)
        XCTAssertEqual(shown(0, x, y), original(x, y), "input panel")
        XCTAssertEqual(shown(2, x, y), original(x, y), "kept patches keep their colour")
        (x, y) = centre(droppedFirst)
        XCTAssertEqual(shown(0, x, y), original(x, y))
        let grey = shown(2, x, y)
        XCTAssertTrue(grey.r == grey.g && grey.g == grey.b, "dropped earlier → grey, got \(grey)")
        XCTAssertLessThan(grey.brightness, original(x, y).brightness, "and darker")
        let tinted = shown(1, x, y)
        XCTAssertGreaterThan(Int(tinted.r), Int(tinted.b) + 20, "dropped here → magenta tint, got \(tinted)")
        (x, y) = centre(droppedSecond)
        XCTAssertEqual(shown(1, x, y), original(x, y), "still kept at the first block")
        let tinted2 = shown(2, x, y)
        XCTAssertGreaterThan(Int(tinted2.r), Int(tinted2.b) + 20, "dropped by the second block → tinted, got \(tinted2)")
        // Captions are drawn: dark text pixels below the images.
        let captionTop = figure.panelOrigin(1).y + 64 * d + 6
        var dark = 0
        for yy in captionTop..<(captionTop + 10) {
            for xx in figure.panelOrigin(1).x..<(figure.panelOrigin(1).x + 100) where pixel(decoded, xx, yy).brightness < 80 { dark += 1 }
        }
        XCTAssertGreaterThan(dark, 40, "caption text")
        XCTAssertEqual(figure.captions(panel: 1)[0], "block 1: 32/64 kept")
        XCTAssertEqual(figure.captions(panel: 2)[0], "block 2: 17/33 kept")
    }
}
