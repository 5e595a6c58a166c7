// A backbone plus what a fine-tuning method adds (SPEC §2–§4): token reduction between attention and MLP,
// Dense or released-code adapters, AdaptFormer, Houlsby adapters, LoRA, deep prompts, a BatchNorm head; which
// tensors train; and the forward pass (inference, or training with a tape for `TunedViT+Backward`).

/// A Vision Transformer adapted by one of the methods of ``TuningMethod``.
///
/// The backbone's tensors keep their timm names; the added tensors use the names of SPEC §4, so a state_dict
/// saved by the authors' PyTorch code loads unchanged.
public final class TunedViT: @unchecked Sendable {
    public let backbone: VisionTransformer
    public let tuning: TuningConfig
    public var config: ViTConfig { backbone.config }

    let dense: [DenseAdapter?]
    let official: [OfficialAdapter?]
    let adaptformer: [Bottleneck?]
    let houlsby: [Bottleneck?]
    let lora: [LoRA?]
    /// (depth, P, C) deep prompts.
    let prompts: Tensor?
    let bnHead: BatchNormHead?

    /// The tensors this method trains, with gradient buffers.
    public private(set) var trainable: [Parameter] = []
    /// Token reductions of the most recent forward pass, by block (kept indices for visualisation and dumps).
    public private(set) var lastReductions: [Int: TokenReduction] = [:]
    /// The EViT keep rate in use (the configured κ unless a keep-rate warm-up is changing it).
    public var keepRate: Double

    /// Token count after each block in the most recent forward pass.
    public private(set) var lastTokenCounts: [Int] = []

    /// Blocks that reduce tokens (empty when nothing is reduced).
    let tsBlocks: Set<Int>
    /// The reduction blocks as configured, which also bound the official adapters' stages.
    let stageStarts: [Int]
    var moduleParameters: [String: [Parameter]] = [:]

    /// Adds `tuning`'s modules to `backbone`, initialised from `seed` as SPEC §3/§4 prescribe (a fresh model
    /// computes exactly the backbone's function). The backbone's pos_embed is resampled to `config.imageSize`.
    public init(backbone: VisionTransformer, tuning: TuningConfig, seed: UInt64 = 0) throws {
        try tuning.validate(depth: backbone.config.depth)
        self.backbone = backbone
        self.tuning = tuning
        keepRate = tuning.keepRate
        let cfg = backbone.config, c = cfg.dim, depth = cfg.depth
        var rng = SeededGenerator(seed: seed &+ 0x5EED)
        let m = tuning.method
        dense = (0..<depth).map { l in tuning.adapter == .dense ? DenseAdapter(block: l, dim: c, rank: tuning.rank, rng: &rng) : nil }
        official = (0..<depth).map { l in tuning.adapter == .official ? OfficialAdapter(block: l, dim: c, widths: tuning.officialDims, rng: &rng) : nil }
        let withAF = m == .adaptformer || (m == .evit && tuning.evitWithAdaptformer)
        adaptformer = (0..<depth).map { _ in
            withAF ? Bottleneck(dim: c, hidden: tuning.adaptformerDim, scale: tuning.adaptformerScale, rng: &rng) : nil
        }
        houlsby = (0..<depth).map { _ in m == .adapter ? Bottleneck(dim: c, hidden: tuning.houlsbyDim, scale: 1, rng: &rng) : nil }
        lora = (0..<depth).map { l in
            m == .lora ? LoRA(block: l, dim: c, rank: tuning.loraRank, qvOnly: tuning.loraQVOnly, rng: &rng) : nil
        }
        if m == .vptDeep {
            let p = Tensor(zeros: [depth, tuning.prompts, c])
            p.fillUniform(bound: (6 / Float(3 * cfg.patch * cfg.patch + c)).squareRoot(), using: &rng)
            prompts = p
        } else {
            prompts = nil
        }
        bnHead = tuning.bnHead ? BatchNormHead(dim: c) : nil
        stageStarts = tuning.reductionBlocks(depth: depth)
        tsBlocks = tuning.reducesTokens ? Set(stageStarts) : []
        let grid = (cfg.imageSize / cfg.patch, cfg.imageSize / cfg.patch)
        if backbone.posEmbedGrid != grid {
            backbone.setPositionEmbedding(backbone.positionEmbedding(grid: grid).copy(), grid: grid)
        }
        collectTrainable()
    }

