// ViT configuration: the presets of docs/METHOD.md §1 (vit-ti16 … vit-h14), explicit dimensions, image size, pooling,
// classes, and the variants of timm's one `VisionTransformer` class that checkpoint families use (docs/BACKBONES.md):
// distillation and register tokens, position embeddings without prefix rows, layer scale, pre-norm, QuickGELU.

/// How the final features become one vector per image.
public enum Pooling: String, Sendable, CaseIterable, Codable {
    /// The class token after the final norm (timm `global_pool='token'`).
    case token
    /// The mean of the non-class tokens, then `fc_norm` (timm `global_pool='avg'`).
    case avg
}

/// The shape of a Vision Transformer (timm `VisionTransformer` constructor arguments).
public struct ViTConfig: Sendable, Equatable, Codable {
    /// Embedding width C.
    public var dim: Int
    /// Number of blocks.
    public var depth: Int
    /// Attention heads; `dim` must be divisible by it.
    public var heads: Int
    /// MLP hidden width (4·C for the presets).
    public var mlpDim: Int
    /// Patch size p.
    public var patch: Int
    /// Input height and width; must be divisible by `patch`.
    public var imageSize: Int = 224
    /// Head outputs; 0 means no head (the model returns pooled features).
    public var classes: Int = 1000
    public var pool: Pooling = .token
    /// LayerNorm epsilon (timm ViT: 1e-6; CLIP towers 1e-5; Hugging Face ViT 1e-12).
    public var eps: Float = 1e-6
    /// DeiT's distillation token after the class token, read by a second head; the two heads' logits are
    /// averaged (timm `VisionTransformerDistilled`). The head here takes both tokens: its input is (B, 2C).
    public var distilled = false
    /// Register tokens after the class (and distillation) token (DINOv2 with registers, timm `reg_tokens`).
    public var registers = 0
    /// Whether pos_embed has rows for the prefix tokens (timm's default) or only for the patches (timm
    /// `no_embed_class=True`: DINOv2 with registers, DeiT III).
    public var posEmbedCoversPrefix = true
    /// Per-channel scales on each block's attention and MLP branch (timm `init_values`: `ls1.gamma`, `ls2.gamma`;
    /// DINOv2, DeiT III). Folded into `attn.proj` and `mlp.fc2` when loaded.
    public var layerScale = false
    /// A LayerNorm after the position embedding, before the first block (timm `pre_norm`, `norm_pre`: CLIP).
    public var preNorm = false
    /// Whether the patch projection has a bias (CLIP's has none).
    public var patchBias = true
    /// The MLP's activation.
    public var activation = Activation.gelu
    /// Whether a class token leads the sequence (VideoMAE has none: it pools the mean of all tokens).
    public var classToken = true
    /// Fixed sinusoidal position table instead of a learned `pos_embed` (VideoMAE: not stored in checkpoints, computed
    /// for the input's token count).
    public var sinusoidalPositions = false
    /// Frames per clip for a video model (1: an image model). Inputs are then (B, T, 3, H, W); this is the clip length
    /// data sampling uses by default (docs/VIDEO.md).
    public var frames = 1
    /// Frames per space-time patch (VideoMAE: 2, a Conv3d tubelet embedding over all T frames in one sequence), or nil
    /// for a per-frame video model: each frame is its own image sequence and the frames' features are pooled over time.
    public var tubelet: Int?

    public init(dim: Int, depth: Int, heads: Int, mlpDim: Int? = nil, patch: Int, imageSize: Int = 224,
                classes: Int = 1000, pool: Pooling = .token) {
        self.dim = dim
        self.depth = depth
        self.heads = heads
        self.mlpDim = mlpDim ?? 4 * dim
        self.patch = patch
        self.imageSize = imageSize
        self.classes = classes
        self.pool = pool
    }

    /// Preset names accepted by ``preset(_:)``.
    public static let presetNames = ["vit-ti16", "vit-s16", "vit-b16", "vit-l16", "vit-h14"]

    /// The named architecture of docs/METHOD.md §1, or a timm model name (``timm(_:)``), or nil for an unknown name.
    public static func preset(_ name: String) -> ViTConfig? {
        switch name.lowercased() {
        case "vit-ti16": return ViTConfig(dim: 192, depth: 12, heads: 3, patch: 16)
        case "vit-s16": return ViTConfig(dim: 384, depth: 12, heads: 6, patch: 16)
        case "vit-b16": return ViTConfig(dim: 768, depth: 12, heads: 12, patch: 16)
        case "vit-l16": return ViTConfig(dim: 1024, depth: 24, heads: 16, patch: 16)
        case "vit-h14": return ViTConfig(dim: 1280, depth: 32, heads: 16, patch: 14)
        default: return timm(name)
        }
    }

