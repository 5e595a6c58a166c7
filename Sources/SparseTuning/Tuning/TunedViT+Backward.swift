// Training through the adapted ViT: forward with a tape, then the backward pass block by block in reverse, down to
// the lowest block that holds a trainable tensor. Frozen layers get input gradients only (one matmul each);
// trainable ones also get weight gradients. Gradients pass through token reductions (gathers, merges) and through
// EViT's fusion weights into the attention. Residual gradients are accumulated in place (docs/ENGINE.md).

extension TunedViT {
    /// One forward + backward pass: `loss(logits)` returns the loss and d(loss)/d(logits); gradients are
    /// accumulated (`+=`) into ``trainable``'s `grad` buffers. `training` selects BatchNorm batch statistics and
    /// drop-path (drawn from `rng`); `keepRate` overrides the configured κ (keep-rate warm-up).
    public func forwardBackward(_ images: Tensor, training: Bool, keepRate: Double? = nil, rng: inout SeededGenerator,
                                loss: (Tensor) throws -> (Float, Tensor)) throws -> (loss: Float, logits: Tensor) {
        let shape = try backbone.checkInput(images)
        let kappa = keepRate ?? tuning.keepRate
        return try arenas.with(arenaKey(shape, keepRate: kappa, training: true)) { arena in
            let tape = ModelTape()
            let logits = try withUnsafeMutablePointer(to: &rng) {
                try run(images, arena: arena, keepRate: kappa, training: training, tape: tape, rng: $0).logits
            }
            let (value, dLogits) = try loss(logits)
            backward(dLogits, tape: tape, arena: arena)
            return (value, logits)
        }
    }

    /// Frees the activation memory kept between calls (it is planned again by the next call).
    public func releaseActivationMemory() { arenas.removeAll() }

    /// Bytes of activation memory planned and kept for the step shapes run so far (idle arenas).
    public var activationMemoryBytes: Int { arenas.plannedBytes }

    private var gradientIndex: [String: Parameter] {
        Dictionary(uniqueKeysWithValues: trainable.map { ($0.name, $0) })
    }

    /// LayerNorm backward into `dx` (accumulating when asked), with parameter gradients when trainable.
    private func layerNormBackward(_ norm: LayerNorm, name: String, dy: Tensor, x: Tensor, mean: Tensor, rstd: Tensor,
                                   rows: Int, dx: UnsafeMutablePointer<Float>, accumulate: Bool, grads: [String: Parameter]) {
        LayerNormKernel.backward(dx: dx, dy: dy.data, x: x.data, weight: norm.weight.data, mean: mean.data, rstd: rstd.data,
                                 rows: rows, c: norm.dim, accumulate: accumulate,
                                 dweight: grads["\(name).weight"]?.grad.data, dbias: grads["\(name).bias"]?.grad.data)
    }

    /// Linear backward: `dx` (written) and, when `name` is trainable, the weight and bias gradients from `x`.
    private func linearBackward(_ lin: Linear, name: String, dy: Tensor, x: Tensor?, rows: Int,
                                grads: [String: Parameter], arena: Arena) -> Tensor {
        if let w = grads["\(name).weight"], let x {
            lin.backwardWeights(dy.data, x.data, rows: rows, dWeight: w.grad.data, dBias: grads["\(name).bias"]?.grad.data)
        }
        let dx = arena.tensor([rows, lin.inFeatures])  // (rows, in)
        lin.backwardInput(dy.data, rows: rows, into: dx.data, arena: arena)
        return dx
    }