    private func collectTrainable() {
        var t: [Parameter] = []
        func add(_ key: String, _ ps: [Parameter]) { moduleParameters[key] = ps; t += ps }
        if tuning.trainsBackbone {
            let ps = backbone.parameters().filter { !$0.name.hasPrefix("head.") }
                .map { Parameter(name: $0.name, value: $0.tensor) }
            add("backbone", ps)
        }
        for (l, a) in dense.enumerated() { if let a { add("dense.\(l)", a.parameters()) } }
        for (l, a) in official.enumerated() { if let a { add("official.\(l)", a.parameters()) } }
        for (l, a) in adaptformer.enumerated() {
            if let a { add("adaptformer.\(l)", a.parameters("blocks.\(l).adaptmlp", down: "down_proj", up: "up_proj")) }
        }
        for (l, a) in houlsby.enumerated() { if let a { add("houlsby.\(l)", a.parameters("blocks.\(l).houlsby", down: "down", up: "up")) } }
        for (l, a) in lora.enumerated() { if let a { add("lora.\(l)", a.parameters()) } }
        if let prompts { add("prompts", [Parameter(name: "vpt.prompts", value: prompts, weightDecay: false)]) }
        if let head = backbone.head {
            let prefix = bnHead != nil ? "head.1" : "head"
            add("head", [Parameter(name: "\(prefix).weight", value: head.weight), Parameter(name: "\(prefix).bias", value: head.bias!)])
        }
        trainable = t
    }

    /// Number of trainable values (the figure papers report, head included).
    public var trainableCount: Int { trainable.reduce(0) { $0 + $1.value.count } }

    /// Trainable values excluding the head.
    public var trainableCountWithoutHead: Int {
        trainable.filter { !$0.name.hasPrefix("head") }.reduce(0) { $0 + $1.value.count }
    }

    /// Every Linear whose weights the optimiser changes (re-packed after each step).
    var trainableLinears: [Linear] {
        var out: [Linear] = dense.compactMap { $0 }.flatMap(\.linears) + official.compactMap { $0 }.flatMap(\.linears)
        out += (adaptformer + houlsby).compactMap { $0 }.flatMap { [$0.down, $0.up] }
        if tuning.trainsBackbone { out += backbone.linears() } else if let h = backbone.head { out.append(h) }
        return out
    }

    /// Call after changing trainable tensors in place (optimiser step, loading): re-packs their matrices.
    public func parametersUpdated() {
        for l in trainableLinears { l.weightsChanged() }
    }

    /// Whether frozen matrices keep a packed copy (see ``Linear/prepack``); training turns it off to save memory.
    public var prepackWeights: Bool {
        get { backbone.linears().first?.prepack ?? true }
        set { for l in backbone.linears() + trainableLinears { l.prepack = newValue } }
    }

    /// Sets the matrix-input precision of every Linear (see ``Precision``).
    public var precision: Precision {
        get { backbone.precision }
        set {
            backbone.precision = newValue
            for l in trainableLinears { l.precision = newValue }
        }
    }

    // MARK: Forward

    /// Logits (B, classes) for normalised images (B, 3, H, W) in inference mode.
    public func forward(_ images: Tensor) throws -> Tensor {
        try run(images, training: false, tape: nil, rng: nil)
    }

    func stageEnds(_ l: Int) -> Bool { l == config.depth - 1 || stageStarts.contains(l + 1) }

