// DINOv2 checkpoints in Meta's original layout (facebookresearch/dinov2 state_dicts saved as safetensors) mapped to
// timm's at the load boundary, as timm's own converter does: `mask_token` (used only in pretraining) dropped; with
// `register_tokens`, the model is timm's no_embed_class layout — `reg_token` = register_tokens, the class token
// absorbs pos_embed's class row, pos_embed keeps the patch rows. Every other name is already timm's
// (docs/BACKBONES.md).

enum MetaDINOv2 {
    /// Whether `names` are Meta's DINOv2 layout rather than timm's.
    static func isMetaLayout(_ names: some Sequence<String>) -> Bool {
        names.contains { $0 == "mask_token" || $0 == "register_tokens" }
    }

    /// `tensors` under timm's names (unchanged when they are not Meta's layout).
    /// - Throws: ``SparseTuningError`` naming `file` for a SwiGLU MLP (DINOv2-giant) or malformed tokens.
    static func timmStateDict(_ tensors: [String: Tensor], file: String) throws -> [String: Tensor] {
        guard isMetaLayout(tensors.keys) else { return tensors }
        if tensors.keys.contains(where: { $0.contains(".mlp.w12.") || $0.contains(".mlp.w3.") }) {
            throw SparseTuningError("\(file): DINOv2 with a SwiGLU MLP (mlp.w12/w3, the giant model) is not supported")
        }
        var out = tensors
        out["mask_token"] = nil
        guard let registers = out.removeValue(forKey: "register_tokens") else { return out }
        guard let cls = out["cls_token"], let pos = out["pos_embed"], cls.shape.count == 3, cls.shape[0] == 1, cls.shape[1] == 1,
              pos.shape.count == 3, pos.shape[0] == 1, pos.shape[1] >= 2, pos.shape[2] == cls.shape[2] else {
            throw SparseTuningError("\(file): DINOv2 with register tokens needs cls_token (1, 1, C) and pos_embed (1, 1 + g², C)")
        }
        let c = cls.shape[2], rows = pos.shape[1] - 1
        let newCls = Tensor(zeros: [1, 1, c])  // (1, 1, C) cls_token + pos_embed[:, 0]
        for j in 0..<c { newCls.data[j] = cls.data[j] + pos.data[j] }
        let patches = Tensor(zeros: [1, rows, c])  // (1, g², C) pos_embed[:, 1:]
        patches.data.update(from: pos.data + c, count: rows * c)
        out["cls_token"] = newCls
        out["pos_embed"] = patches
        out["reg_token"] = registers
        return out
    }

    /// The shapes of `timmStateDict` for a file's shapes (what `inspect` reads the architecture from).
    static func timmShapes(_ shapes: [String: [Int]]) -> [String: [Int]] {
        guard isMetaLayout(shapes.keys) else { return shapes }
        var out = shapes
        out["mask_token"] = nil
        if let r = out.removeValue(forKey: "register_tokens") {
            out["reg_token"] = r
            if let p = out["pos_embed"], p.count == 3 { out["pos_embed"] = [p[0], p[1] - 1, p[2]] }
        }
        return out
    }
}