    func backward(_ dLogits: Tensor, tape: ModelTape, arena: Arena) {
        let grads = gradientIndex
        let cfg = config, c = cfg.dim, depth = cfg.depth
        let clips = dLogits.shape[0], t = cfg.sequences(frames: tape.input.frames), b = clips * t  // samples; the trunk's sequences
        // Head, BatchNorm, temporal pooling, fc_norm, pooling, final norm.
        let stop = firstTrainableBlock
        // Only the head trains.
        if stop == depth && temporalPool?.query == nil { return headBackward(dLogits, tape: tape, arena: arena) }
        let w = cfg.headWidth
        var dFeatures = dLogits  // (B, W) once through the head
        if let head = backbone.head {
            dFeatures = linearBackward(head, name: headName, dy: dLogits, x: tape.features, rows: clips, grads: grads, arena: arena)
        }
        var dPooled = dFeatures  // (B, W)
        if let bnHead {
            dPooled = arena.tensor([clips, w])  // (B, W)
            bnHead.backward(dFeatures.data, y: tape.features.data, inv: tape.bnInv, batch: clips, training: tape.training,
                            into: dPooled.data)
        }
        if let temporalPool {
            let dFrames = arena.tensor([b, w])  // (B·T, W)
            temporalPool.backward(dPooled.data, frames: tape.frameFeatures!.data, weights: tape.frameWeights!.data, clips: clips,
                                  frames: t, width: w, dFrames: dFrames.data,
                                  dQuery: grads["temporal_pool.query"]?.grad.data)
            dPooled = dFrames
        }
        guard stop < depth else { return }
        if backbone.normAfterPooling {
            let d = arena.tensor([b, c])  // (B, C)
            layerNormBackward(backbone.norm, name: "fc_norm", dy: dPooled, x: tape.pooledIn!, mean: tape.pooledMean!,
                              rstd: tape.pooledRstd!, rows: b, dx: d.data, accumulate: false, grads: grads)
            dPooled = d
        }
        let n = tape.xFinal.shape[1]
        let dNormed = arena.zeros([b, n, c])  // (B, N, C)
        for bi in 0..<b {
            let g = dPooled.data + bi * w, dst = dNormed.data + bi * n * c
            if cfg.pool == .token {
                dst.update(from: g, count: w)  // the class token (and the distillation token beside it)
            } else {
                let first = poolStart
                for t in first..<n { for j in 0..<c { dst[t * c + j] = g[j] / Float(n - first) } }
            }
        }
        var dX = dNormed  // (B, N, C) gradient of the current block's output
        if !backbone.normAfterPooling {
            dX = arena.tensor(dNormed.shape)  // (B, N, C)
            layerNormBackward(backbone.norm, name: "norm", dy: dNormed, x: tape.xFinal, mean: tape.meanF, rstd: tape.rstdF,
                              rows: b * n, dx: dX.data, accumulate: false, grads: grads)
        }
        arena.boundary()

        blocksBackward(dX, top: depth - 1, tape: tape, arena: arena)
    }

