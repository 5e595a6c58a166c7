// TopClasses: the k most probable classes of a row of logits (softmax probabilities), ties broken by class index.
import Foundation

/// One class of a ranking: its index, label and softmax probability.
public struct RankedClass: Sendable, Equatable, Codable {
    public let index: Int
    public let label: String
    public let probability: Double
    /// The logit it came from.
    public let score: Float
}

extension ServedTask {
    /// The `k` highest-scoring classes of row `row` of `logits` (B, K), best first.
    public func topClasses(_ logits: Tensor, row: Int, k: Int) -> [RankedClass] {
        let n = logits.shape[1]
        let scores = Array(UnsafeBufferPointer(start: logits.data + row * n, count: n))
        let peak = scores.max() ?? 0
        let exps = scores.map { exp(Double($0 - peak)) }
        let total = exps.reduce(0, +)
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        return order.prefix(max(0, k)).map { RankedClass(index: $0, label: label($0), probability: exps[$0] / total, score: scores[$0]) }
    }
}
