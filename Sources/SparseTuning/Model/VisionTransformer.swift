// The Vision Transformer's weights as timm's `VisionTransformer`: parameters named as timm's state_dict, loading
// with validation, and the pieces of the forward pass that belong to the backbone (input check, pooling, position
// embedding). The forward pass itself is `TunedViT`'s: a plain ViT is `TunedViT(backbone:)`.
import Synchronization

/// A ViT whose parameter names and shapes are timm's, so timm checkpoints load unchanged.
public final class VisionTransformer: Sendable {
    public let config: ViTConfig
    public let patchEmbed: PatchEmbed
    /// (1, 1, C), nil for a model without class token (VideoMAE).
    public let clsToken: Tensor?
    /// (1, 1, C) DeiT's distillation token, when `config.distilled`.
    public let distToken: Tensor?
    /// (1, R, C) register tokens, when `config.registers > 0`.
    public let regToken: Tensor?
    /// LayerNorm after the position embedding (timm `norm_pre`), when `config.preNorm`.
    public let normPre: LayerNorm?
    /// (1, P + gh·gw, C) at the grid `posEmbedGrid` it was trained for (P = `config.posEmbedPrefix`); resampled for
    /// other image sizes. Empty (1, 0, C) with `config.sinusoidalPositions`: the table is computed, not learned.
    public var posEmbed: Tensor { state.withLock { $0.posEmbed } }
    public var posEmbedGrid: (h: Int, w: Int) { state.withLock { $0.posEmbedGrid } }
    /// The input shape a forward pass checked: B samples of T frames (T = 1 for images) of H×W.
    struct InputShape {
        let batch: Int, frames: Int, height: Int, width: Int
    }
    public let blocks: [Block]
    /// Final LayerNorm: over all tokens before pooling (timm `norm`), or, with ``normAfterPooling``, over the pooled
    /// vector (timm `fc_norm`, average pooling only).
    public let norm: LayerNorm
    /// True when the final norm is timm's `fc_norm` (applied after average pooling). Set by loading a checkpoint
    /// that has `fc_norm.*` tensors; the default is `norm` before pooling.
    public var normAfterPooling: Bool { state.withLock { $0.normAfterPooling } }
    /// Classifier on `config.headWidth` inputs, nil when `config.classes == 0`. A distilled model's head reads the
    /// class and distillation tokens side by side: weight (K, 2C) = [½·head.weight, ½·head_dist.weight], bias
    /// ½·(head.bias + head_dist.bias), which is timm's average of the two heads (mapped when loading and saving).
    public let head: Linear?

    /// Resample pos_embed for other grids with antialiased bicubic (timm's `resample_abs_pos_embed` default) or,
    /// when false, PyTorch's plain bicubic (`antialias=False`).
    public var posEmbedAntialias: Bool {
        get { state.withLock { $0.antialias } }
        set { state.withLock { $0.antialias = newValue; $0.resampled = nil } }
    }

    /// Input precision of every Linear and attention product (fp32 by default; bf16 roughly doubles matrix
    /// throughput on CPUs with AVX512-BF16 at the cost of ~1e-2 relative error in the logits).
    public var precision: Precision {
        get { state.withLock { $0.precision } }
        set {
            state.withLock { $0.precision = newValue }
            for l in linears() { l.precision = newValue }
            for b in blocks { b.attn.precision = newValue }
        }
    }

    /// What loading and settings change after construction, behind one lock.
    private struct State {
        var posEmbed: Tensor  // (1, P + gh·gw, C)
        var posEmbedGrid: (h: Int, w: Int)
        var normAfterPooling = false
        var antialias = true
        var precision = Precision.fp32
        /// pos_embed resampled for the last other grid asked for.
        var resampled: (grid: (h: Int, w: Int), tensor: Tensor)?
    }
    private let state: Mutex<State>

