// The one forward pass of every model: embedding, the block loop (attention, token reduction, adapters, MLP), final
// norm, pooling and head. Activations come from an arena planned per step shape; with a tape it saves what the
// backward pass needs, only for the blocks that have something to train below them (docs/ENGINE.md).

/// What one forward pass produced besides its logits: the token reductions (kept indices for visualisation and
/// dumps) and the token count after each block.
public struct ForwardResult: Sendable {
    /// (B, classes), or the pooled features (B, C) for a model without head.
    public let logits: Tensor
    /// Token reductions by block.
    public let reductions: [Int: TokenReduction]
    /// Token count after each block.
    public let tokenCounts: [Int]
    /// Outputs (B, N_l, C) of the blocks asked for (heap copies), by block.
    public let blockOutputs: [Int: Tensor]
    /// With `collectReductionInputs`: each reducing block's input to its reduction (B, N_l, C) — x after the attention
    /// residual — (heap copies), by block (dense restoration, docs/SEGMENTATION.md).
    public var reductionInputs: [Int: Tensor] = [:]
    /// With several row segments (tasks sharing a pass): each segment's logits (B_i, K_i); else `[logits]`.
    let segmentLogits: [Tensor]
}

/// Samples `samples` of a batch that `model`'s own modules, reductions and head run on, while the frozen trunk runs
/// over the whole batch (tasks sharing one backbone, docs/SERVING.md). Every segment's model has the batch's
/// method structure (``TunedViT/batchKey``).
struct RowSegment {
    let model: TunedViT
    let samples: Range<Int>
}

extension TunedViT {
    /// A plain ViT: the backbone with no method added (`TuningConfig.plain`).
    public convenience init(backbone: VisionTransformer) throws {
        try self.init(backbone: backbone, tuning: .plain)
    }

    /// Logits (B, classes) for normalised images (B, 3, H, W) — or clips (B, T, 3, H, W) for a video model — in
    /// inference mode.
    public func forward(_ images: Tensor) throws -> Tensor {
        try forwardResult(images).logits
    }

    /// Logits with the token reductions and counts of this pass, and copies of the outputs of `blockOutputs`.
    /// `keepRate` overrides the configured κ.
    public func forwardResult(_ images: Tensor, keepRate: Double? = nil, blockOutputs: Set<Int> = []) throws -> ForwardResult {
        let shape = try backbone.checkInput(images)
        let kappa = keepRate ?? tuning.keepRate
        let key = arenaKey(shape, keepRate: kappa, training: false)
        return try arenas.with(key) { arena in
            try run(images, arena: arena, keepRate: kappa, training: false, tape: nil, rng: nil, collect: blockOutputs)
        }
    }

    /// What fixes the sequence of allocations of a step: batch, clip length, image size, the token schedule (so keep
    /// rates that keep as many tokens share a plan, e.g. during a keep-rate warm-up) and the mode.
    func arenaKey(_ shape: VisionTransformer.InputShape, keepRate: Double, training: Bool) -> String {
        var t = tuning
        t.keepRate = keepRate
        let tokens = config.prefixTokens + config.patchTokens(frames: shape.frames, height: shape.height, width: shape.width)
        let schedule = FLOPCounter.tokenSchedule(config, t, tokens: tokens).map(String.init).joined(separator: ",")
        return "\(shape.batch)x\(shape.frames)x\(shape.height)x\(shape.width) [\(schedule)] \(training ? "train" : "infer")"
    }

    func recomputesMLP(block l: Int) -> Bool { recomputedMLPBlocks.contains(l) }

    func stageEnds(_ l: Int) -> Bool { l == config.depth - 1 || stageStarts.contains(l + 1) }

