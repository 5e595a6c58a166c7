// Batching requests of several tasks that share one frozen backbone (docs/SERVING.md): which tasks may share a
// pass (`batchKey`), and the pass itself, which runs the frozen trunk once over every task's rows and each task's
// own modules, reductions and head on its rows.

extension TunedViT {
    /// Tasks with equal keys can share one forward pass: the same trunk (``VisionTransformer/sharingTrunk(classes:)``),
    /// the same method structure and sizes, and so the same token schedule; they may differ in their trained
    /// tensors and heads.
    public var batchKey: String {
        var t = tuning
        t.dropPath = 0  // training only
        let structure = (try? JSONCoding.string(t)) ?? "\(t)"
        return "trunk \(ObjectIdentifier(backbone.blocks[0]).hashValue) \(structure)"
    }

    /// Logits of each part's images (B_i, 3, H, W), in order: one pass over all rows when the parts share a
    /// ``batchKey`` and an image size.
    ///
    /// - Throws: ``SparseTuningError`` when the parts cannot share a pass (another trunk, method or image size) or
    ///   an input is malformed.
    public static func forward(batch parts: [(model: TunedViT, images: Tensor)]) throws -> [Tensor] {
        guard let first = parts.first else { return [] }
        let key = first.model.batchKey
        for p in parts {
            guard p.model.batchKey == key else {
                throw SparseTuningError("tasks of another backbone or method structure cannot share a forward pass")
            }
            guard p.images.shape.count == 4, p.images.shape[1...] == first.images.shape[1...] else {
                throw SparseTuningError("inputs of one batch must share their image size: \(p.images.shape) vs \(first.images.shape)")
            }
        }
        return try parts.map { try $0.model.forward($0.images) }
    }
}