    /// The backward pass of blocks `top` … ``firstTrainableBlock`` (and the embedding when the backbone trains), from
    /// `dTop`, the gradient of block `top`'s output (B, N, C), plus gradients entering on the way: `dOutputs[l]` into
    /// block l's output, `dReductionInputs[l]` into block l's reduction input (x after its attention residual) —
    /// the multi-level features and restored positions of segmentation (docs/SEGMENTATION.md).
    func blocksBackward(_ dTop: Tensor, top: Int, dOutputs: [Int: Tensor] = [:], dReductionInputs: [Int: Tensor] = [:],
                        tape: ModelTape, arena: Arena) {
        let grads = gradientIndex
        let cfg = config, c = cfg.dim, heads = cfg.heads, depth = cfg.depth
        let b = dTop.shape[0], stop = firstTrainableBlock
        var dX = dTop  // (B, N, C) gradient of the current block's output
        var dA = [Tensor?](repeating: nil, count: depth)  // (B, N_l', C) gradients of a_l from later blocks
        var dScores: [Int: Tensor] = [:]                   // (B, N_l − P) EViT fusion-weight gradients per block
        var dAcc: Tensor?                                  // (B, N, C) official adapters: gradient of the stage sum
        var dEmbedding: Tensor?                            // (B, N, C) official adapters: gradient reaching e
        func scoresGrad(_ l: Int, _ red: TokenReduction) -> UnsafeMutablePointer<Float>? {
            guard red.hasWeightGradient else { return nil }
            if dScores[l] == nil { dScores[l] = arena.zeros([b, red.tokensIn - red.prefix]) }  // (B, N − P)
            return dScores[l]!.data
        }
        /// Carries d(S_l(a_j)) back through the recorded chain of reductions into dA[j].
        func chainBackward(_ d: Tensor, chain: [(block: Int, input: Tensor)], into j: Int) {
            var cur = d
            for (k, input) in chain.reversed() {
                let red = tape.reductions[k]!
                let prev = arena.zeros([b, red.tokensIn, c])  // (B, N_k, C)
                red.applyTranspose(cur.data, into: prev.data, channels: c, input: input.data, dScores: scoresGrad(k, red))
                cur = prev
            }
            if let existing = dA[j] { Elementwise.add(cur.data, into: existing.data, count: cur.count) } else { dA[j] = cur }
        }

        for l in stride(from: top, through: stop, by: -1) {
            let bt = tape.blocks[l]!, blk = backbone.blocks[l]
            let nIn = bt.tokensIn, nOut = bt.xl.shape[1], rowsIn = b * nIn, rowsOut = b * nOut
            if let extra = dOutputs[l] { Elementwise.add(extra.data, into: dX.data, count: dX.count) }
            let dOut = dX  // (B, N', C); becomes d(x_l) in place unless AdaptFormer still needs it
            if official[l] != nil && stageEnds(l) { dAcc = arena.copy(dOut) }  // (B, N', C)
            // Adapter outputs: own residual contribution, later blocks' uses, official stage sums.
            var da: Tensor?  // (B, N', C)
            if dense[l] != nil || official[l] != nil {
                let extraAcc = official[l] != nil && l != depth - 1 ? dAcc : nil
                if dA[l] == nil && extraAcc == nil {
                    da = dOut  // read by the adapter's backward before it writes d(x_l)
                } else {
                    let t = arena.copy(dOut)  // (B, N', C)
                    if let extra = dA[l] { Elementwise.add(extra.data, into: t.data, count: t.count) }
                    if let s = extraAcc { Elementwise.add(s.data, into: t.data, count: t.count) }
                    da = t
                }
                dA[l] = nil
            }
            let dxl = adaptformer[l] != nil ? arena.copy(dOut) : dOut  // (B, N', C) d(x_l), residual included
            // MLP branch (reads dOut before anything writes into it).
            var dm = dOut  // (B, N', C) d(MLP output)
            if let mask = bt.dropMasks?.mlp { dm = scaledPerSample(dOut, mask, arena: arena) }
            if let hb = houlsby[l] {
                let dm0 = arena.copy(dm)  // (B, N', C)
                hb.backward(dm.data, x: bt.m0!.data, hidden: bt.houlsbyHidden!, rows: rowsOut,
                            grads: moduleParameters["houlsby.\(l)"]!, dx: dm0.data, arena: arena)
                dm = dm0
            }
            let dg = linearBackward(blk.mlp.fc2, name: "blocks.\(l).mlp.fc2", dy: dm, x: bt.g, rows: rowsOut, grads: grads, arena: arena)
            blk.mlp.activation.backward(dx: dg.data, dy: dg.data, x: (bt.u ?? recomputeFC1(block: l, tape: bt, arena: arena)).data, count: dg.count)
            let dh2 = linearBackward(blk.mlp.fc1, name: "blocks.\(l).mlp.fc1", dy: dg, x: bt.h2, rows: rowsOut, grads: grads, arena: arena)
            if let af = adaptformer[l] {
                af.backward(dOut.data, x: bt.xl.data, hidden: bt.afHidden!, rows: rowsOut,
                            grads: moduleParameters["adaptformer.\(l)"]!, dx: dxl.data, arena: arena)
            }
            if let d = dense[l], let da {
                let ds1 = l >= 1 ? arena.tensor(dOut.shape) : nil  // (B, N', C)
                let ds3 = l >= 3 ? arena.tensor(dOut.shape) : nil  // (B, N', C)
                let s1 = l >= 1 ? bt.denseS1 ?? remapped(bt.chain1, tape: tape, arena: arena) : nil  // (B, N', C)
                let s3 = l >= 3 ? bt.denseS3 ?? remapped(bt.chain3, tape: tape, arena: arena) : nil  // (B, N', C)
                d.backward(da.data, x: bt.xl.data, s1: s1?.data, s3: s3?.data, z: bt.denseZ!, rows: rowsOut,
                           grads: moduleParameters["dense.\(l)"]!, dx: dxl.data, ds1: ds1?.data, ds3: ds3?.data, arena: arena)
                if let ds1 { chainBackward(ds1, chain: bt.chain1, into: l - 1) }
                if let ds3 { chainBackward(ds3, chain: bt.chain3, into: l - 3) }
            }
            if let o = official[l], let da {
                o.backward(da.data, x: bt.xl.data, saved: bt.officialSaved!, rows: rowsOut,
                           grads: moduleParameters["official.\(l)"]!, dx: dxl.data, arena: arena)
            }
            layerNormBackward(blk.norm2, name: "blocks.\(l).norm2", dy: dh2, x: bt.xl, mean: bt.mean2, rstd: bt.rstd2,
                              rows: rowsOut, dx: dxl.data, accumulate: true, grads: grads)
            // Token reduction.
            var dxAttn = dxl  // (B, N, C) d(x after the attention residual)
            if let red = bt.reduction {
                dxAttn = arena.zeros([b, nIn, c])  // (B, N, C)
                red.applyTranspose(dxl.data, into: dxAttn.data, channels: c, input: bt.xAttn!.data, dScores: scoresGrad(l, red))
                if let extra = dReductionInputs[l] { Elementwise.add(extra.data, into: dxAttn.data, count: dxAttn.count) }
                if let accIn = bt.accIn, let s = dAcc {
                    let prev = arena.zeros([b, nIn, c])  // (B, N, C)
                    red.applyTranspose(s.data, into: prev.data, channels: c, input: accIn.data, dScores: scoresGrad(l, red))
                    dAcc = prev
                }
            }
            // Attention branch; the block input's gradient accumulates into dxAttn once proj's backward has read it.
            var dProj = dxAttn  // (B, N, C)
            if let mask = bt.dropMasks?.attn { dProj = scaledPerSample(dxAttn, mask, arena: arena) }
            let dctx = linearBackward(blk.attn.proj, name: "blocks.\(l).attn.proj", dy: dProj, x: bt.ctx, rows: rowsIn,
                                      grads: grads, arena: arena)
            let dqkv = arena.tensor([b, nIn, 3 * c])  // (B, N, 3C)
            let probs = arena.tensor([b, heads, nIn, nIn]), dProbs = arena.tensor([b, heads, nIn, nIn])  // (B, H, N, N)
            let half = blk.attn.precision == .bf16
            let qkvIn = MatrixInput(bt.qkv, bf16: half, arena: arena)  // (B, N, 3C) as the products read it
            attentionProbabilities(block: l, qkv: qkvIn, batch: b, tokens: nIn, sizes: bt.sizes, into: probs, arena: arena)
            AttentionBackward.run(dContext: dctx, qkv: qkvIn, probs: probs, classScores: dScores[l]?.data, prefix: cfg.prefixTokens,
                                  batch: b, tokens: nIn, dim: c, heads: heads, dProbs: dProbs, dqkv: dqkv.data, arena: arena)
            let dh1 = linearBackward(blk.attn.qkv, name: "blocks.\(l).attn.qkv", dy: dqkv, x: bt.h1, rows: rowsIn, grads: grads, arena: arena)
            if let lo = lora[l] {
                lo.backward(dqkv.data, h: bt.h1!.data, t: bt.loraT!, rows: rowsIn, grads: moduleParameters["lora.\(l)"]!,
                            dh: dh1.data, arena: arena)
            }
            layerNormBackward(blk.norm1, name: "blocks.\(l).norm1", dy: dh1, x: bt.xIn, mean: bt.mean1, rstd: bt.rstd1,
                              rows: rowsIn, dx: dxAttn.data, accumulate: true, grads: grads)
            dX = dxAttn
            if prompts != nil { dX = promptsBackward(dxAttn, block: l, grads: grads, arena: arena) }
            tape.blocks[l] = nil  // this block's activations are no longer needed
            dScores[l] = nil
            if official[l] != nil {
                if l == 0, let s = dAcc { dEmbedding = s }
                if l == 0 || stageStarts.contains(l) { dAcc = nil }
            }
            arena.boundary()
        }
        if tuning.trainsBackbone {
            if let e = dEmbedding { Elementwise.add(e.data, into: dX.data, count: dX.count) }
            if let normPre = backbone.normPre, let e = tape.embedding {
                let dE = arena.tensor(dX.shape)  // (B, N, C) d(embedding before norm_pre)
                layerNormBackward(normPre, name: "norm_pre", dy: dX, x: e, mean: tape.meanPre!, rstd: tape.rstdPre!,
                                  rows: dX.count / c, dx: dE.data, accumulate: false, grads: grads)
                dX = dE
            }
            embeddingBackward(dX, images: tape.images, shape: tape.input, grads: grads, arena: arena)
        }
    }

