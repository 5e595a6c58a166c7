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
        let lead = first.model
        // The released code's adapters keep per-task stage sums across blocks: each task runs on its own.
        if parts.count == 1 || lead.tuning.adapter == .official {
            return try parts.map { try $0.model.forward($0.images) }
        }
        let total = parts.reduce(0) { $0 + $1.images.shape[0] }
        let per = first.images.count / first.images.shape[0]  // 3·H·W
        let images = Tensor(uninitialized: [total] + Array(first.images.shape[1...]))  // (ΣB_i, 3, H, W)
        var segments: [RowSegment] = [], start = 0
        for p in parts {
            let n = p.images.shape[0]
            images.data.advanced(by: start * per).update(from: p.images.data, count: n * per)
            segments.append(RowSegment(model: p.model, samples: start..<(start + n)))
            start += n
        }
        let (b, h, w) = try lead.backbone.checkInput(images)
        let kappa = lead.tuning.keepRate
        let arenaKey = lead.arenaKey(batch: b, height: h, width: w, keepRate: kappa, training: false) + " shared"
        return try lead.arenas.with(arenaKey) { arena in
            try lead.run(images, arena: arena, keepRate: kappa, training: false, tape: nil, rng: nil, segments: segments)
        }.segmentLogits
    }
}
