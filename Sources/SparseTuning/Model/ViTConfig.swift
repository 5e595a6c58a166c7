// ViT configuration: the presets of docs/METHOD.md §1 (vit-ti16 … vit-h14), explicit dimensions, image size, pooling,
// classes.

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
    /// LayerNorm epsilon (timm ViT: 1e-6).
    public var eps: Float = 1e-6

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

    /// The named architecture of docs/METHOD.md §1, or nil for an unknown name.
    public static func preset(_ name: String) -> ViTConfig? {
        switch name.lowercased() {
        case "vit-ti16": return ViTConfig(dim: 192, depth: 12, heads: 3, patch: 16)
        case "vit-s16": return ViTConfig(dim: 384, depth: 12, heads: 6, patch: 16)
        case "vit-b16": return ViTConfig(dim: 768, depth: 12, heads: 12, patch: 16)
        case "vit-l16": return ViTConfig(dim: 1024, depth: 24, heads: 16, patch: 16)
        case "vit-h14": return ViTConfig(dim: 1280, depth: 32, heads: 16, patch: 14)
        default: return nil
        }
    }

    /// Patches per side at `imageSize`.
    public var grid: Int { imageSize / patch }
    /// Tokens entering the first block: class token + patches.
    public var tokens: Int { 1 + grid * grid }

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
        try need(dim <= 65536 && depth <= 1024 && mlpDim <= 1 << 20 && imageSize <= 8192,
                 "model dimensions are unreasonably large (dim \(dim), depth \(depth), mlp \(mlpDim), image \(imageSize))")
    }
}
