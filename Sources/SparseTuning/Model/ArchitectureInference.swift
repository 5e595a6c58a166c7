// The architecture of a timm-named checkpoint from its tensor shapes (docs/BACKBONES.md, "Architecture from the
// checkpoint"): width and patch from `patch_embed.proj.weight`, depth from the blocks, MLP width from `fc1`, the
// family's layout from which tensors exist (dist_token, reg_token, ls1.gamma, norm_pre, fc_norm, a patch bias),
// the trained grid from pos_embed. What shapes cannot say — heads, LayerNorm epsilon, activation — comes from a
// stated configuration (a config.json, a model name) when there is one, else from timm's conventions, with a note.

/// A configuration read off a checkpoint, with notes on what was assumed rather than read.
public struct InferredArchitecture: Sendable {
    public var config: ViTConfig
    /// Human-readable notes ("heads 12 assumed …"), empty when everything was read or stated.
    public var notes: [String]
}

extension ViTConfig {
    /// Heads of timm's standard widths (head width 64, except ViT-H's 80 and CLIP giant's 88).
    private static let standardHeads: [Int: Int] = [192: 3, 384: 6, 768: 12, 1024: 16, 1280: 16, 1408: 16, 1536: 24, 1664: 16]

    /// The heads timm's convention gives a width: the standard widths' counts, else width/64; nil when neither applies.
    public static func conventionalHeads(forWidth dim: Int) -> Int? {
        standardHeads[dim] ?? (dim > 0 && dim % 64 == 0 ? dim / 64 : nil)
    }