    /// The forward pass. With a `tape`, saves what `backward` needs for blocks ≥ ``firstTrainableBlock``;
    /// `training` selects batch statistics for the BatchNorm head and enables drop-path (drawn from `rng`).
    /// With `stopBeforeHead`, returns the head's input (B, C) — pooled, final-normed, before the BatchNorm head —
    /// instead of logits.
    ///
    /// With `segments` (inference only), the trunk runs over every row and each segment's model runs its own
    /// modules and head on its samples; `segmentLogits` then holds each segment's logits.
    func run(_ images: Tensor, arena: Arena, keepRate: Double, training: Bool, tape: ModelTape?,
             rng: UnsafeMutablePointer<SeededGenerator>?, stopBeforeHead: Bool = false,
             collect: Set<Int> = [], collectReductionInputs: Bool = false, segments: [RowSegment]? = nil) throws -> ForwardResult {
        let shape = try backbone.checkInput(images)
        let cfg = config, c = cfg.dim, heads = cfg.heads, depth = cfg.depth
        // The trunk's batch: the samples, or every frame of every clip for a per-frame video model.
        let b = shape.batch * cfg.sequences(frames: shape.frames), hgt = shape.height, wid = shape.width
        let segs = segments ?? [RowSegment(model: self, samples: 0..<b)]
        precondition(segs.count == 1 || (tape == nil && !training && tuning.adapter != .official && cfg.sequencesPerSample == 1),
                     "row segments: image models in inference only, without the released-code adapters' stage sums")
        /// A buffer holding, for each segment whose model has a module (`width(model)` not nil), `rowsPerSample ·
        /// width` values per sample, back to back; `body(model, first sample, samples, its part)` runs for each such
        /// segment. Nil when no segment has the module. With one segment the shape is (B·rowsPerSample, width).
        func segmentBuffer(rowsPerSample: Int, width: (TunedViT) -> Int?,
                           _ body: (TunedViT, Int, Int, UnsafeMutablePointer<Float>) -> Void) -> Tensor? {
            let widths = segs.map { width($0.model) }
            guard widths.contains(where: { $0 != nil }) else { return nil }
            let total = zip(segs, widths).reduce(0) { $0 + $1.0.samples.count * rowsPerSample * ($1.1 ?? 0) }
            let buffer = arena.tensor(segs.count == 1 ? [b * rowsPerSample, widths[0]!] : [total])  // per segment (B_i·R, w_i)
            var offset = 0
            for (seg, w) in zip(segs, widths) {
                guard let w else { continue }
                body(seg.model, seg.samples.lowerBound, seg.samples.count, buffer.data + offset)
                offset += seg.samples.count * rowsPerSample * w
            }
            return buffer
        }
        var n = cfg.prefixTokens + cfg.patchTokens(frames: shape.frames, height: hgt, width: wid)
        var x = arena.tensor([b, n, c])  // (B, N, C) residual stream
        embed(images, shape, into: x, arena: arena)
        tape?.images = images
        tape?.input = shape
        if let normPre = backbone.normPre {
            let e = x  // (B, N, C) embedding before norm_pre
            x = arena.tensor([b, n, c])  // (B, N, C)
            let mean = arena.tensor([b * n]), rstd = arena.tensor([b * n])  // (B·N)
            normPre.forward(e.data, rows: b * n, into: x.data, mean: mean.data, rstd: rstd.data)
            if tuning.trainsBackbone { tape?.embedding = e; tape?.meanPre = mean; tape?.rstdPre = rstd }
        }
        tape?.blocks = [BlockTape?](repeating: nil, count: depth)
        var acc: Tensor? = tuning.adapter == .official ? arena.copy(x) : nil  // (B, N, C) official adapters' stage sum
        var sizes: Tensor?  // (B, N) ToMe token sizes
        var adapterOut = [Tensor?](repeating: nil, count: depth)  // a_l (B, N_l, C) while a later block reads it
        var reductions: [Int: TokenReduction] = [:]
        var counts: [Int] = []
        var outputs: [Int: Tensor] = [:]
        var reductionInputs: [Int: Tensor] = [:]
        arena.boundary()
        for l in 0..<depth {
            let blk = backbone.blocks[l]
            let bt: BlockTape? = tape != nil && l >= firstTrainableBlock ? BlockTape() : nil
            if prompts != nil {
                x = insertPrompts(x, block: l, segments: segs, first: l == 0, arena: arena)
                n = x.shape[1]
            }
            let rows = b * n
            let masks = training && tuning.dropPath > 0 ? dropPathMasks(block: l, batch: b, rng: rng!) : nil
            bt?.tokensIn = n
            bt?.dropMasks = masks
            if let bt { bt.xIn = arena.copy(x) }  // (B, N, C)
            // Attention: x += drop(proj(softmax(q·kᵀ·d^-½ + log sizes)·v)) of norm1(x).
            let h1 = arena.tensor([b, n, c])  // (B, N, C) norm1(x)
            let mean1 = arena.tensor([rows]), rstd1 = arena.tensor([rows])  // (B·N)
            blk.norm1.forward(x.data, rows: rows, into: h1.data, mean: mean1.data, rstd: rstd1.data)
            let qkv = arena.tensor([b, n, 3 * c])  // (B, N, 3C)
            blk.attn.qkv.forward(h1.data, rows: rows, into: qkv.data, arena: arena)
            // LoRA: t = h1·Aᵀ (B·N, r) per segment, qkv += t·B_effᵀ.
            let loraT = segmentBuffer(rowsPerSample: n, width: { $0.lora[l]?.rank }) { m, s0, count, t in
                m.lora[l]!.forward(h1.data + s0 * n * c, rows: count * n, qkv: qkv.data + s0 * n * 3 * c, t: t)
            }
            bt?.loraT = loraT
            let half = blk.attn.precision == .bf16
            let qkvIn = MatrixInput(qkv, bf16: half, arena: arena)  // (B, N, 3C) as the attention products read it
            let probs = arena.tensor([b, heads, n, n])  // (B, H, N, N)
            attentionProbabilities(block: l, qkv: qkvIn, batch: b, tokens: n, sizes: sizes, into: probs, arena: arena)
            let ctx = arena.tensor([b, n, c])  // (B, N, C) heads' outputs before proj
            blk.attn.mix(probs: MatrixInput(probs, bf16: half, arena: arena), qkv: qkvIn, batch: b, tokens: n, into: ctx.data)
            if let bt {
                bt.mean1 = mean1; bt.rstd1 = rstd1; bt.qkv = qkv; bt.sizes = sizes
                if tuning.trainsBackbone || lora[l] != nil { bt.h1 = h1 }
                if tuning.trainsBackbone { bt.ctx = ctx }
            }
            addBranch(x, masks?.attn, rows: rows, arena: arena) { blk.attn.proj.forward(ctx.data, rows: rows, into: $0, accumulate: $1, arena: arena) }
            // Token reduction (EViT or ToMe) of this block.
            var xl = x
            if tsBlocks.contains(l),
               let red = reduce(probs: probs, qkv: qkv, batch: b, tokens: n, sizes: sizes, keepRate: keepRate) {
                xl = arena.tensor([b, red.tokensOut, c])  // (B, N', C)
                red.apply(x.data, into: xl.data, channels: c)
                if red.sizes != nil { sizes = red.sizes }
                if let a = acc {
                    bt?.accIn = a
                    let mapped = arena.tensor([b, red.tokensOut, c])  // (B, N', C)
                    red.apply(a.data, into: mapped.data, channels: c)
                    acc = mapped
                }
                reductions[l] = red
                if collectReductionInputs { reductionInputs[l] = x.copy() }
                bt?.reduction = red
                bt?.xAttn = x
            }
            let nOut = xl.shape[1], rowsOut = b * nOut
            bt?.xl = xl
            // Adapters on x_l.
            var a: Tensor?  // (B, N', C) this block's adapter output
            if segs.contains(where: { $0.model.dense[l] != nil }) {
                let m1 = l >= 1 ? mapForward(adapterOut[l - 1]!, from: l - 1, to: l, reductions, arena: arena) : nil
                let m3 = l >= 3 ? mapForward(adapterOut[l - 3]!, from: l - 3, to: l, reductions, arena: arena) : nil
                let s1 = m1?.mapped, s3 = m3?.mapped
                bt?.chain1 = m1?.chain ?? []
                bt?.chain3 = m3?.chain ?? []
                // (B, N', C), zero on the rows of segments without Dense Adapters
                let out = segs.allSatisfy({ $0.model.dense[l] != nil }) ? arena.tensor([b, nOut, c]) : arena.zeros([b, nOut, c])
                let z = segmentBuffer(rowsPerSample: nOut, width: { $0.dense[l]?.rank }) { m, s0, count, z in  // (B·N', r)
                    let o = s0 * nOut * c
                    m.dense[l]!.forward(x: xl.data + o, s1: s1.map { $0.data + o }, s3: s3.map { $0.data + o }, rows: count * nOut,
                                        z: z, a: out.data + o, arena: arena)
                }
                a = out
                // A mapped input that went through a reduction is recomputed from its chain in the backward pass.
                bt?.denseZ = z
                bt?.denseS1 = m1?.chain.isEmpty == true ? s1 : nil
                bt?.denseS3 = m3?.chain.isEmpty == true ? s3 : nil
            }
            if let o = official[l] {
                let saved = o.forward(xl.data, rows: rowsOut, arena: arena)
                a = saved.a
                bt?.officialSaved = saved
            }
            adapterOut[l] = a
            if l >= 3 { adapterOut[l - 3] = nil }  // no later block reads it (the tape keeps what backward needs)
            // MLP branch, then y = x_l + drop(mlp) + adapters (in place on x_l when nothing keeps x_l).
            let h2 = arena.tensor([b, nOut, c])  // (B, N', C) norm2(x_l)
            let mean2 = arena.tensor([rowsOut]), rstd2 = arena.tensor([rowsOut])  // (B·N')
            blk.norm2.forward(xl.data, rows: rowsOut, into: h2.data, mean: mean2.data, rstd: rstd2.data)
            // AdaptFormer's post-ReLU hidden (B·N', d) per segment.
            let afHidden = segmentBuffer(rowsPerSample: nOut, width: { $0.adaptformer[l]?.hidden }) { m, s0, count, t in
                m.adaptformer[l]!.hidden(xl.data + s0 * nOut * c, rows: count * nOut, into: t, arena: arena)
            }
            let taping = bt != nil
            let u = arena.tensor([b, nOut, cfg.mlpDim])  // (B, N', M) fc1 output (activation fused when not taping)
            blk.mlp.fc1.forward(h2.data, rows: rowsOut, into: u.data, activation: taping ? nil : blk.mlp.activation, arena: arena)
            let g = taping ? arena.tensor(u.shape) : u  // (B, N', M) act(u)
            if taping { blk.mlp.activation.forward(u.data, g.data, count: u.count) }
            let y = taping ? arena.copy(xl) : xl  // (B, N', C) block output
            if segs.contains(where: { $0.model.houlsby[l] != nil }) {
                let m0 = arena.tensor([b, nOut, c])  // (B, N', C) MLP output
                blk.mlp.fc2.forward(g.data, rows: rowsOut, into: m0.data, arena: arena)
                let m = arena.copy(m0)  // (B, N', C) m0 + houlsby(m0) (m0 on segments without it)
                let hidden = segmentBuffer(rowsPerSample: nOut, width: { $0.houlsby[l]?.hidden }) { mod, s0, count, h in  // (B·N', d)
                    let o = s0 * nOut * c
                    mod.houlsby[l]!.hidden(m0.data + o, rows: count * nOut, into: h, arena: arena)
                    mod.houlsby[l]!.project(h, rows: count * nOut, into: m.data + o, arena: arena)
                }
                bt?.houlsbyHidden = hidden
                bt?.m0 = m0
                addBranch(y, masks?.mlp, rows: rowsOut, arena: arena) { out, accumulate in
                    if !accumulate { out.update(repeating: 0, count: m.count) }
                    Elementwise.add(m.data, into: out, count: m.count)
                }
            } else {
                addBranch(y, masks?.mlp, rows: rowsOut, arena: arena) { blk.mlp.fc2.forward(g.data, rows: rowsOut, into: $0, accumulate: $1, arena: arena) }
            }
            if let a { Elementwise.add(a.data, into: y.data, count: y.count) }
            if let afHidden {
                var offset = 0
                for seg in segs {
                    guard let af = seg.model.adaptformer[l] else { continue }
                    let count = seg.samples.count
                    af.project(afHidden.data + offset, rows: count * nOut, into: y.data + seg.samples.lowerBound * nOut * c, arena: arena)
                    offset += count * nOut * af.hidden
                }
                bt?.afHidden = afHidden
            }
            if official[l] != nil {
                if l != depth - 1 {
                    if acc == nil { acc = arena.zeros(y.shape) }  // (B, N', C)
                    Elementwise.add(a!.data, into: acc!.data, count: a!.count)
                }
                if stageEnds(l), let s = acc {
                    Elementwise.add(s.data, into: y.data, count: y.count)
                    acc = nil
                }
            }
            if let bt {
                bt.mean2 = mean2; bt.rstd2 = rstd2
                if !recomputesMLP(block: l) { bt.u = u }
                if tuning.trainsBackbone { bt.h2 = h2; bt.g = g }
                tape!.blocks[l] = bt
            }
            x = y
            n = nOut
            counts.append(n)
            if collect.contains(l) { outputs[l] = y.copy() }
            arena.boundary()
        }
        tape?.reductions = reductions
        var pooled = try headForward(x, training: training, tape: tape, arena: arena)  // (B·S, W) S sequences per sample
        if let temporalPool {
            let t = cfg.sequences(frames: shape.frames), w = cfg.headWidth
            let clip = arena.tensor([shape.batch, w])  // (B, W) the clips' features
            let weights = arena.tensor([shape.batch, t])  // (B, T) temporal pooling weights
            temporalPool.forward(pooled.data, clips: shape.batch, frames: t, width: w, into: clip.data, weights: weights.data)
            tape?.frameFeatures = pooled
            tape?.frameWeights = weights
            pooled = clip
        }
        if stopBeforeHead {
            let features = pooled.copy()
            var result = ForwardResult(logits: features, reductions: reductions, tokenCounts: counts, blockOutputs: outputs,
                                       segmentLogits: [features])
            result.reductionInputs = reductionInputs
            return result
        }
        if segs.count == 1 {
            let logits = classify(pooled, training: training, tape: tape, arena: arena)
            return ForwardResult(logits: logits, reductions: reductions, tokenCounts: counts, blockOutputs: outputs,
                                 segmentLogits: [logits])
        }
        // Each segment's head part on its rows of the pooled features (heap copies, so the plan does not depend on how
        // the batch is split).
        let w = cfg.headWidth
        let parts = segs.map { s -> Tensor in
            let rows = Tensor(uninitialized: [s.samples.count, w])  // (B_i, W)
            rows.data.update(from: pooled.data + s.samples.lowerBound * w, count: s.samples.count * w)
            return s.model.classify(rows, training: false, tape: nil, arena: nil)
        }
        return ForwardResult(logits: parts[0], reductions: reductions, tokenCounts: counts, blockOutputs: outputs,
                             segmentLogits: parts)
    }