    /// S_l(a_j) again from its chain: the last recorded reduction applied to its recorded input (the same
    /// arithmetic as the forward pass).
    private func remapped(_ chain: [(block: Int, input: Tensor)], tape: ModelTape, arena: Arena) -> Tensor {
        let (k, input) = chain.last!
        let red = tape.reductions[k]!
        let out = arena.tensor([red.batch, red.tokensOut, config.dim])  // (B, N_k', C)
        red.apply(input.data, into: out.data, channels: config.dim)
        return out
    }

    /// fc1's output u (B, N', M) of block `l`, recomputed from the saved x_l and norm2 statistics: the same kernels on
    /// the same inputs, so bit for bit what the forward pass computed.
    private func recomputeFC1(block l: Int, tape bt: BlockTape, arena: Arena) -> Tensor {
        let blk = backbone.blocks[l], xl = bt.xl!, rows = xl.count / config.dim
        let h2 = arena.tensor(xl.shape)  // (B, N', C) norm2(x_l)
        blk.norm2.forward(xl.data, rows: rows, into: h2.data, mean: bt.mean2.data, rstd: bt.rstd2.data)
        let u = arena.tensor([xl.shape[0], xl.shape[1], config.mlpDim])  // (B, N', M)
        blk.mlp.fc1.forward(h2.data, rows: rows, into: u.data, arena: arena)
        return u
    }

