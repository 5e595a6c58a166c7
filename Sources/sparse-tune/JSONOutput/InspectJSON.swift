// `sparse-tune inspect --json`: a checkpoint's format, tensors, metadata and the architecture it states.
import SparseTuning

/// What `inspect --json` prints; `google_layout`, `huggingface_config`, `timm_architecture` and `mapping_problem`
/// only when known.
struct InspectJSON: Encodable {
    struct Tensor: Encodable {
        var name: String
        var dtype: String
        var shape: [Int]
    }

    struct GoogleLayout: Encodable {
        var dim: Int, depth: Int, heads: Int, mlp: Int, patch: Int, tokens: Int
        var headClasses: Nullable<Int>

        private enum CodingKeys: String, CodingKey { case dim, depth, heads, mlp, patch, tokens, headClasses = "head_classes" }
    }

    struct HuggingFaceConfig: Encodable {
        var file: String
        var architecture: Nullable<String>
        var dim: Int, depth: Int, heads: Int, mlp: Int, patch: Int, imageSize: Int
        var eps: Double
        var qkvBias: Bool
        var classNames: Nullable<[String]>

        private enum CodingKeys: String, CodingKey {
            case file, architecture, dim, depth, heads, mlp, patch, eps
            case imageSize = "image_size", qkvBias = "qkv_bias", classNames = "class_names"
        }
    }

    var file: String
    var format: String
    var parameters: Int
    var metadata: [String: String]
    var tensors: [Tensor]
    var googleLayout: GoogleLayout?
    var huggingfaceConfig: HuggingFaceConfig?
    /// A timm checkpoint's architecture as read from its shapes and config.json (docs/BACKBONES.md), with notes.
    var timmArchitecture: TimmArchitecture?
    var mappingProblem: String?

    struct TimmArchitecture: Encodable {
        var config: ViTConfig
        var statedBy: Nullable<String>
        var notes: [String]

        private enum CodingKeys: String, CodingKey { case config, notes, statedBy = "stated_by" }
    }

    private enum CodingKeys: String, CodingKey {
        case file, format, parameters, metadata, tensors
        case googleLayout = "google_layout", huggingfaceConfig = "huggingface_config", mappingProblem = "mapping_problem"
        case timmArchitecture = "timm_architecture"
    }

    init(file: String, _ info: CheckpointInspection, timm: (InferredArchitecture, statedBy: String?)? = nil) {
        timmArchitecture = timm.map { TimmArchitecture(config: $0.0.config, statedBy: Nullable($0.statedBy), notes: $0.0.notes) }
        self.file = file
        format = info.format.rawValue
        parameters = info.totalParameters
        metadata = info.metadata
        tensors = info.rows.map { Tensor(name: $0.name, dtype: $0.dtype, shape: $0.shape) }
        googleLayout = info.googleLayout.map {
            GoogleLayout(dim: $0.dim, depth: $0.depth, heads: $0.heads, mlp: $0.mlpDim, patch: $0.patchSize,
                         tokens: $0.tokens, headClasses: Nullable($0.headClasses))
        }
        huggingfaceConfig = info.huggingFace.map {
            HuggingFaceConfig(file: $0.file, architecture: Nullable($0.architecture), dim: $0.dim, depth: $0.depth,
                              heads: $0.heads, mlp: $0.mlpDim, patch: $0.patchSize, imageSize: $0.imageSize,
                              eps: Double($0.eps), qkvBias: $0.qkvBias, classNames: Nullable($0.classNames))
        }
        mappingProblem = info.mappingProblem
    }
}