    /// The forward pass. With a `tape`, saves what `backward` needs; `training` selects batch statistics for the
    /// BatchNorm head and enables drop-path (drawn from `rng`).
    func run(_ images: Tensor, training: Bool, tape: ModelTape?, rng: UnsafeMutablePointer<SeededGenerator>?) throws -> Tensor {
        let (b, hgt, wid) = try backbone.checkInput(images)
        let cfg = config, c = cfg.dim, heads = cfg.heads, depth = cfg.depth
        var n = 1 + (hgt / cfg.patch) * (wid / cfg.patch)
        var x = Tensor(zeros: [b, n, c])  // (B, N, C) residual stream
        backbone.embed(images, into: x)
        tape?.images = images
        var acc: Tensor? = tuning.adapter == .official ? x.copy() : nil  // official adapters: the current stage's sum
        var sizes: Tensor?  // ToMe token sizes (B, N)
        var adapterOut = [Tensor?](repeating: nil, count: depth)
        var reductions: [Int: TokenReduction] = [:]
        var counts: [Int] = []
        for l in 0..<depth {
            let blk = backbone.blocks[l]
            let bt = tape.map { _ in BlockTape() }
            if let prompts {
                x = insertPrompts(x, prompts.data + l * tuning.prompts * c, first: l == 0)
                n = x.shape[1]
            }
            let rows = b * n
            let masks = training && tuning.dropPath > 0 ? dropPathMasks(block: l, batch: b, rng: rng!) : nil
            bt?.tokensIn = n
            bt?.dropMasks = masks
            // Attention: x += drop(proj(softmax(q·kᵀ·d^-½ + log sizes)·v)) of norm1(x).
            let h1 = Tensor(uninitialized: [b, n, c])  // (B, N, C)
            let mean1 = Tensor(uninitialized: [rows]), rstd1 = Tensor(uninitialized: [rows])
            blk.norm1.forward(x.data, rows: rows, into: h1.data, mean: mean1.data, rstd: rstd1.data)
            let qkv = Tensor(uninitialized: [b, n, 3 * c])  // (B, N, 3C)
            blk.attn.qkv.forward(h1.data, rows: rows, into: qkv.data)
            if let lo = lora[l] {
                let t = lo.forward(h1.data, rows: rows, qkv: qkv.data)
                bt?.loraT = t
            }
            let probs = Tensor(uninitialized: [b, heads, n, n])  // (B, H, N, N)
            attentionProbabilities(block: l, qkv: qkv, batch: b, tokens: n, sizes: sizes, into: probs)
            let ctx = Tensor(uninitialized: [b, n, c])  // (B, N, C)
            blk.attn.mix(probs: probs.data, qkv: qkv.data, batch: b, tokens: n, into: ctx.data)
            if tape != nil {
                bt!.xIn = x.copy(); bt!.mean1 = mean1; bt!.rstd1 = rstd1; bt!.qkv = qkv; bt!.sizes = sizes
                if tuning.trainsBackbone || lora[l] != nil { bt!.h1 = h1 }
                if tuning.trainsBackbone { bt!.ctx = ctx }
            }
            addBranch(x, masks?.attn, rows: rows) { blk.attn.proj.forward(ctx.data, rows: rows, into: $0, accumulate: $1) }
            // Token reduction (EViT or ToMe) of this block.
            var xl = x
            if tsBlocks.contains(l), let red = reduce(probs: probs, qkv: qkv, batch: b, tokens: n, sizes: sizes) {
                xl = Tensor(uninitialized: [b, red.tokensOut, c])
                red.apply(x.data, into: xl.data, channels: c)
                if red.sizes != nil { sizes = red.sizes }
                if let a = acc {
                    bt?.accIn = a
                    let mapped = Tensor(uninitialized: [b, red.tokensOut, c])
                    red.apply(a.data, into: mapped.data, channels: c)
                    acc = mapped
                }
                reductions[l] = red
                bt?.reduction = red
                bt?.xAttn = x
            }
            let nOut = xl.shape[1], rowsOut = b * nOut
            bt?.xl = xl
            // Adapters on x_l.
            var a: Tensor?
            if let d = dense[l] {
                let m1 = l >= 1 ? mapForward(adapterOut[l - 1]!, from: l - 1, to: l, reductions) : nil
                let m3 = l >= 3 ? mapForward(adapterOut[l - 3]!, from: l - 3, to: l, reductions) : nil
                let s1 = m1?.mapped, s3 = m3?.mapped
                bt?.chain1 = m1?.chain ?? []
                bt?.chain3 = m3?.chain ?? []
                let r = d.forward(x: xl.data, s1: s1?.data, s3: s3?.data, rows: rowsOut)
                a = r.a
                bt?.denseZ = r.z; bt?.denseS1 = s1; bt?.denseS3 = s3
            }
            if let o = official[l] {
                let r = o.forward(xl.data, rows: rowsOut)
                a = r.a
                bt?.officialSaved = r.saved
            }
            adapterOut[l] = a
            if l >= 3 { adapterOut[l - 3] = nil }  // no later block reads it (the tape keeps what backward needs)
            // MLP branch, then y = x_l + drop(mlp) + adapters.
            let h2 = Tensor(uninitialized: [b, nOut, c])
            let mean2 = Tensor(uninitialized: [rowsOut]), rstd2 = Tensor(uninitialized: [rowsOut])
            blk.norm2.forward(xl.data, rows: rowsOut, into: h2.data, mean: mean2.data, rstd: rstd2.data)
            let u = Tensor(uninitialized: [b, nOut, cfg.mlpDim])  // fc1 output (pre-GELU; GELU fused in inference)
            blk.mlp.fc1.forward(h2.data, rows: rowsOut, into: u.data, gelu: tape == nil)
            let g = tape != nil ? Tensor(uninitialized: u.shape) : u
            if tape != nil { GELU.forward(u.data, g.data, count: u.count) }
            let y = xl.copy()  // (B, N', C) block output
            if let hb = houlsby[l] {
                let m0 = Tensor(uninitialized: [b, nOut, c])
                blk.mlp.fc2.forward(g.data, rows: rowsOut, into: m0.data)
                let m = m0.copy()
                let hidden = hb.forward(m0.data, rows: rowsOut, into: m.data, accumulate: true)
                bt?.houlsbyHidden = hidden
                bt?.m0 = m0
                addBranch(y, masks?.mlp, rows: rowsOut) { out, accumulate in
                    if !accumulate { out.update(repeating: 0, count: m.count) }
                    Elementwise.add(m.data, into: out, count: m.count)
                }
            } else {
                addBranch(y, masks?.mlp, rows: rowsOut) { blk.mlp.fc2.forward(g.data, rows: rowsOut, into: $0, accumulate: $1) }
            }
            if let a { Elementwise.add(a.data, into: y.data, count: y.count) }
            if let af = adaptformer[l] {
                let hidden = af.forward(xl.data, rows: rowsOut, into: y.data, accumulate: true)
                bt?.afHidden = hidden
            }
            if official[l] != nil {
                if l != depth - 1 {
                    if acc == nil { acc = Tensor(zeros: y.shape) }
                    Elementwise.add(a!.data, into: acc!.data, count: a!.count)
                }
                if stageEnds(l), let s = acc {
                    Elementwise.add(s.data, into: y.data, count: y.count)
                    acc = nil
                }
            }
            if tape != nil {
                bt!.mean2 = mean2; bt!.rstd2 = rstd2; bt!.u = u
                if tuning.trainsBackbone { bt!.h2 = h2; bt!.g = g }
                tape!.blocks.append(bt!)
            }
            x = y
            n = nOut
            counts.append(n)
        }
        lastReductions = reductions
        lastTokenCounts = counts
        tape?.reductions = reductions
        return try headForward(x, training: training, tape: tape)
    }

