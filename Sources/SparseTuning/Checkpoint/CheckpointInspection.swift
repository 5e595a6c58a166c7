// What a checkpoint file holds (names, stored dtypes, shapes, metadata, parameter count), read from headers only.

/// A summary of a checkpoint file, for `inspect`-style listings.
public struct CheckpointInspection: Sendable {
    /// One stored tensor or array.
    public struct Row: Sendable, Equatable {
        /// Name as stored (safetensors name, or `.npz` array name without `.npy`).
        public let name: String
        /// Stored element type as the format spells it (`F32`, `BF16`, `<f4`, ...).
        public let dtype: String
        /// Dimensions, outermost first.
        public let shape: [Int]
        /// Number of elements.
        public let elementCount: Int
    }

    /// The inspected file.
    public let path: String
    /// Its format.
    public let format: CheckpointFormat
    /// Stored tensors in file order.
    public let rows: [Row]
    /// The safetensors `__metadata__` (empty for `.npz`).
    public let metadata: [String: String]
    /// For a Google `.npz` whose arrays map onto timm names: the architecture they describe.
    public let googleLayout: GoogleViTLayout?
    /// For a Google `.npz` or a Hugging Face ViT that does not map onto timm names: why not. Nil otherwise.
    public let mappingProblem: String?
    /// For a Hugging Face ViT: its config.json, when it reads.
    public var huggingFace: HuggingFaceViTConfig? = nil

    /// Total number of stored elements (parameters).
    public var totalParameters: Int { rows.reduce(0) { $0 + $1.elementCount } }
}

extension Checkpoint {
    /// Describes the checkpoint at `path` from its headers, without reading tensor data. For a Google `.npz`
    /// the rows are the raw arrays, and the result says whether (and as what layout) they map to timm names.
    /// - Throws: ``SparseTuningError`` naming the file when it cannot be read or is malformed.
    public static func inspect(_ path: String) throws -> CheckpointInspection {
        let path = try resolve(path)
        let file = try MappedFile(path: path)
        switch try format(of: file) {
        case .safetensors, .huggingFaceViT:
            let safetensors = try SafetensorsFile(file: file)
            let rows = safetensors.names.map { name in
                let entry = safetensors.entry(name)!
                return CheckpointInspection.Row(name: name, dtype: entry.dtype.rawValue, shape: entry.shape,
                                                elementCount: entry.elementCount)
            }
            if HuggingFaceViT.isHuggingFaceViT(safetensors.names) && !VideoMAE.isVideoMAE(safetensors.shapes) {
                var config: HuggingFaceViTConfig?
                var problem: String?
                do {
                    config = try HuggingFaceViTConfig.read(path: HuggingFaceViT.configPath(forWeights: path))
                } catch let error as SparseTuningError {
                    problem = error.message
                }
                return CheckpointInspection(path: path, format: .huggingFaceViT, rows: rows, metadata: safetensors.metadata,
                                            googleLayout: nil, mappingProblem: problem, huggingFace: config)
            }
            return CheckpointInspection(path: path, format: .safetensors, rows: rows, metadata: safetensors.metadata,
                                        googleLayout: nil, mappingProblem: nil)
        case .googleNPZ:
            let headers = try NPZ.headers(path: path)
            let rows = headers.map {
                CheckpointInspection.Row(name: $0.name, dtype: $0.header.descr, shape: $0.header.shape,
                                         elementCount: $0.header.elementCount)
            }
            var layout: GoogleViTLayout?
            var problem: String?
            do {
                layout = try GoogleViT.layout(of: Dictionary(uniqueKeysWithValues: rows.map { ($0.name, $0.shape) }),
                                              file: path)
            } catch let error as SparseTuningError {
                problem = error.message
            }
            return CheckpointInspection(path: path, format: .googleNPZ, rows: rows, metadata: [:],
                                        googleLayout: layout, mappingProblem: problem)
        }
    }
}

extension CheckpointInspection {
    /// The tensor shapes of a safetensors file's rows under timm's names (Meta's DINOv2 and VideoMAE layouts mapped).
    public static func timmShapes(_ rows: [Row]) -> [String: [Int]] {
        VideoMAE.timmShapes(MetaDINOv2.timmShapes(Dictionary(rows.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })))
    }
}
