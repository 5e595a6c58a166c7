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

    /// The adapted model's count (token schedule plus adapters) against the hand count: ViT-B/16 with sparse-tuning's
    /// defaults (κ 0.7 at blocks 3, 6, 9, Dense Adapters of rank 32), without fusion, and EViT alone.
    func testSparseTuningCountMatchesTheHandCount() {
        var cfg = ViTConfig.preset("vit-b16")!
        cfg.classes = 100
        let sparse = TuningConfig.defaults(for: .sparseTuning)
        XCTAssertEqual(FLOPCounter.tokenSchedule(cfg, sparse), [197, 197, 197, 140, 140, 140, 100, 100, 100, 72, 72, 72])
        XCTAssertEqual(FLOPCounter.count(cfg, tuning: sparse).total.total,
                       handCountedFLOPs(cfg, keepRate: 0.7, reducing: [3, 6, 9], denseRank: 32))
        var unfused = sparse
        unfused.fuse = false
        XCTAssertEqual(FLOPCounter.count(cfg, tuning: unfused).total.total,
                       handCountedFLOPs(cfg, keepRate: 0.7, reducing: [3, 6, 9], fuse: false, denseRank: 32))
        XCTAssertEqual(FLOPCounter.count(cfg, tuning: .defaults(for: .evit)).total.total,
                       handCountedFLOPs(cfg, keepRate: 0.7, reducing: [3, 6, 9]))
        XCTAssertEqual(FLOPCounter.count(cfg, tuning: .plain).total.total, handCountedFLOPs(cfg))
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

/// FLOPs of one image counted by hand, with fvcore's conventions as the tests above state them and independent of
/// ``FLOPCounter``: patch embedding G²·3p²·C; per block with N tokens in and N' out, qkv and proj N·4C², attention
/// products 2N²C, norm1 5NC, MLP N'·2CM, norm2 5N'C; a Dense Adapter (rank r) at N' tokens, N'·(C·r per down
/// projection — of x_l, plus the carried a_{l−1} from block 1 on and a_{l−3} from block 3 on — + r·C for the up
/// projection); final norm 5NC (class-token pooling); head C·K. EViT at a reducing block keeps ⌈κ(N−1)⌉ patch tokens
/// plus the class token, and one fused token more with fusion (no reduction when that keeps every token).
func handCountedFLOPs(_ cfg: ViTConfig, keepRate: Double = 1, reducing: Set<Int> = [], fuse: Bool = true,
                      denseRank: Int? = nil) -> Int {
    precondition(cfg.pool == .token, "the hand count covers class-token pooling")
    let c = cfg.dim, m = cfg.mlpDim, p = cfg.patch, g = cfg.imageSize / cfg.patch
    var n = 1 + g * g
    var total = g * g * 3 * p * p * c
    for l in 0..<cfg.depth {
        var out = n
        if reducing.contains(l) {
            let kept = Int((keepRate * Double(n - 1)).rounded(.up))
            if kept >= 1 && kept < n - 1 { out = 1 + kept + (fuse ? 1 : 0) }
        }
        total += n * 4 * c * c + 2 * n * n * c + 5 * n * c + out * 2 * c * m + 5 * out * c
        if let r = denseRank {
            let downs = 1 + (l >= 1 ? 1 : 0) + (l >= 3 ? 1 : 0)
            total += out * (downs * c * r + r * c)
        }
        n = out
    }
    return total + 5 * c * n + c * cfg.classes
}