    /// Final norm and pooling: the head's input (B, W) in the arena (pooled, final-normed, before the BatchNorm head).
    private func headForward(_ x: Tensor, training: Bool, tape: ModelTape?, arena: Arena) throws -> Tensor {
        let b = x.shape[0], n = x.shape[1]
        var normed = x  // (B, N, C) final norm over all tokens, unless it is timm's fc_norm after pooling
        let meanF = arena.tensor([b * n]), rstdF = arena.tensor([b * n])  // (B·N)
        if !backbone.normAfterPooling {
            normed = arena.tensor(x.shape)  // (B, N, C)
            backbone.norm.forward(x.data, rows: b * n, into: normed.data, mean: meanF.data, rstd: rstdF.data)
        }
        let pooled = arena.tensor([b, config.headWidth])  // (B, W) W = C, or 2C for a distilled model
        backbone.pool(normed, from: poolStart, into: pooled)
        var pooledMean: Tensor?, pooledRstd: Tensor?, pooledIn: Tensor?
        if backbone.normAfterPooling {
            pooledIn = arena.copy(pooled)  // (B, C)
            pooledMean = arena.tensor([b]); pooledRstd = arena.tensor([b])  // (B), (B)
            backbone.norm.forward(pooled.data, rows: b, into: pooled.data, mean: pooledMean!.data, rstd: pooledRstd!.data)
        }
        if let tape {
            tape.xFinal = x; tape.meanF = meanF; tape.rstdF = rstdF
            tape.pooledIn = pooledIn; tape.pooledMean = pooledMean; tape.pooledRstd = pooledRstd
        }
        return pooled
    }

