// Batching requests of several tasks that share one frozen backbone (docs/SERVING.md): which tasks may share a
// pass (`batchKey`), and the pass itself, which runs the frozen trunk once over every task's rows and each task's
// own modules, reductions and head on its rows.

extension TunedViT {
    /// Tasks with equal keys can share one forward pass: the same trunk (``VisionTransformer/sharingTrunk(classes:)``)
    /// and the same token reduction — kind, keep rate, blocks, fusion, hence the same token schedule, and the same
    /// number of deep prompts. Their methods may differ otherwise (Dense Adapters, LoRA, AdaptFormer, Houlsby,
    /// BatchNorm head, another rank, a head of their own): each runs on its own rows. A task with the released code's
    /// adapters (stage sums carried across blocks) shares with no other.
    public var batchKey: String {
        let t = tuning
        var parts = ["trunk \(ObjectIdentifier(backbone.blocks[0]).hashValue)",
                     "schedule " + FLOPCounter.tokenSchedule(config, t).map(String.init).joined(separator: ",")]
        if t.reducesTokens {
            parts.append("\(t.reduction.rawValue) keep \(t.keepRate) r \(t.tomeR) fuse \(t.fuse) blocks "
                + t.reductionBlocks(depth: config.depth).map(String.init).joined(separator: ","))
        }
        if prompts != nil { parts.append("prompts \(t.prompts)") }
        if t.adapter == .official { parts.append("task \(ObjectIdentifier(self).hashValue)") }
        return parts.joined(separator: "; ")
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
                throw SparseTuningError("tasks of another backbone or token schedule cannot share a forward pass")
            }
            guard p.images.shape.count == 4, p.images.shape[1...] == first.images.shape[1...] else {
                throw SparseTuningError("inputs of one batch must share their image size: \(p.images.shape) vs \(first.images.shape)")
            }
        }
        let lead = first.model
        if parts.count == 1 {
            return [try lead.forward(first.images)]
        }
        let total = parts.reduce(0) { $0 + $1.images.shape[0] }
        let per = first.images.count / first.images.shape[0]  // 3·H·W
        let images = Tensor(uninitialized: [total] + Array(first.images.shape[1...]))  // (ΣB_i, 3, H, W)
        var segments: [RowSegment] = [], start = 0
        for p in parts {
            let n = p.images.shape[0]
            images.data.advanced(by: start * per).update(from: p.images.data, count: n * per)
            if let last = segments.last, last.model === p.model {  // one task's consecutive requests: one segment
                segments[segments.count - 1] = RowSegment(model: p.model, samples: last.samples.lowerBound..<(start + n))
            } else {
                segments.append(RowSegment(model: p.model, samples: start..<(start + n)))
            }
            start += n
        }
        let kappa = lead.tuning.keepRate
        let arenaKey = lead.arenaKey(try lead.backbone.checkInput(images), keepRate: kappa, training: false) + " shared"
        let logits = try lead.arenas.with(arenaKey) { arena in
            try lead.run(images, arena: arena, keepRate: kappa, training: false, tape: nil, rng: nil, segments: segments)
        }.segmentLogits
        // Back to one result per part (a merged segment is split again).
        var out: [Tensor] = [], index = 0, row = 0
        for p in parts {
            let n = p.images.shape[0], seg = segments[index], k = logits[index].shape[1]
            let part = Tensor(uninitialized: [n, k])  // (B_i, K_i)
            part.data.update(from: logits[index].data + (row - seg.samples.lowerBound) * k, count: n * k)
            out.append(part)
            row += n
            if row == seg.samples.upperBound { index += 1 }
        }
        return out
    }
}