    /// A model with timm-style random initialisation from `seed` (trunc-normal 0.02 weights, zero biases), or,
    /// with `seed` nil, zero weights and unit norms — for weights that are about to be loaded.
    public init(config: ViTConfig, seed: UInt64? = 0) throws {
        try config.validate()
        self.config = config
        let c = config.dim
        patchEmbed = PatchEmbed(patch: config.patch, dim: c, tubelet: config.tubelet ?? 1, bias: config.patchBias)
        clsToken = config.classToken ? Tensor(zeros: [1, 1, c]) : nil
        distToken = config.distilled ? Tensor(zeros: [1, 1, c]) : nil
        regToken = config.registers > 0 ? Tensor(zeros: [1, config.registers, c]) : nil
        normPre = config.preNorm ? LayerNorm(dim: c, eps: config.eps) : nil
        let posEmbed = Tensor(zeros: [1, config.sinusoidalPositions ? 0 : config.posEmbedPrefix + config.grid * config.grid, c])
        state = Mutex(State(posEmbed: posEmbed, posEmbedGrid: (config.grid, config.grid)))
        blocks = (0..<config.depth).map { _ in
            Block(dim: c, heads: config.heads, mlpHidden: config.mlpDim, eps: config.eps, activation: config.activation)
        }
        norm = LayerNorm(dim: c, eps: config.eps)
        head = config.classes > 0 ? Linear(inFeatures: config.headWidth, outFeatures: config.classes) : nil
        guard let seed else { return }
        var rng = SeededGenerator(seed: seed)
        for p in parameters() where p.name.hasSuffix("weight") && p.tensor.shape.count > 1 {
            p.tensor.fillTruncatedNormal(std: 0.02, using: &rng)
        }
        posEmbed.fillTruncatedNormal(std: 0.02, using: &rng)
        for t in [clsToken, distToken, regToken].compactMap({ $0 }) { t.fillTruncatedNormal(std: 1e-6, using: &rng) }
    }

    /// A model sharing this one's trunk — every tensor but the head, by reference, so no weight is copied — with a
    /// head of its own for `classes` outputs (zero until loaded; none for 0). Several tasks served on one frozen
    /// backbone are such views. Loading trunk tensors into either changes both; settings such as ``precision``
    /// act on the shared Linears; the position-embedding state (a resampled grid) is the view's own.
    public func sharingTrunk(classes: Int) -> VisionTransformer {
        var cfg = config
        cfg.classes = classes
        let head = classes > 0 ? Linear(inFeatures: cfg.headWidth, outFeatures: classes) : nil
        head?.precision = precision
        return VisionTransformer(config: cfg, patchEmbed: patchEmbed, clsToken: clsToken, distToken: distToken,
                                 regToken: regToken, normPre: normPre, blocks: blocks, norm: norm, head: head,
                                 state: state.withLock { $0 })
    }

    private init(config: ViTConfig, patchEmbed: PatchEmbed, clsToken: Tensor?, distToken: Tensor?, regToken: Tensor?,
                 normPre: LayerNorm?, blocks: [Block], norm: LayerNorm, head: Linear?, state: State) {
        self.config = config
        self.patchEmbed = patchEmbed
        self.clsToken = clsToken
        self.distToken = distToken
        self.regToken = regToken
        self.normPre = normPre
        self.blocks = blocks
        self.norm = norm
        self.head = head
        self.state = Mutex(state)
    }

    /// Name of the final norm in timm's state_dict.
    public var normName: String { normAfterPooling ? "fc_norm" : "norm" }

    /// Every parameter with its timm name and timm shape (e.g. `patch_embed.proj.weight` is (C, 3, p, p)). Two
    /// differ from timm's state_dict (``stateDict()`` maps them back): layer scales are folded into `attn.proj` and
    /// `mlp.fc2` and not listed, and a distilled model's `head` is the combined (K, 2C) head.
    public func parameters() -> [(name: String, shape: [Int], tensor: Tensor)] {
        let c = config.dim
        var out: [(String, [Int], Tensor)] = []
        if let clsToken { out.append(("cls_token", [1, 1, c], clsToken)) }
        if let distToken { out.append(("dist_token", [1, 1, c], distToken)) }
        if let regToken { out.append(("reg_token", regToken.shape, regToken)) }
        if !config.sinusoidalPositions { out.append(("pos_embed", posEmbed.shape, posEmbed)) }
        out.append(("patch_embed.proj.weight", patchEmbed.weightShape, patchEmbed.proj.weight))
        if let b = patchEmbed.proj.bias { out.append(("patch_embed.proj.bias", [c], b)) }
        func linear(_ name: String, _ l: Linear) {
            out.append(("\(name).weight", l.weight.shape, l.weight))
            if let b = l.bias { out.append(("\(name).bias", b.shape, b)) }
        }
        func layerNorm(_ name: String, _ n: LayerNorm) {
            out.append(("\(name).weight", [n.dim], n.weight))
            out.append(("\(name).bias", [n.dim], n.bias))
        }
        if let normPre { layerNorm("norm_pre", normPre) }
        for (l, blk) in blocks.enumerated() {
            layerNorm("blocks.\(l).norm1", blk.norm1)
            linear("blocks.\(l).attn.qkv", blk.attn.qkv)
            linear("blocks.\(l).attn.proj", blk.attn.proj)
            layerNorm("blocks.\(l).norm2", blk.norm2)
            linear("blocks.\(l).mlp.fc1", blk.mlp.fc1)
            linear("blocks.\(l).mlp.fc2", blk.mlp.fc2)
        }
        layerNorm(normName, norm)
        if let head { linear("head", head) }
        return out
    }