    /// The head part on the pooled features (B, W): optional BatchNorm, then the classifier (heap logits (B, K), or
    /// the features when the model has no head). Shared with training on cached features. Without an arena its
    /// temporaries come from the heap.
    func classify(_ pooled: Tensor, training: Bool, tape: ModelTape?, arena: Arena?) -> Tensor {
        let b = pooled.shape[0], c = config.headWidth
        var features = pooled  // (B, W) the classifier's input
        var bnInv: [Float] = []
        if let bnHead {
            let y = arena?.tensor([b, c]) ?? Tensor(uninitialized: [b, c])  // (B, W)
            bnInv = bnHead.forward(pooled.data, batch: b, into: y.data, training: training)
            features = y
        }
        if let tape { tape.features = features; tape.bnInv = bnInv; tape.training = training }
        guard let head = backbone.head else { return features.copy() }
        let logits = Tensor(uninitialized: [b, config.classes])  // (B, K)
        head.forward(features.data, rows: b, into: logits.data, arena: arena)
        return logits
    }

    // MARK: Pieces of the forward pass

    /// First token averaged by average pooling: after the prefix tokens and any prompts.
    var poolStart: Int { config.prefixTokens + (prompts != nil ? tuning.prompts : 0) }

    /// `x (B, N, C)` = [cls_token; dist_token; reg_token; patch_embed(images)] + pos_embed (resampled to the image's
    /// grid), as timm's `_pos_embed`: pos_embed's prefix rows (if it has them) go to the prefix tokens, else
    /// those tokens get no position. A per-frame video model embeds each frame as an image (B = clips·T); a
    /// space-time model embeds tubelets of all T frames into one sequence, with VideoMAE's sinusoid table.
    func embed(_ images: Tensor, _ shape: VisionTransformer.InputShape, into x: Tensor, arena: Arena) {
        let h = shape.height, w = shape.width, p = config.patch
        let spaceTime = config.tubelet != nil
        let b = spaceTime ? shape.batch : shape.batch * shape.frames, frames = spaceTime ? shape.frames : 1
        let c = config.dim, gh = h / p, gw = w / p, g = config.patchTokens(frames: frames, height: h, width: w)
        let np = config.prefixTokens, n = np + g
        let cols = arena.tensor([b * g, backbone.patchEmbed.proj.inFeatures])  // (B·G, 3·t·p²) patches as rows
        let patches = arena.tensor([b, g, c])  // (B, G, C)
        backbone.patchEmbed.forward(images.data, batch: b, frames: frames, height: h, width: w, cols: cols.data,
                                    into: patches.data, arena: arena)
        let pos = backbone.positionEmbedding(grid: (gh, gw), tokens: g).data  // (1, P + G, C), P = config.posEmbedPrefix
        let posPrefix = config.posEmbedPrefix
        func values(_ t: Tensor?) -> [Float] { t.map { Array(UnsafeBufferPointer(start: $0.data, count: $0.count)) } ?? [] }
        var prefix = values(backbone.clsToken) + values(backbone.distToken) + values(backbone.regToken)  // (P, C) before positions
        if posPrefix > 0 { for i in 0..<(np * c) { prefix[i] += pos[i] } }
        let patchPos = pos + posPrefix * c  // (G, C)
        for bi in 0..<b {
            let row = x.data + bi * n * c
            if np > 0 { prefix.withUnsafeBufferPointer { row.update(from: $0.baseAddress!, count: np * c) } }
            let src = patches.data + bi * g * c
            for i in 0..<(g * c) { row[np * c + i] = src[i] + patchPos[i] }
        }
    }