    /// Final norm, pooling, optional BatchNorm, head.
    private func headForward(_ x: Tensor, training: Bool, tape: ModelTape?) throws -> Tensor {
        let b = x.shape[0], n = x.shape[1], c = config.dim
        var normed = x  // final norm over all tokens, unless it is timm's fc_norm after pooling
        let meanF = Tensor(uninitialized: [b * n]), rstdF = Tensor(uninitialized: [b * n])
        if !backbone.normAfterPooling {
            normed = Tensor(uninitialized: x.shape)
            backbone.norm.forward(x.data, rows: b * n, into: normed.data, mean: meanF.data, rstd: rstdF.data)
        }
        let pooled = backbone.pool(normed, from: poolStart)  // (B, C)
        var features = pooled
        var pooledMean: Tensor?, pooledRstd: Tensor?, pooledIn: Tensor?
        if backbone.normAfterPooling {
            pooledIn = pooled.copy()
            pooledMean = Tensor(uninitialized: [b]); pooledRstd = Tensor(uninitialized: [b])
            backbone.norm.forward(pooled.data, rows: b, into: pooled.data, mean: pooledMean!.data, rstd: pooledRstd!.data)
        }
        var bnInv: [Float] = []
        if let bnHead {
            let y = Tensor(uninitialized: [b, c])
            bnInv = bnHead.forward(pooled.data, batch: b, into: y.data, training: training)
            features = y
        }
        if let tape {
            tape.xFinal = x; tape.meanF = meanF; tape.rstdF = rstdF
            tape.pooledIn = pooledIn; tape.pooledMean = pooledMean; tape.pooledRstd = pooledRstd
            tape.features = features; tape.bnInv = bnInv; tape.training = training
        }
        guard let head = backbone.head else { return features }
        let logits = Tensor(uninitialized: [b, config.classes])
        head.forward(features.data, rows: b, into: logits.data)
        return logits
    }

    // MARK: Pieces of the forward pass

    /// First token averaged by average pooling: after the class token and any prompts.
    var poolStart: Int { 1 + (prompts != nil ? tuning.prompts : 0) }

    /// Block `l`'s attention probabilities (B, H, N, N) from its qkv, with ToMe's proportional attention
    /// (log size of each key token added to the logits) when token sizes are given.
    func attentionProbabilities(block l: Int, qkv: Tensor, batch b: Int, tokens n: Int, sizes: Tensor?, into probs: Tensor) {
        let logSizes = sizes.map { s in Tensor(shape: s.shape, values: s.values.map { Float.log($0) }) }
        backbone.blocks[l].attn.probabilities(qkv: qkv.data, batch: b, tokens: n, keyBias: logSizes?.data, into: probs.data)
    }

