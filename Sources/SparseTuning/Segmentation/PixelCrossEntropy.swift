// Per-pixel cross-entropy with an ignore label (docs/SEGMENTATION.md, "Training"): the mean over the pixels whose label
// is not the ignore value, as torch's F.cross_entropy(ignore_index=…) (mmseg's `avg_non_ignore=True`), and its
// gradient with respect to the logits.
import Foundation

enum PixelCrossEntropy {
    /// Loss and d(loss)/d(logits) (B, K, H, W) for `labels` (B·H·W) in 0..<K or `ignore`.
    /// - Throws: ``SparseTuningError`` for a label outside the classes that is not the ignore value, or a shape mismatch.
    static func forwardBackward(logits: Tensor, labels: [Int32], ignore: Int32) throws -> (loss: Float, gradient: Tensor) {
        guard logits.shape.count == 4 else { throw SparseTuningError("pixel logits have shape \(logits.shape); expected (B, K, H, W)") }
        let b = logits.shape[0], k = logits.shape[1], hw = logits.shape[2] * logits.shape[3]
        guard labels.count == b * hw else {
            throw SparseTuningError("\(labels.count) labels for logits of shape \(logits.shape) (expected \(b * hw))")
        }
        let grad = Tensor(zeros: logits.shape)  // (B, K, H, W)
        var total = 0.0, counted = 0
        var p = [Double](repeating: 0, count: k)  // (K) one pixel's probabilities
        for bi in 0..<b {
            let base = bi * k * hw
            for i in 0..<hw {
                let label = labels[bi * hw + i]
                if label == ignore { continue }
                guard label >= 0 && Int(label) < k else {
                    throw SparseTuningError("label \(label) is outside 0..<\(k) and not the ignore value \(ignore)")
                }
                var top = -Double.infinity
                for j in 0..<k { top = max(top, Double(logits.data[base + j * hw + i])) }
                var sum = 0.0
                for j in 0..<k { p[j] = Foundation.exp(Double(logits.data[base + j * hw + i]) - top); sum += p[j] }
                total -= Foundation.log(p[Int(label)] / sum)
                for j in 0..<k { grad.data[base + j * hw + i] = Float(p[j] / sum) }
                grad.data[base + Int(label) * hw + i] -= 1
                counted += 1
            }
        }
        guard counted > 0 else { return (0, grad) }
        let scale = 1 / Float(counted)
        for i in 0..<grad.count { grad.data[i] *= scale }
        return (Float(total / Double(counted)), grad)
    }
}