    /// Block `l`'s attention probabilities (B, H, N, N) from its qkv, with ToMe's proportional attention
    /// (log size of each key token added to the logits) when token sizes are given.
    func attentionProbabilities(block l: Int, qkv: MatrixInput, batch b: Int, tokens n: Int, sizes: Tensor?, into probs: Tensor,
                                arena: Arena) {
        var logSizes: Tensor?  // (B, N)
        if let sizes {
            let t = arena.tensor(sizes.shape)  // (B, N) log sizes
            for i in 0..<sizes.count { t.data[i] = Float.log(sizes.data[i]) }
            logSizes = t
        }
        backbone.blocks[l].attn.probabilities(qkv: qkv, batch: b, tokens: n, keyBias: logSizes?.data, into: probs.data)
    }

    /// This block's reduction, or nil when it would keep every token.
    private func reduce(probs: Tensor, qkv: Tensor, batch b: Int, tokens n: Int, sizes: Tensor?, keepRate: Double) -> TokenReduction? {
        switch tuning.reduction {
        case .evit:
            return EViTSelection.select(probs: probs.data, batch: b, heads: config.heads, tokens: n, prefix: config.prefixTokens,
                                        keepRate: keepRate, fuse: tuning.fuse)
        case .tome:
            return ToMeMerge.merge(qkv: qkv.data, batch: b, tokens: n, prefix: config.prefixTokens, dim: config.dim,
                                   heads: config.heads, sizes: sizes?.data, r: tuning.tomeR)
        }
    }