    /// Patches per side at `imageSize`.
    public var grid: Int { imageSize / patch }
    /// Tokens before the patches that token reduction never removes: class, distillation and register tokens.
    public var prefixTokens: Int { (classToken ? 1 : 0) + (distilled ? 1 : 0) + registers }
    /// pos_embed rows before the patch grid's.
    public var posEmbedPrefix: Int { posEmbedCoversPrefix ? prefixTokens : 0 }
    /// Whether inputs are clips (B, T, 3, H, W).
    public var isVideo: Bool { frames > 1 || tubelet != nil }
    /// Patch tokens of one sequence for a (T, H, W) input: (T/tubelet)·(H/p)·(W/p) for a space-time model, else the
    /// frame's (H/p)·(W/p).
    public func patchTokens(frames t: Int, height: Int, width: Int) -> Int {
        (tubelet.map { t / $0 } ?? 1) * (height / patch) * (width / patch)
    }
    /// Tokens entering the first block at the configured size: prefix tokens + patches.
    public var tokens: Int { prefixTokens + patchTokens(frames: frames, height: imageSize, width: imageSize) }
    /// One input sample's shape at the configured size: (3, S, S), or (T, 3, S, S) for a video model.
    public var inputShape: [Int] { (isVideo ? [frames] : []) + [3, imageSize, imageSize] }
    /// Sequences the trunk runs per clip of the configured length: T for a per-frame video model, else 1.
    public var sequencesPerSample: Int { sequences(frames: frames) }
    /// Sequences the trunk runs per input of `t` frames: t for a per-frame video model (any clip length), else 1.
    public func sequences(frames t: Int) -> Int { tubelet == nil && isVideo ? t : 1 }
    /// Width of the head's input: C, or 2C for a distilled model (class and distillation token side by side).
    public var headWidth: Int { distilled ? 2 * dim : dim }

    /// Throws a message naming the offending option when the shape is impossible.
    public func validate() throws {
        func need(_ ok: Bool, _ message: String) throws { if !ok { throw SparseTuningError(message) } }
        try need(dim > 0, "--dim must be positive (got \(dim))")
        try need(depth > 0, "--depth must be positive (got \(depth))")
        try need(heads > 0, "--heads must be positive (got \(heads))")
        try need(dim % heads == 0, "--dim \(dim) is not divisible by --heads \(heads)")
        try need(mlpDim > 0, "--mlp must be positive (got \(mlpDim))")
        try need(patch > 0, "--patch must be positive (got \(patch))")
        try need(imageSize > 0 && imageSize % patch == 0,
                 "--image-size \(imageSize) must be a positive multiple of the patch size \(patch)")
        try need(classes >= 0, "--classes must be 0 or more (got \(classes))")
        try need(registers >= 0 && registers <= 256, "register tokens must be 0…256 (got \(registers))")
        try need(!(distilled && pool == .avg), "a distilled model pools its class and distillation tokens; --pool avg does not apply")
        try need(eps > 0 && eps < 1, "LayerNorm epsilon must be in (0, 1) (got \(eps))")
        try need(frames >= 1 && frames <= 4096, "--frames must be 1…4096 (got \(frames))")
        if let t = tubelet {
            try need(t >= 1 && frames % t == 0, "--frames \(frames) must be a positive multiple of the tubelet depth \(t)")
        }
        try need(classToken || pool == .avg, "a model without class token pools the mean of its tokens; use --pool avg")
        try need(classToken || !distilled, "a distilled model needs its class token")
        try need(dim <= 65536 && depth <= 1024 && mlpDim <= 1 << 20 && imageSize <= 8192,
                 "model dimensions are unreasonably large (dim \(dim), depth \(depth), mlp \(mlpDim), image \(imageSize))")
    }
}

extension ViTConfig {
    private enum CodingKeys: String, CodingKey {
        case dim, depth, heads, mlpDim, patch, imageSize, classes, pool, eps, distilled, registers, posEmbedCoversPrefix,
             layerScale, preNorm, patchBias, activation, classToken, sinusoidalPositions, frames, tubelet
    }

    /// Decodes a configuration; the variant keys are optional (files written before they existed are plain ViTs).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(dim: try c.decode(Int.self, forKey: .dim), depth: try c.decode(Int.self, forKey: .depth),
                  heads: try c.decode(Int.self, forKey: .heads), mlpDim: try c.decode(Int.self, forKey: .mlpDim),
                  patch: try c.decode(Int.self, forKey: .patch), imageSize: try c.decode(Int.self, forKey: .imageSize),
                  classes: try c.decode(Int.self, forKey: .classes), pool: try c.decode(Pooling.self, forKey: .pool))
        eps = try c.decodeIfPresent(Float.self, forKey: .eps) ?? eps
        distilled = try c.decodeIfPresent(Bool.self, forKey: .distilled) ?? false
        registers = try c.decodeIfPresent(Int.self, forKey: .registers) ?? 0
        posEmbedCoversPrefix = try c.decodeIfPresent(Bool.self, forKey: .posEmbedCoversPrefix) ?? true
        layerScale = try c.decodeIfPresent(Bool.self, forKey: .layerScale) ?? false
        preNorm = try c.decodeIfPresent(Bool.self, forKey: .preNorm) ?? false
        patchBias = try c.decodeIfPresent(Bool.self, forKey: .patchBias) ?? true
        activation = try c.decodeIfPresent(Activation.self, forKey: .activation) ?? .gelu
        classToken = try c.decodeIfPresent(Bool.self, forKey: .classToken) ?? true
        sinusoidalPositions = try c.decodeIfPresent(Bool.self, forKey: .sinusoidalPositions) ?? false
        frames = try c.decodeIfPresent(Int.self, forKey: .frames) ?? 1
        tubelet = try c.decodeIfPresent(Int.self, forKey: .tubelet)
    }
}
