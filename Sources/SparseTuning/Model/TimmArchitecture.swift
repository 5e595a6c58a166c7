// timm's ViT model names as architectures: `vit_base_patch16_224`, `deit_base_distilled_patch16_224`,
// `vit_small_patch14_reg4_dinov2`, `vit_base_patch16_clip_quickgelu_224`, `deit3_base_patch16_224` … (a ".tag" such as
// ".augreg_in21k" is ignored). The name gives what tensor shapes cannot: the head count, LayerNorm epsilon and the
// MLP activation; and the family's layout (docs/BACKBONES.md).

extension ViTConfig {
    /// Width, depth, heads and MLP width of timm's size names.
    private static let timmSizes: [String: (dim: Int, depth: Int, heads: Int, mlp: Int)] = [
        "tiny": (192, 12, 3, 768), "small": (384, 12, 6, 1536), "base": (768, 12, 12, 3072),
        "large": (1024, 24, 16, 4096), "huge": (1280, 32, 16, 5120),
        "giant": (1408, 40, 16, 6144), "gigantic": (1664, 48, 16, 8192),
    ]

    /// The configuration timm builds for model `name`, or nil when the name is not a timm ViT this library runs
    /// (unknown size, no patch size, or a family it does not implement such as SigLIP or SwiGLU DINOv2-giant).
    public static func timm(_ name: String) -> ViTConfig? {
        let base = name.split(separator: ".").first.map(String.init) ?? name
        let parts = base.lowercased().split(separator: "_").map(String.init)
        guard let family = parts.first, ["vit", "deit", "deit3"].contains(family),
              let size = parts.dropFirst().first(where: { timmSizes[$0] != nil }).flatMap({ timmSizes[$0] }),
              let patch = parts.first(where: { $0.hasPrefix("patch") }).flatMap({ Int($0.dropFirst(5)) }) else { return nil }
        let dinov2 = parts.contains("dinov2"), clip = parts.contains("clip")
        let unsupported = ["siglip", "siglip2", "gap", "rope", "mediumd", "betwixt", "xp", "so150m", "so400m", "sam", "eva", "rpn"]
        if parts.contains(where: unsupported.contains) || (dinov2 && parts.contains("giant")) { return nil }
        var c = ViTConfig(dim: size.dim, depth: size.depth, heads: size.heads, mlpDim: size.mlp, patch: patch)
        if let last = parts.last, let s = Int(last) { c.imageSize = s } else if dinov2 { c.imageSize = 518 }
        c.distilled = parts.contains("distilled")
        if let reg = parts.first(where: { $0.hasPrefix("reg") && Int($0.dropFirst(3)) != nil }) {
            c.registers = Int(reg.dropFirst(3))!
            c.posEmbedCoversPrefix = false
        }
        if dinov2 { c.layerScale = true }
        if family == "deit3" { c.layerScale = true; c.posEmbedCoversPrefix = false }
        if clip {
            c.preNorm = true
            c.patchBias = false
            c.eps = 1e-5
            if parts.contains("quickgelu") { c.activation = .quickGELU }
        }
        return c
    }
}
