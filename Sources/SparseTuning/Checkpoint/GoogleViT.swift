// Google ViT checkpoints (.npz from google-research/vision_transformer, e.g. ViT-B_16.npz): names and layouts
// mapped to timm's state_dict as docs/METHOD.md §7 (and timm's `_load_weights`) describe.

/// The architecture of a Google ViT checkpoint, read from its array shapes.
public struct GoogleViTLayout: Sendable, Equatable {
    /// Embedding width C.
    public let dim: Int
    /// Number of encoder blocks.
    public let depth: Int
    /// Attention heads H (head width is `dim / heads`).
    public let heads: Int
    /// Hidden width of the MLP.
    public let mlpDim: Int
    /// Patch size p.
    public let patchSize: Int
    /// Number of position embeddings (class token included).
    public let tokens: Int
    /// Classes of the stored head, or nil when the checkpoint has no head. ImageNet-21k checkpoints carry a
    /// 21843-class all-zero head; a model loader should skip a head whose class count differs from the model's.
    public let headClasses: Int?
}

/// Mapping of Google ViT .npz arrays to timm parameter names.
public enum GoogleViT {
    /// Checks that `shapes` (array name → shape) form a complete Google ViT checkpoint and returns its layout.
    /// - Throws: ``SparseTuningError`` naming `file` and the missing, unknown or wrongly shaped arrays.
    public static func layout(of shapes: [String: [Int]], file: String) throws -> GoogleViTLayout {
        try plan(shapes, file: file).layout
    }

    /// The timm state_dict of a Google ViT checkpoint: `patch_embed.proj.*`, `cls_token`, `pos_embed`,
    /// `blocks.{l}.…`, `norm.*`, and `head.*` when the checkpoint has a head (see
    /// ``GoogleViTLayout/headClasses``). `pre_logits/*` arrays are ignored.
    /// - Throws: ``SparseTuningError`` naming `file` and the missing, unknown or wrongly shaped arrays.
    public static func timmStateDict(_ arrays: [String: Tensor], file: String) throws -> [String: Tensor] {
        let rules = try plan(arrays.mapValues(\.shape), file: file).rules
        var tensors: [String: Tensor] = [:]
        for rule in rules {
            tensors[rule.target] = rule.apply(rule.sources.map { arrays[$0.name]! })
        }
        return tensors
    }

    /// How one timm tensor is built from Google arrays.
    private struct Rule {
        enum Transform {
            /// Sources copied back to back.
            case concatenate
            /// Each source, viewed as an (in, out) matrix with in = `shape[1]`, transposed; results stacked as rows.
            case transposeAndStack
            /// Convolution kernel (p, p, 3, C) to (C, 3, p, p).
            case hwioToOihw
        }

        let target: String
        let shape: [Int]
        let sources: [(name: String, shape: [Int])]
        let transform: Transform

        func apply(_ inputs: [Tensor]) -> Tensor {
            let output = Tensor(zeros: shape)
            switch transform {
            case .concatenate:
                var offset = 0
                for input in inputs {
                    (output.data + offset).update(from: input.data, count: input.count)
                    offset += input.count
                }
            case .transposeAndStack:
                let columns = shape[1]
                var row = 0
                for input in inputs {
                    let rows = input.count / columns
                    transpose(input.data, rows: columns, columns: rows, into: output.data + row * columns)
                    row += rows
                }
            case .hwioToOihw:
                let (p, channels) = (shape[2], shape[0])
                let source = inputs[0].data
                for h in 0..<p {
                    for w in 0..<p {
                        for i in 0..<3 {
                            let from = ((h * p + w) * 3 + i) * channels
                            for c in 0..<channels { output.data[((c * 3 + i) * p + h) * p + w] = source[from + c] }
                        }
                    }
                }
            }
            return output
        }
    }

