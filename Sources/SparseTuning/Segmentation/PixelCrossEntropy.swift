// Per-pixel cross-entropy with an ignore label (docs/SEGMENTATION.md, "Training"): the mean over the pixels whose label
// is not the ignore value, as torch's F.cross_entropy(ignore_index=…) (mmseg's `avg_non_ignore=True`), and its
// gradient with respect to the logits. Rows of pixels run in parallel; each row's sum is kept in Double.
import Foundation

enum PixelCrossEntropy {
    /// Loss and d(loss)/d(logits) (B, K, H, W) for `labels` (B·H·W) in 0..<K or `ignore`.
    /// - Throws: ``SparseTuningError`` for a label outside the classes that is not the ignore value, or a shape mismatch.
    static func forwardBackward(logits: Tensor, labels: [Int32], ignore: Int32) throws -> (loss: Float, gradient: Tensor) {
        guard logits.shape.count == 4 else { throw SparseTuningError("pixel logits have shape \(logits.shape); expected (B, K, H, W)") }
        let b = logits.shape[0], k = logits.shape[1], h = logits.shape[2], w = logits.shape[3], hw = h * w
        guard labels.count == b * hw else {
            throw SparseTuningError("\(labels.count) labels for logits of shape \(logits.shape) (expected \(b * hw))")
        }
        if let bad = labels.first(where: { $0 != ignore && ($0 < 0 || Int($0) >= k) }) {
            throw SparseTuningError("label \(bad) is outside 0..<\(k) and not the ignore value \(ignore)")
        }
        let grad = Tensor(zeros: logits.shape)  // (B, K, H, W)
        var rowLoss = [Double](repeating: 0, count: b * h)  // (B·H) each image row's summed loss
        var rowCount = [Int](repeating: 0, count: b * h)  // (B·H) its counted pixels
        rowLoss.withUnsafeMutableBufferPointer { lossOut in
            rowCount.withUnsafeMutableBufferPointer { countOut in
                labels.withUnsafeBufferPointer { lab in
                    let x = logits.data, g = grad.data
                    parallelFor(b * h) { r0, r1 in
                        var p = [Float](repeating: 0, count: k)  // (K) one pixel's exponentials
                        for r in r0..<r1 {
                            let bi = r / h, y = r % h, base = bi * k * hw
                            var sum = 0.0, counted = 0
                            for xi in 0..<w {
                                let i = y * w + xi, label = lab[bi * hw + i]
                                if label == ignore { continue }
                                var top = -Float.infinity
                                for j in 0..<k { top = max(top, x[base + j * hw + i]) }
                                var z: Float = 0
                                for j in 0..<k { p[j] = Foundation.exp(x[base + j * hw + i] - top); z += p[j] }
                                sum -= Double(Foundation.log(p[Int(label)] / z))
                                for j in 0..<k { g[base + j * hw + i] = p[j] / z }
                                g[base + Int(label) * hw + i] -= 1
                                counted += 1
                            }
                            lossOut[r] = sum
                            countOut[r] = counted
                        }
                    }
                }
            }
        }
        let counted = rowCount.reduce(0, +)
        guard counted > 0 else { return (0, grad) }
        let scale = 1 / Float(counted)
        for i in 0..<grad.count { grad.data[i] *= scale }
        return (Float(rowLoss.reduce(0, +) / Double(counted)), grad)
    }
}