    /// `x += mask ⊙ branch` where `branch(out, accumulate)` writes or adds the branch into `out`.
    private func addBranch(_ x: Tensor, _ mask: [Float]?, rows: Int, arena: Arena,
                           _ branch: (UnsafeMutablePointer<Float>, Bool) -> Void) {
        guard let mask else { return branch(x.data, true) }
        let t = arena.tensor(x.shape)  // like x: the branch before its drop-path scale
        branch(t.data, false)
        let per = x.count / mask.count
        for bi in 0..<mask.count where mask[bi] != 0 {
            Elementwise.addScaled(t.data + bi * per, alpha: mask[bi], into: x.data + bi * per, count: per)
        }
    }

    /// S_l: `a` (on block `from`'s tokens) carried through the reductions of blocks from+1 … to; the input of each
    /// applied reduction is recorded for the backward pass.
    func mapForward(_ a: Tensor, from: Int, to: Int, _ reductions: [Int: TokenReduction], arena: Arena)
        -> (mapped: Tensor, chain: [(block: Int, input: Tensor)]) {
        var cur = a
        var chain: [(block: Int, input: Tensor)] = []
        for k in (from + 1)...to {
            guard let red = reductions[k] else { continue }
            let out = arena.tensor([red.batch, red.tokensOut, config.dim])  // (B, N_k', C)
            red.apply(cur.data, into: out.data, channels: config.dim)
            chain.append((k, cur))
            cur = out
        }
        return (cur, chain)
    }