    /// The classifier's weight gradients alone (nothing below the head trains).
    func headBackward(_ dLogits: Tensor, tape: ModelTape, arena: Arena) {
        guard let head = backbone.head, let w = trainable.first(where: { $0.name == "\(headName).weight" }) else { return }
        let b = dLogits.shape[0]
        head.backwardWeights(dLogits.data, tape.features.data, rows: b, dWeight: w.grad.data,
                             dBias: trainable.first { $0.name == "\(headName).bias" }?.grad.data)
    }

    /// The classifier's name prefix: `head.1` after the BatchNorm head, else `head`.
    private var headName: String { bnHead != nil ? "head.1" : "head" }

    /// `d` with each sample's rows scaled by its drop-path factor.
    private func scaledPerSample(_ d: Tensor, _ mask: [Float], arena: Arena) -> Tensor {
        let out = arena.copy(d)  // like d
        let per = d.count / mask.count
        for bi in 0..<mask.count { for i in 0..<per { out.data[bi * per + i] *= mask[bi] } }
        return out
    }

    /// Prompt gradients (summed over the batch) and the gradient of the previous block's output: block 0's
    /// inserted rows are removed, later blocks' replaced rows get no gradient.
    private func promptsBackward(_ dxIn: Tensor, block l: Int, grads: [String: Parameter], arena: Arena) -> Tensor {
        let b = dxIn.shape[0], n = dxIn.shape[1], c = config.dim, np = tuning.prompts, pre = config.prefixTokens
        let g = grads["vpt.prompts"]!.grad.data + l * np * c
        for bi in 0..<b {
            let rows = dxIn.data + (bi * n + pre) * c
            for i in 0..<(np * c) { g[i] += rows[i] }
        }
        if l == 0 {
            let out = arena.tensor([b, n - np, c])  // (B, N − P, C)
            for bi in 0..<b {
                let src = dxIn.data + bi * n * c, dst = out.data + bi * (n - np) * c
                dst.update(from: src, count: pre * c)
                (dst + pre * c).update(from: src + (pre + np) * c, count: (n - pre - np) * c)
            }
            return out
        }
        for bi in 0..<b { (dxIn.data + (bi * n + pre) * c).update(repeating: 0, count: np * c) }
        return dxIn
    }

    /// Full fine-tuning: gradients of the prefix tokens (cls_token, dist_token, reg_token), pos_embed and the patch
    /// embedding from d(x0) (B, N, C).
    private func embeddingBackward(_ dX: Tensor, images: Tensor, shape: VisionTransformer.InputShape, grads: [String: Parameter],
                                   arena: Arena) {
        let b = dX.shape[0], n = dX.shape[1], c = config.dim, np = config.prefixTokens, g = n - np
        var offset = 0  // first prefix row of each token tensor
        for name in ["cls_token", "dist_token", "reg_token"] {
            let rows = switch name {
            case "reg_token": config.registers
            case "dist_token": config.distilled ? 1 : 0
            default: config.classToken ? 1 : 0
            }
            if let t = grads[name] {
                for bi in 0..<b { Elementwise.add(dX.data + (bi * n + offset) * c, into: t.grad.data, count: rows * c) }
            }
            offset += rows
        }
        if let pos = grads["pos_embed"] {
            let skip = np - config.posEmbedPrefix  // prefix rows without a position
            for bi in 0..<b {
                Elementwise.add(dX.data + (bi * n + skip) * c, into: pos.grad.data, count: (n - skip) * c)
            }
        }
        guard let w = grads["patch_embed.proj.weight"] else { return }
        let pe = backbone.patchEmbed, frames = config.tubelet != nil ? shape.frames : 1
        let dy = arena.tensor([b * g, c])  // (B·G, C)
        for bi in 0..<b { (dy.data + bi * g * c).update(from: dX.data + (bi * n + np) * c, count: g * c) }
        let cols = arena.tensor([b * g, pe.proj.inFeatures])  // (B·G, 3·t·p²)
        pe.im2col(images.data, batch: b, frames: frames, height: shape.height, width: shape.width, into: cols.data)
        pe.proj.backwardWeights(dy.data, cols.data, rows: b * g, dWeight: w.grad.data, dBias: grads["patch_embed.proj.bias"]?.grad.data)
    }
}
