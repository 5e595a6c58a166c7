// Concatenation of NCHW tensors along channels and its adjoint, the split (memcpy per image).

enum ChannelConcat {
    /// (B, ΣC_i, H, W) from parts (B, C_i, H, W) of equal batch and spatial size.
    static func forward(_ parts: [Tensor]) -> Tensor {
        let b = parts[0].shape[0], h = parts[0].shape[2], w = parts[0].shape[3]
        precondition(parts.allSatisfy { $0.shape.count == 4 && $0.shape[0] == b && $0.shape[2] == h && $0.shape[3] == w },
                     "ChannelConcat: \(parts.map(\.shape))")
        let total = parts.reduce(0) { $0 + $1.shape[1] }
        let y = Tensor(uninitialized: [b, total, h, w])  // (B, ΣC_i, H, W)
        for n in 0..<b {
            var offset = n * total * h * w
            for p in parts {
                let len = p.shape[1] * h * w
                (y.data + offset).update(from: p.data + n * len, count: len)
                offset += len
            }
        }
        return y
    }

    /// The parts (B, C_i, H, W) of dy (B, ΣC_i, H, W).
    static func split(_ dy: Tensor, channels: [Int]) -> [Tensor] {
        let b = dy.shape[0], total = dy.shape[1], h = dy.shape[2], w = dy.shape[3]
        precondition(channels.reduce(0, +) == total, "ChannelConcat.split: \(channels) of \(dy.shape)")
        let parts = channels.map { Tensor(uninitialized: [b, $0, h, w]) }  // (B, C_i, H, W) each
        for n in 0..<b {
            var offset = n * total * h * w
            for i in parts.indices {
                let len = channels[i] * h * w
                (parts[i].data + n * len).update(from: dy.data + offset, count: len)
                offset += len
            }
        }
        return parts
    }
}
