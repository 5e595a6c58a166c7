// Training through the adapted ViT: forward with a tape, then the backward pass block by block in reverse.
// Frozen layers get input gradients only (one matmul each); trainable ones also get weight gradients. Gradients
// pass through token reductions (gathers, merges) and through EViT's fusion weights into the attention.

extension TunedViT {
    /// One forward + backward pass: `loss(logits)` returns the loss and d(loss)/d(logits); gradients are
    /// accumulated (`+=`) into ``trainable``'s `grad` buffers. `training` selects BatchNorm batch statistics and
    /// drop-path (drawn from `rng`).
    public func forwardBackward(_ images: Tensor, training: Bool, rng: inout SeededGenerator,
                                loss: (Tensor) throws -> (Float, Tensor)) throws -> (loss: Float, logits: Tensor) {
        let tape = ModelTape()
        let logits = try withUnsafeMutablePointer(to: &rng) { try run(images, training: training, tape: tape, rng: $0) }
        let (value, dLogits) = try loss(logits)
        backward(dLogits, tape: tape)
        return (value, logits)
    }

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
                                grads: [String: Parameter]) -> Tensor {
        if let w = grads["\(name).weight"], let x {
            lin.backwardWeights(dy.data, x.data, rows: rows, dWeight: w.grad.data, dBias: grads["\(name).bias"]?.grad.data)
        }
        let dx = Tensor(uninitialized: [rows, lin.inFeatures])
        lin.backwardInput(dy.data, rows: rows, into: dx.data)
        return dx
    }

    func backward(_ dLogits: Tensor, tape: ModelTape) {
        let grads = gradientIndex
        let cfg = config, c = cfg.dim, heads = cfg.heads, depth = cfg.depth
        let b = dLogits.shape[0]
        // Head, BatchNorm, fc_norm, pooling, final norm.
        var dFeatures = dLogits
        if let head = backbone.head {
            let prefix = bnHead != nil ? "head.1" : "head"
            dFeatures = linearBackward(head, name: prefix, dy: dLogits, x: tape.features, rows: b, grads: grads)
        }
        var dPooled = dFeatures
        if let bnHead {
            dPooled = Tensor(uninitialized: [b, c])
            bnHead.backward(dFeatures.data, y: tape.features.data, inv: tape.bnInv, batch: b, training: tape.training,
                            into: dPooled.data)
        }
        if backbone.normAfterPooling {
            let d = Tensor(uninitialized: [b, c])
            layerNormBackward(backbone.norm, name: "fc_norm", dy: dPooled, x: tape.pooledIn!, mean: tape.pooledMean!,
                              rstd: tape.pooledRstd!, rows: b, dx: d.data, accumulate: false, grads: grads)
            dPooled = d
        }
        let n = tape.xFinal.shape[1]
        let dNormed = Tensor(zeros: [b, n, c])  // (B, N, C)
        for bi in 0..<b {
            let g = dPooled.data + bi * c, dst = dNormed.data + bi * n * c
            if cfg.pool == .token {
                dst.update(from: g, count: c)
            } else {
                let first = poolStart
                for t in first..<n { for j in 0..<c { dst[t * c + j] = g[j] / Float(n - first) } }
            }
        }
        var dX = dNormed
        if !backbone.normAfterPooling {
            dX = Tensor(uninitialized: dNormed.shape)
            layerNormBackward(backbone.norm, name: "norm", dy: dNormed, x: tape.xFinal, mean: tape.meanF, rstd: tape.rstdF,
                              rows: b * n, dx: dX.data, accumulate: false, grads: grads)
        }

        var dA = [Tensor?](repeating: nil, count: depth)  // gradients of the adapter outputs a_l from later blocks
        var dScores: [Int: Tensor] = [:]                   // EViT fusion-weight gradients per reducing block
        var dAcc: Tensor?                                  // official adapters: gradient of the stage sum
        var dEmbedding: Tensor?                            // official adapters: gradient reaching e
        func scoresGrad(_ l: Int, _ red: TokenReduction) -> UnsafeMutablePointer<Float>? {
            guard red.hasWeightGradient else { return nil }
            if dScores[l] == nil { dScores[l] = Tensor(zeros: [b, red.tokensIn - 1]) }
            return dScores[l]!.data
        }
        /// Carries d(S_l(a_j)) back through the recorded chain of reductions into dA[j].
        func chainBackward(_ d: Tensor, chain: [(block: Int, input: Tensor)], into j: Int) {
            var cur = d
            for (k, input) in chain.reversed() {
                let red = tape.reductions[k]!
                let prev = Tensor(zeros: [b, red.tokensIn, c])
                red.applyTranspose(cur.data, into: prev.data, channels: c, input: input.data, dScores: scoresGrad(k, red))
                cur = prev
            }
            if let existing = dA[j] { Elementwise.add(cur.data, into: existing.data, count: cur.count) } else { dA[j] = cur }
        }

        for l in stride(from: depth - 1, through: 0, by: -1) {
            let bt = tape.blocks[l]!, blk = backbone.blocks[l]
            let nIn = bt.tokensIn, nOut = bt.xl.shape[1], rowsIn = b * nIn, rowsOut = b * nOut
            let dOut = dX  // (B, N', C)
            if official[l] != nil && stageEnds(l) { dAcc = dOut.copy() }
            let dxl = dOut.copy()  // residual
            // Adapter outputs: own residual contribution, later blocks' uses, official stage sums.
            var da: Tensor?
            if dense[l] != nil || official[l] != nil {
                let t = dOut.copy()
                if let extra = dA[l] { Elementwise.add(extra.data, into: t.data, count: t.count) }
                if official[l] != nil, l != depth - 1, let s = dAcc { Elementwise.add(s.data, into: t.data, count: t.count) }
                da = t
            }
            // MLP branch.
            var dm = dOut
            if let mask = bt.dropMasks?.mlp { dm = scaledPerSample(dOut, mask) }
            if let hb = houlsby[l] {
                let dm0 = dm.copy()
                hb.backward(dm.data, x: bt.m0!.data, hidden: bt.houlsbyHidden!, rows: rowsOut,
                            grads: moduleParameters["houlsby.\(l)"]!, dx: dm0.data)
                dm = dm0
            }
            let dg = linearBackward(blk.mlp.fc2, name: "blocks.\(l).mlp.fc2", dy: dm, x: bt.g, rows: rowsOut, grads: grads)
            GELU.backward(dx: dg.data, dy: dg.data, x: bt.u.data, count: dg.count)
            let dh2 = linearBackward(blk.mlp.fc1, name: "blocks.\(l).mlp.fc1", dy: dg, x: bt.h2, rows: rowsOut, grads: grads)
            layerNormBackward(blk.norm2, name: "blocks.\(l).norm2", dy: dh2, x: bt.xl, mean: bt.mean2, rstd: bt.rstd2,
                              rows: rowsOut, dx: dxl.data, accumulate: true, grads: grads)
            if let af = adaptformer[l] {
                af.backward(dOut.data, x: bt.xl.data, hidden: bt.afHidden!, rows: rowsOut,
                            grads: moduleParameters["adaptformer.\(l)"]!, dx: dxl.data)
            }
            if let d = dense[l], let da {
                let ds1 = l >= 1 ? Tensor(uninitialized: dOut.shape) : nil
                let ds3 = l >= 3 ? Tensor(uninitialized: dOut.shape) : nil
                d.backward(da.data, x: bt.xl.data, s1: bt.denseS1?.data, s3: bt.denseS3?.data, z: bt.denseZ!, rows: rowsOut,
                           grads: moduleParameters["dense.\(l)"]!, dx: dxl.data, ds1: ds1?.data, ds3: ds3?.data)
                if let ds1 { chainBackward(ds1, chain: bt.chain1, into: l - 1) }
                if let ds3 { chainBackward(ds3, chain: bt.chain3, into: l - 3) }
            }
            if let o = official[l], let da {
                o.backward(da.data, x: bt.xl.data, saved: bt.officialSaved!, rows: rowsOut,
                           grads: moduleParameters["official.\(l)"]!, dx: dxl.data)
            }
            // Token reduction.
            var dxAttn = dxl
            if let red = bt.reduction {
                dxAttn = Tensor(zeros: [b, nIn, c])
                red.applyTranspose(dxl.data, into: dxAttn.data, channels: c, input: bt.xAttn!.data, dScores: scoresGrad(l, red))
                if let accIn = bt.accIn, let s = dAcc {
                    let prev = Tensor(zeros: [b, nIn, c])
                    red.applyTranspose(s.data, into: prev.data, channels: c, input: accIn.data, dScores: scoresGrad(l, red))
                    dAcc = prev
                }
            }
            // Attention branch.
            var dProj = dxAttn
            if let mask = bt.dropMasks?.attn { dProj = scaledPerSample(dxAttn, mask) }
            let dctx = linearBackward(blk.attn.proj, name: "blocks.\(l).attn.proj", dy: dProj, x: bt.ctx, rows: rowsIn, grads: grads)
            var extra: Tensor?
            if let s = dScores[l] {
                extra = Tensor(zeros: [b, heads, nIn, nIn])
                EViTSelection.scoresBackward(s.data, into: extra!.data, batch: b, heads: heads, tokens: nIn)
            }
            let dqkv = Tensor(uninitialized: [b, nIn, 3 * c])
            let probs = Tensor(uninitialized: [b, heads, nIn, nIn]), scratch = Tensor(uninitialized: [b, heads, nIn, nIn])
            attentionProbabilities(block: l, qkv: bt.qkv, batch: b, tokens: nIn, sizes: bt.sizes, into: probs)
            AttentionBackward.run(dContext: dctx.data, qkv: bt.qkv.data, probs: probs.data, extraDProbs: extra?.data,
                                  batch: b, tokens: nIn, dim: c, heads: heads, dProbs: scratch.data, dqkv: dqkv.data)
            let dh1 = linearBackward(blk.attn.qkv, name: "blocks.\(l).attn.qkv", dy: dqkv, x: bt.h1, rows: rowsIn, grads: grads)
            if let lo = lora[l] {
                lo.backward(dqkv.data, h: bt.h1!.data, t: bt.loraT!, rows: rowsIn, grads: moduleParameters["lora.\(l)"]!, dh: dh1.data)
            }
            let dxIn = dxAttn.copy()
            layerNormBackward(blk.norm1, name: "blocks.\(l).norm1", dy: dh1, x: bt.xIn, mean: bt.mean1, rstd: bt.rstd1,
                              rows: rowsIn, dx: dxIn.data, accumulate: true, grads: grads)
            dX = dxIn
            if prompts != nil { dX = promptsBackward(dxIn, block: l, grads: grads) }
            tape.blocks[l] = nil  // this block's activations are no longer needed
            if official[l] != nil {
                if l == 0, let s = dAcc { dEmbedding = s }
                if l == 0 || stageStarts.contains(l) { dAcc = nil }
            }
        }
        if tuning.trainsBackbone {
            if let e = dEmbedding { Elementwise.add(e.data, into: dX.data, count: dX.count) }
            embeddingBackward(dX, images: tape.images, grads: grads)
        }
    }

    /// `d` with each sample's rows scaled by its drop-path factor.
    private func scaledPerSample(_ d: Tensor, _ mask: [Float]) -> Tensor {
        let out = d.copy()
        let per = d.count / mask.count
        for bi in 0..<mask.count { for i in 0..<per { out.data[bi * per + i] *= mask[bi] } }
        return out
    }

    /// Prompt gradients (summed over the batch) and the gradient of the previous block's output: block 0's
    /// inserted rows are removed, later blocks' replaced rows get no gradient.
    private func promptsBackward(_ dxIn: Tensor, block l: Int, grads: [String: Parameter]) -> Tensor {
        let b = dxIn.shape[0], n = dxIn.shape[1], c = config.dim, np = tuning.prompts
        let g = grads["vpt.prompts"]!.grad.data + l * np * c
        for bi in 0..<b {
            let rows = dxIn.data + (bi * n + 1) * c
            for i in 0..<(np * c) { g[i] += rows[i] }
        }
        if l == 0 {
            let out = Tensor(uninitialized: [b, n - np, c])
            for bi in 0..<b {
                let src = dxIn.data + bi * n * c, dst = out.data + bi * (n - np) * c
                dst.update(from: src, count: c)
                (dst + c).update(from: src + (1 + np) * c, count: (n - 1 - np) * c)
            }
            return out
        }
        for bi in 0..<b { (dxIn.data + (bi * n + 1) * c).update(repeating: 0, count: np * c) }
        return dxIn
    }

    /// Full fine-tuning: gradients of cls_token, pos_embed and the patch embedding from d(x0) (B, N, C).
    private func embeddingBackward(_ dX: Tensor, images: Tensor, grads: [String: Parameter]) {
        let b = dX.shape[0], n = dX.shape[1], c = config.dim, g = n - 1
        if let cls = grads["cls_token"] { for bi in 0..<b { for j in 0..<c { cls.grad.data[j] += dX.data[bi * n * c + j] } } }
        if let pos = grads["pos_embed"] {
            for bi in 0..<b { Elementwise.add(dX.data + bi * n * c, into: pos.grad.data, count: n * c) }
        }
        guard let w = grads["patch_embed.proj.weight"] else { return }
        let pe = backbone.patchEmbed, h = images.shape[2], wd = images.shape[3]
        let dy = Tensor(uninitialized: [b * g, c])  // (B·G, C)
        for bi in 0..<b { (dy.data + bi * g * c).update(from: dX.data + (bi * n + 1) * c, count: g * c) }
        let cols = pe.im2col(images.data, batch: b, height: h, width: wd)  // (B·G, 3p²)
        pe.proj.backwardWeights(dy.data, cols.data, rows: b * g, dWeight: w.grad.data, dBias: grads["patch_embed.proj.bias"]?.grad.data)
    }
}