    /// This block's reduction, or nil when it would keep every token.
    private func reduce(probs: Tensor, qkv: Tensor, batch b: Int, tokens n: Int, sizes: Tensor?) -> TokenReduction? {
        switch tuning.reduction {
        case .evit:
            return EViTSelection.select(probs: probs.data, batch: b, heads: config.heads, tokens: n,
                                        keepRate: keepRate, fuse: tuning.fuse)
        case .tome:
            return ToMeMerge.merge(qkv: qkv.data, batch: b, tokens: n, dim: config.dim, heads: config.heads,
                                   sizes: sizes?.data, r: tuning.tomeR)
        }
    }

    /// `x += mask ⊙ branch` where `branch(out, accumulate)` writes or adds the branch into `out`.
    private func addBranch(_ x: Tensor, _ mask: [Float]?, rows: Int,
                           _ branch: (UnsafeMutablePointer<Float>, Bool) -> Void) {
        guard let mask else { return branch(x.data, true) }
        let t = Tensor(uninitialized: x.shape)
        branch(t.data, false)
        let per = x.count / mask.count
        for bi in 0..<mask.count where mask[bi] != 0 {
            Elementwise.addScaled(t.data + bi * per, alpha: mask[bi], into: x.data + bi * per, count: per)
        }
    }

    /// S_l: `a` (on block `from`'s tokens) carried through the reductions of blocks from+1 … to; the input of each
    /// applied reduction is recorded for the backward pass.
    func mapForward(_ a: Tensor, from: Int, to: Int, _ reductions: [Int: TokenReduction])
        -> (mapped: Tensor, chain: [(block: Int, input: Tensor)]) {
        var cur = a
        var chain: [(block: Int, input: Tensor)] = []
        for k in (from + 1)...to {
            guard let red = reductions[k] else { continue }
            let out = Tensor(uninitialized: [red.batch, red.tokensOut, config.dim])
            red.apply(cur.data, into: out.data, channels: config.dim)
            chain.append((k, cur))
            cur = out
        }
        return (cur, chain)
    }

    /// Deep prompts: block 0 inserts P tokens after the class token; later blocks replace them.
    private func insertPrompts(_ x: Tensor, _ p: UnsafePointer<Float>, first: Bool) -> Tensor {
        let b = x.shape[0], n = x.shape[1], c = config.dim, np = tuning.prompts
        let outN = first ? n + np : n
        let y = Tensor(uninitialized: [b, outN, c])
        for bi in 0..<b {
            let src = x.data + bi * n * c, dst = y.data + bi * outN * c
            dst.update(from: src, count: c)
            (dst + c).update(from: p, count: np * c)
            let rest = first ? 1 : 1 + np
            (dst + (1 + np) * c).update(from: src + rest * c, count: (n - rest) * c)
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

/// What one block's forward pass saved for its backward pass.
final class BlockTape {
    var tokensIn = 0
    var dropMasks: (attn: [Float], mlp: [Float])?
    var xIn: Tensor!, mean1: Tensor!, rstd1: Tensor!, h1: Tensor?, loraT: Tensor?
    /// qkv is kept; the attention probabilities are recomputed from it in the backward pass (cheap, and the
    /// largest activation otherwise). `sizes`: ToMe token sizes entering the block.
    var qkv: Tensor!, sizes: Tensor?, ctx: Tensor?
    var reduction: TokenReduction?, xAttn: Tensor?, accIn: Tensor?
    var xl: Tensor!, mean2: Tensor!, rstd2: Tensor!, h2: Tensor?, u: Tensor!, g: Tensor?
    var m0: Tensor?, houlsbyHidden: Tensor?, afHidden: Tensor?
    var denseZ: Tensor?, denseS1: Tensor?, denseS3: Tensor?
    var chain1: [(block: Int, input: Tensor)] = [], chain3: [(block: Int, input: Tensor)] = []
    var officialSaved: OfficialAdapter.Saved?
}

/// Everything a training forward pass saved.
final class ModelTape {
    var images: Tensor!
    /// Per block; the backward pass releases each block's entry once it is done with it.
    var blocks: [BlockTape?] = []
    var reductions: [Int: TokenReduction] = [:]
    var xFinal: Tensor!, meanF: Tensor!, rstdF: Tensor!
    var pooledIn: Tensor?, pooledMean: Tensor?, pooledRstd: Tensor?
    var features: Tensor!, bnInv: [Float] = [], training = false
}
