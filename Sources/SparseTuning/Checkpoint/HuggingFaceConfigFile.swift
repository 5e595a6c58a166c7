// The keys of a Hugging Face ViT `config.json` that describe the architecture, decoded permissively: the many
// other keys transformers writes are ignored; the ones read are type-checked, errors naming the key.

/// The architecture keys of a transformers `config.json` (checked further by ``HuggingFaceViTConfig``).
struct HuggingFaceConfigFile: Decodable {
    var modelType: String?
    var architectures: [String]?
    var hiddenSize: Int
    var numHiddenLayers: Int
    var numAttentionHeads: Int
    var intermediateSize: Int
    var patchSize: SquareSize
    var imageSize: SquareSize
    var numChannels: Int?
    var hiddenAct: String?
    var layerNormEps: Double?
    var qkvBias: Bool?
    var id2label: [String: String]?
    var numLabels: Int?
    /// VideoMAE: frames per clip, frames per tubelet, and whether it pools the mean of its tokens (then `fc_norm`).
    var numFrames: Int?
    var tubeletSize: Int?
    var useMeanPooling: Bool?

    private enum CodingKeys: String, CodingKey {
        case modelType = "model_type", architectures, hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size", patchSize = "patch_size"
        case imageSize = "image_size", numChannels = "num_channels", hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps", qkvBias = "qkv_bias", id2label, numLabels = "num_labels"
        case numFrames = "num_frames", tubeletSize = "tubelet_size", useMeanPooling = "use_mean_pooling"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func positive(_ key: CodingKeys) throws -> Int {
            let value = try c.decodeWholeNumber(forKey: key)
            guard value > 0 else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "expected a positive integer, found \(value)")
            }
            return value
        }
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType)
        architectures = try? c.decodeIfPresent([String].self, forKey: .architectures)  // informational only
        hiddenSize = try positive(.hiddenSize)
        numHiddenLayers = try positive(.numHiddenLayers)
        numAttentionHeads = try positive(.numAttentionHeads)
        intermediateSize = try positive(.intermediateSize)
        patchSize = try c.decode(SquareSize.self, forKey: .patchSize)
        imageSize = try c.decode(SquareSize.self, forKey: .imageSize)
        numChannels = try c.decodeWholeNumberIfPresent(forKey: .numChannels)
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct)
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps)
        if let eps = layerNormEps, !(eps > 0) {
            throw DecodingError.dataCorruptedError(forKey: .layerNormEps, in: c, debugDescription: "expected a positive number, found \(eps)")
        }
        qkvBias = try c.decodeIfPresent(Bool.self, forKey: .qkvBias)
        id2label = try c.decodeIfPresent([String: String].self, forKey: .id2label)
        numLabels = try c.decodeWholeNumberIfPresent(forKey: .numLabels)
        numFrames = try c.decodeWholeNumberIfPresent(forKey: .numFrames)
        tubeletSize = try c.decodeWholeNumberIfPresent(forKey: .tubeletSize)
        useMeanPooling = try c.decodeIfPresent(Bool.self, forKey: .useMeanPooling)
    }

    /// An image or patch size: an integer or an [h, w] pair (transformers accepts both).
    struct SquareSize: Decodable {
        var height: Int
        var width: Int

        init(from decoder: any Decoder) throws {
            let single = try decoder.singleValueContainer()
            if let side = try? single.decode(Int.self) {
                (height, width) = (side, side)
            } else if let pair = try? single.decode([Int].self), pair.count == 2 {
                (height, width) = (pair[0], pair[1])
            } else {
                throw DecodingError.dataCorruptedError(in: single, debugDescription: "expected a positive integer or [h, w]")
            }
            guard height > 0, width > 0 else {
                throw DecodingError.dataCorruptedError(in: single, debugDescription: "expected a positive integer or [h, w]")
            }
        }
    }
}
