// FLOP counts against fvcore's numbers for timm's ViT-B/16 (docs/METHOD.md §9) and the per-block formula for other
// shapes.
import XCTest
@testable import SparseTuning

final class FLOPsTests: XCTestCase {
    func testViTB16MatchesFvcore() {
        let r = FLOPCounter.count(ViTConfig.preset("vit-b16")!)
        XCTAssertEqual(r.total.total, 17_582_740_224)
        XCTAssertEqual(r.total.linear, 16_732_895_232)
        XCTAssertEqual(r.total.matmul, 715_327_488)
        XCTAssertEqual(r.total.conv, 115_605_504)
        XCTAssertEqual(r.total.layerNorm, 18_912_000)
        XCTAssertEqual(r.blocks.map(\.tokensIn), Array(repeating: 197, count: 12))
    }

    func testDenseBlockFormulaForOtherShapes() {
        // Per dense block: N·(4C² + 2·C·mlp + 10C) + 2N²C; embedding conv G²·3p²·C; final norm 5NC; head C·K.
        for (c, depth, mlp, p, s, k) in [(192, 3, 768, 16, 224, 10), (45, 2, 72, 8, 40, 4), (1280, 1, 5120, 14, 224, 0)] {
            let cfg = ViTConfig(dim: c, depth: depth, heads: 1, mlpDim: mlp, patch: p, imageSize: s, classes: k)
            let g = s / p, n = 1 + g * g
            let block = n * (4 * c * c + 2 * c * mlp + 10 * c) + 2 * n * n * c
            let expected = g * g * 3 * p * p * c + depth * block + 5 * n * c + c * k
            XCTAssertEqual(FLOPCounter.count(cfg).total.total, expected, "C=\(c) p=\(p) S=\(s)")
        }
    }

    func testReducedTokensCountAttentionAtIncomingTokens() {
        var cfg = ViTConfig(dim: 8, depth: 2, heads: 1, mlpDim: 16, patch: 4, imageSize: 16, classes: 0)
        cfg.pool = .token
        let r = FLOPCounter.count(cfg, tokensAfter: [10, 10])
        let n0 = 17, n1 = 10, c = 8
        let block0 = n0 * (4 * c * c + 5 * c) + 2 * n0 * n0 * c + n1 * (2 * c * 16 + 5 * c)
        XCTAssertEqual(r.blocks[0].flops.total, block0)
        XCTAssertEqual(r.blocks[1].tokensIn, 10)
        XCTAssertEqual(r.head.layerNorm, 5 * c * n1)
    }
}
