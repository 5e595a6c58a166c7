// `sparse-tune flops --json`: the fvcore FLOP count of one image (or clip), by operator and by block.
import SparseTuning

/// What `flops --json` prints.
struct FlopsJSON: Encodable {
    struct ByOperator: Encodable {
        var linear: Int, matmul: Int, conv: Int, layerNorm: Int

        private enum CodingKeys: String, CodingKey { case linear, matmul, conv, layerNorm = "layer_norm" }
    }

    struct Block: Encodable {
        var block: Int, tokensIn: Int, tokensOut: Int, gflops: Double

        private enum CodingKeys: String, CodingKey { case block, gflops, tokensIn = "tokens_in", tokensOut = "tokens_out" }
    }

    var gflops: Double
    var flops: Int
    var convention = "fvcore: one multiply-accumulate counts as one FLOP"
    var imageSize: Int
    /// Frames per clip (1 for an image model) and the sequences each runs (T per frame, 1 space-time): the block
    /// figures are per sequence, `gflops` per clip.
    var frames = 1
    var sequences = 1
    /// Segmentation: the head's FLOPs (included in `flops` and `gflops`).
    var headFlops: Int?
    var byOperator: ByOperator
    var blocks: [Block]

    private enum CodingKeys: String, CodingKey {
        case gflops, flops, convention, blocks, frames, sequences, imageSize = "image_size", byOperator = "by_operator"
        case headFlops = "head_flops"
    }

    init(_ report: FLOPReport, imageSize: Int) {
        let t = report.total
        gflops = report.gflops
        flops = t.total
        self.imageSize = imageSize
        byOperator = ByOperator(linear: t.linear, matmul: t.matmul, conv: t.conv, layerNorm: t.layerNorm)
        blocks = report.blocks.enumerated().map { l, b in
            Block(block: l, tokensIn: b.tokensIn, tokensOut: b.tokensOut, gflops: Double(b.flops.total) / 1e9)
        }
    }
}