    /// Total number of parameters.
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.tensor.count } }

    // MARK: Pieces of the forward pass (run by `TunedViT`, the one model)

    /// `pooled (B, W)` (W = `config.headWidth`) from tokens (B, N, C): the class token (with the distillation
    /// token beside it for a distilled model), or with average pooling the mean of tokens `first`…N−1 (after the
    /// prefix tokens and any prompts).
    func pool(_ tokens: Tensor, from first: Int, into pooled: Tensor) {
        let b = tokens.shape[0], n = tokens.shape[1], c = config.dim, w = config.headWidth
        for bi in 0..<b {
            let src = tokens.data + bi * n * c, dst = pooled.data + bi * w
            switch config.pool {
            case .token:
                dst.update(from: src, count: w)
            case .avg:
                dst.update(repeating: 0, count: c)
                for t in first..<n { for j in 0..<c { dst[j] += src[t * c + j] } }
                for j in 0..<c { dst[j] /= Float(n - first) }
            }
        }
    }

    /// Checks the input is (B, 3, H, W) — or clips (B, T, 3, H, W) for a video model, T a multiple of the tubelet —
    /// with H and W multiples of the patch.
    func checkInput(_ images: Tensor) throws -> InputShape {
        let sh = images.shape, p = config.patch
        if config.isVideo {
            let t = config.tubelet ?? 1
            guard sh.count == 5, sh[0] > 0, sh[1] > 0, sh[1] % t == 0, sh[2] == 3, sh[3] > 0, sh[4] > 0, sh[3] % p == 0, sh[4] % p == 0 else {
                throw SparseTuningError("input has shape \(sh); expected clips (B, T, 3, H, W) with T a multiple of \(t) and H and W "
                    + "multiples of the patch size \(p)")
            }
            return InputShape(batch: sh[0], frames: sh[1], height: sh[3], width: sh[4])
        }
        guard sh.count == 4, sh[0] > 0, sh[1] == 3, sh[2] > 0, sh[3] > 0, sh[2] % p == 0, sh[3] % p == 0 else {
            throw SparseTuningError("input has shape \(sh); expected (B, 3, H, W) with H and W multiples of the patch size \(p)")
        }
        return InputShape(batch: sh[0], frames: 1, height: sh[2], width: sh[3])
    }

    /// pos_embed for a patch grid (resampled once per grid and cached; safe from several threads); with
    /// `config.sinusoidalPositions`, the fixed table (1, `tokens`, C) for that many patch tokens.
    func positionEmbedding(grid: (h: Int, w: Int), tokens: Int) -> Tensor {
        state.withLock { s in
            if config.sinusoidalPositions {
                if let r = s.resampled, r.tensor.shape[1] == tokens { return r.tensor }
                let t = PositionEmbedding.sinusoidTable(positions: tokens, dim: config.dim)
                s.resampled = (grid, t)
                return t
            }
            if s.posEmbedGrid == grid { return s.posEmbed }
            if let r = s.resampled, r.grid == grid { return r.tensor }
            let t = PositionEmbedding.resample(s.posEmbed, prefixTokens: config.posEmbedPrefix, from: s.posEmbedGrid, to: grid, antialias: s.antialias)
            s.resampled = (grid, t)
            return t
        }
    }

    /// Chooses timm's `fc_norm` placement (after average pooling) instead of `norm` (before pooling).
    func setNormAfterPooling(_ after: Bool) { state.withLock { $0.normAfterPooling = after } }

    /// Replaces pos_embed with one trained for another grid (used by the checkpoint loader).
    func setPositionEmbedding(_ t: Tensor, grid: (h: Int, w: Int)) {
        state.withLock { s in
            s.posEmbed = t
            s.posEmbedGrid = grid
            s.resampled = nil
        }
    }
}