    /// Writes the (columns × rows) transpose of the row-major (rows × columns) matrix `source`, in tiles.
    private static func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int,
                                  into destination: UnsafeMutablePointer<Float>) {
        let tile = 32
        for r0 in stride(from: 0, to: rows, by: tile) {
            for c0 in stride(from: 0, to: columns, by: tile) {
                for r in r0..<min(r0 + tile, rows) {
                    for c in c0..<min(c0 + tile, columns) { destination[c * rows + r] = source[r * columns + c] }
                }
            }
        }
    }

    /// Derives the layout from a few anchor arrays, builds the rules, and checks that the arrays are exactly
    /// the rules' sources (plus ignored `pre_logits/*`) with the expected shapes.
    private static func plan(_ shapes: [String: [Int]], file: String) throws -> (layout: GoogleViTLayout, rules: [Rule]) {
        func failure(_ message: String) -> SparseTuningError { SparseTuningError("\(file): \(message)") }
        func shape(_ name: String, _ expected: String, _ valid: ([Int]) -> Bool) throws -> [Int] {
            guard let shape = shapes[name] else {
                throw failure("missing array '\(name)' (not a Google ViT checkpoint?)")
            }
            guard valid(shape) else { throw failure("array '\(name)': expected shape \(expected), got \(shape)") }
            return shape
        }

        let kernel = try shape("embedding/kernel", "(p, p, 3, C)") { $0.count == 4 && $0[0] == $0[1] && $0[2] == 3 }
        let (p, dim) = (kernel[0], kernel[3])
        let blockPrefix = "Transformer/encoderblock_"
        let blockIndices = shapes.keys.compactMap { name -> Int? in
            guard name.hasPrefix(blockPrefix),
                  let index = Int(name.dropFirst(blockPrefix.count).prefix { $0 != "/" }), index >= 0 else { return nil }
            return index
        }
        let presentBlocks = Set(blockIndices).sorted()
        let depth = (presentBlocks.last ?? 0) + 1
        if let gap = presentBlocks.enumerated().first(where: { $0.offset != $0.element }) {
            throw failure("missing arrays of '\(blockPrefix)\(gap.offset)' (blocks up to \(depth - 1) are present)")
        }
        let attention = "\(blockPrefix)0/MultiHeadDotProductAttention_1/"
        let query = try shape(attention + "query/kernel", "(\(dim), heads, \(dim) / heads)") {
            $0.count == 3 && $0[0] == dim && $0[1] > 0 && $0[1] * $0[2] == dim
        }
        let heads = query[1]
        let mlpDim = try shape("\(blockPrefix)0/MlpBlock_3/Dense_0/kernel", "(\(dim), mlp)") {
            $0.count == 2 && $0[0] == dim
        }[1]
        let tokens = try shape("Transformer/posembed_input/pos_embedding", "(1, tokens, \(dim))") {
            $0.count == 3 && $0[0] == 1 && $0[2] == dim
        }[1]
        let headClasses = shapes["head/kernel"] == nil && shapes["head/bias"] == nil ? nil
            : try shape("head/kernel", "(\(dim), classes)") { $0.count == 2 && $0[0] == dim }[1]
        let layout = GoogleViTLayout(dim: dim, depth: depth, heads: heads, mlpDim: mlpDim, patchSize: p,
                                     tokens: tokens, headClasses: headClasses)

        let rules = Self.rules(for: layout)
        let expected = Dictionary(uniqueKeysWithValues: rules.flatMap(\.sources).map { ($0.name, $0.shape) })
        let missing = expected.keys.filter { shapes[$0] == nil }.sorted()
        let unknown = shapes.keys.filter { expected[$0] == nil && !$0.hasPrefix("pre_logits/") }.sorted()
        var problems: [String] = []
        if !missing.isEmpty { problems.append("missing arrays \(listed(missing))") }
        if !unknown.isEmpty { problems.append("unknown arrays \(listed(unknown))") }
        guard problems.isEmpty else {
            throw failure(problems.joined(separator: "; ") + " for a Google ViT with dim \(dim), depth \(depth)")
        }
        for (name, want) in expected.sorted(by: { $0.key < $1.key }) where shapes[name] != want {
            throw failure("array '\(name)': expected shape \(want), got \(shapes[name]!)")
        }
        return (layout, rules)
    }

    private static func listed(_ names: [String]) -> String {
        let shown = names.prefix(8).map { "'\($0)'" }.joined(separator: ", ")
        return names.count > 8 ? "\(shown) and \(names.count - 8) more" : shown
    }

    /// The timm tensors of a checkpoint with `layout`, each with its Google sources.
    private static func rules(for layout: GoogleViTLayout) -> [Rule] {
        let (c, m, h) = (layout.dim, layout.mlpDim, layout.heads)
        let d = c / h
        var rules = [
            Rule(target: "patch_embed.proj.weight", shape: [c, 3, layout.patchSize, layout.patchSize],
                 sources: [("embedding/kernel", [layout.patchSize, layout.patchSize, 3, c])], transform: .hwioToOihw),
            Rule(target: "patch_embed.proj.bias", shape: [c], sources: [("embedding/bias", [c])], transform: .concatenate),
            Rule(target: "cls_token", shape: [1, 1, c], sources: [("cls", [1, 1, c])], transform: .concatenate),
            Rule(target: "pos_embed", shape: [1, layout.tokens, c],
                 sources: [("Transformer/posembed_input/pos_embedding", [1, layout.tokens, c])], transform: .concatenate),
        ]
        func layerNorm(_ target: String, _ source: String) -> [Rule] {
            [Rule(target: target + ".weight", shape: [c], sources: [(source + "/scale", [c])], transform: .concatenate),
             Rule(target: target + ".bias", shape: [c], sources: [(source + "/bias", [c])], transform: .concatenate)]
        }
        for l in 0..<layout.depth {
            let (g, t) = ("Transformer/encoderblock_\(l)/", "blocks.\(l).")
            let attention = g + "MultiHeadDotProductAttention_1/"
            let qkv = ["query", "key", "value"]
            rules += layerNorm(t + "norm1", g + "LayerNorm_0")
            rules += [
                Rule(target: t + "attn.qkv.weight", shape: [3 * c, c],
                     sources: qkv.map { (attention + $0 + "/kernel", [c, h, d]) }, transform: .transposeAndStack),
                Rule(target: t + "attn.qkv.bias", shape: [3 * c],
                     sources: qkv.map { (attention + $0 + "/bias", [h, d]) }, transform: .concatenate),
                Rule(target: t + "attn.proj.weight", shape: [c, c],
                     sources: [(attention + "out/kernel", [h, d, c])], transform: .transposeAndStack),
                Rule(target: t + "attn.proj.bias", shape: [c],
                     sources: [(attention + "out/bias", [c])], transform: .concatenate),
            ]
            rules += layerNorm(t + "norm2", g + "LayerNorm_2")
            rules += [
                Rule(target: t + "mlp.fc1.weight", shape: [m, c],
                     sources: [(g + "MlpBlock_3/Dense_0/kernel", [c, m])], transform: .transposeAndStack),
                Rule(target: t + "mlp.fc1.bias", shape: [m],
                     sources: [(g + "MlpBlock_3/Dense_0/bias", [m])], transform: .concatenate),
                Rule(target: t + "mlp.fc2.weight", shape: [c, m],
                     sources: [(g + "MlpBlock_3/Dense_1/kernel", [m, c])], transform: .transposeAndStack),
                Rule(target: t + "mlp.fc2.bias", shape: [c],
                     sources: [(g + "MlpBlock_3/Dense_1/bias", [c])], transform: .concatenate),
            ]
        }
        rules += layerNorm("norm", "Transformer/encoder_norm")
        if let classes = layout.headClasses {
            rules += [
                Rule(target: "head.weight", shape: [classes, c],
                     sources: [("head/kernel", [c, classes])], transform: .transposeAndStack),
                Rule(target: "head.bias", shape: [classes], sources: [("head/bias", [classes])], transform: .concatenate),
            ]
        }
        return rules
    }
}