    /// The architecture of the timm-named tensors `shapes` (name → shape). `stated` (from a config.json or a model
    /// name) supplies heads, epsilon and activation and must agree with the shapes; without it `heads` (a flag) or
    /// timm's head width convention gives the heads. `source` names the checkpoint in errors.
    ///
    /// - Throws: ``SparseTuningError`` naming the tensor when a required one is missing or malformed, and naming
    ///   both values when `stated` disagrees with a shape.
    public static func inferred(fromShapes shapes: [String: [Int]], stated: (config: ViTConfig, source: String)? = nil,
                                heads: Int? = nil, source: String) throws -> InferredArchitecture {
        func fail(_ m: String) -> SparseTuningError { SparseTuningError("\(source): \(m)") }
        guard let pe = shapes["patch_embed.proj.weight"] else {
            throw fail("no tensor 'patch_embed.proj.weight': not a timm ViT checkpoint (give --arch or --dim/--depth/--heads/--patch)")
        }
        guard (pe.count == 4 || pe.count == 5), pe[0] > 0, pe[1] == 3, pe.dropFirst(2).allSatisfy({ $0 > 0 }), pe[pe.count - 1] == pe[pe.count - 2] else {
            throw fail("tensor 'patch_embed.proj.weight' has shape \(pe), expected (C, 3, p, p), or (C, 3, t, p, p) for VideoMAE's tubelets")
        }
        let dim = pe[0], patch = pe[pe.count - 1]
        var depth = 0
        while shapes["blocks.\(depth).norm1.weight"] != nil { depth += 1 }
        guard depth > 0 else { throw fail("no tensor 'blocks.0.norm1.weight': no transformer blocks") }
        guard let fc1 = shapes["blocks.0.mlp.fc1.weight"], fc1.count == 2, fc1[1] == dim, fc1[0] > 0 else {
            throw fail("tensor 'blocks.0.mlp.fc1.weight' is missing or not (M, \(dim))")
        }
        var c = ViTConfig(dim: dim, depth: depth, heads: 1, mlpDim: fc1[0], patch: patch)
        if pe.count == 5 {  // VideoMAE: tubelets of t frames, a clip of `frames` (stated, else VideoMAE's 16)
            c.tubelet = pe[2]
            c.frames = stated?.config.frames ?? 16
        }
        c.classToken = shapes["cls_token"] != nil
        if !c.classToken { c.pool = .avg }
        c.distilled = shapes["dist_token"] != nil
        if let r = shapes["reg_token"] {
            guard r.count == 3, r[0] == 1, r[1] > 0, r[2] == dim else { throw fail("tensor 'reg_token' has shape \(r), expected (1, R, \(dim))") }
            c.registers = r[1]
        }
        c.layerScale = shapes["blocks.0.ls1.gamma"] != nil
        c.preNorm = shapes["norm_pre.weight"] != nil
        c.patchBias = shapes["patch_embed.proj.bias"] != nil
        if shapes["fc_norm.weight"] != nil && shapes["norm.weight"] == nil { c.pool = .avg }
        if let h = shapes["head.weight"] ?? shapes["head.1.weight"], h.count == 2 { c.classes = h[0] } else { c.classes = 0 }
        // pos_embed: (1, P + g², C) with the prefix rows, or (1, g², C) without (timm no_embed_class); none for
        // VideoMAE's fixed sinusoid table.
        if shapes["pos_embed"] == nil && c.tubelet != nil {
            c.sinusoidalPositions = true
            c.imageSize = stated?.config.imageSize ?? 224
        } else {
            guard let pos = shapes["pos_embed"], pos.count == 3, pos[0] == 1, pos[2] == dim else {
                throw fail("tensor 'pos_embed' is missing or not (1, N, \(dim))")
            }
            func side(_ n: Int) -> Int? {
                let s = Int(Double(max(n, 0)).squareRoot().rounded())
                return s > 0 && s * s == n ? s : nil
            }
            let withPrefix = side(pos[1] - c.prefixTokens), withoutPrefix = side(pos[1])
            let statedCovers = stated?.config.posEmbedCoversPrefix
            if let s = withPrefix, statedCovers != false || withoutPrefix == nil {
                c.posEmbedCoversPrefix = true
                c.imageSize = s * patch
            } else if let s = withoutPrefix {
                c.posEmbedCoversPrefix = false
                c.imageSize = s * patch
            } else {
                throw fail("tensor 'pos_embed' has \(pos[1]) rows: neither \(c.prefixTokens) prefix rows + a square grid nor a square grid")
            }
        }
        var notes: [String] = []
        if let (s, from) = stated {
            let checks: [(String, Int, Int)] = [("width", s.dim, dim), ("depth", s.depth, depth), ("MLP width", s.mlpDim, c.mlpDim),
                                                ("patch size", s.patch, patch), ("register tokens", s.registers, c.registers),
                                                ("distillation token", s.distilled ? 1 : 0, c.distilled ? 1 : 0),
                                                ("layer scale", s.layerScale ? 1 : 0, c.layerScale ? 1 : 0),
                                                ("pre-norm", s.preNorm ? 1 : 0, c.preNorm ? 1 : 0),
                                                ("tubelet depth", s.tubelet ?? 1, c.tubelet ?? 1)]
            if let bad = checks.first(where: { $0.1 != $0.2 }) {
                throw fail("\(from) states \(bad.0) \(bad.1), but the tensors have \(bad.2)")
            }
            c.heads = s.heads
            c.eps = s.eps
            c.activation = s.activation
            if s.imageSize % patch == 0 { c.imageSize = s.imageSize }
        } else {
            if let heads {
                c.heads = heads
            } else {
                guard let h = conventionalHeads(forWidth: dim) else {
                    throw fail("the tensors do not say how many attention heads a width of \(dim) has; give --heads")
                }
                c.heads = h
                notes.append("\(c.heads) attention heads assumed for width \(dim) (timm's convention; --heads overrides)")
            }
            if c.preNorm && !c.patchBias {
                c.eps = 1e-5
                notes.append("CLIP layout (norm_pre, no patch bias): LayerNorm epsilon 1e-5 and GELU assumed "
                    + "(OpenAI's CLIP weights need --act quick_gelu)")
            }
        }
        guard c.heads > 0, dim % c.heads == 0 else { throw fail("width \(dim) is not divisible by \(c.heads) heads") }
        try c.validate()
        return InferredArchitecture(config: c, notes: notes)
    }
}