    /// Deep prompts of block `l` (each sample gets its segment's model's): block 0 inserts P tokens after the prefix
    /// tokens (class, distillation, registers); later blocks replace them.
    private func insertPrompts(_ x: Tensor, block l: Int, segments: [RowSegment], first: Bool, arena: Arena) -> Tensor {
        let b = x.shape[0], n = x.shape[1], c = config.dim, np = tuning.prompts, pre = config.prefixTokens
        let outN = first ? n + np : n
        let y = arena.tensor([b, outN, c])  // (B, N + P or N, C)
        for seg in segments {
            let p = seg.model.prompts!.data + l * np * c  // (P, C) this block's prompts
            for bi in seg.samples {
                let src = x.data + bi * n * c, dst = y.data + bi * outN * c
                dst.update(from: src, count: pre * c)
                (dst + pre * c).update(from: p, count: np * c)
                let rest = first ? pre : pre + np
                (dst + (pre + np) * c).update(from: src + rest * c, count: (n - rest) * c)
            }
        }
        return y
    }

    /// Per-sample drop-path scales for the attention and MLP branches of block `l` (0 or 1/keep), timm's rule
    /// with the rate rising linearly from 0 at block 0 to `dropPath` at the last block.
    private func dropPathMasks(block l: Int, batch b: Int, rng: UnsafeMutablePointer<SeededGenerator>) -> (attn: [Float], mlp: [Float]) {
        let depth = config.depth
        let p = depth > 1 ? tuning.dropPath * Double(l) / Double(depth - 1) : tuning.dropPath
        let keep = Float(1 - p)
        func draw() -> [Float] { (0..<b).map { _ in rng.pointee.uniform() < keep ? 1 / keep : 0 } }
        return (draw(), draw())
    }
}
