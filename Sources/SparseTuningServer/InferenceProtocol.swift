// The Open Inference Protocol (KServe v2) messages this server reads and writes: server and model metadata, the
// inference request and response, tensors whose `data` is flat row-major (nested arrays are flattened), and the
// model-repository extension's index and load request.
import SparseTuning

/// A tensor's data: numbers for FP32, strings for BYTES (base64 of encoded images in JSON). Nested arrays
/// (the protocol allows them) are flattened row-major.
enum TensorData: Codable, Sendable, Equatable {
    case numbers([Double])
    case strings([String])

    init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let n = try? single.decode([Double].self) { self = .numbers(n); return }
        if let s = try? single.decode([String].self) { self = .strings(s); return }
        let nested = try single.decode([TensorData].self)
        var numbers: [Double] = [], strings: [String] = []
        for part in nested {
            switch part {
            case .numbers(let n): numbers += n
            case .strings(let s): strings += s
            }
        }
        guard numbers.isEmpty || strings.isEmpty else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "mixes numbers and strings"))
        }
        self = strings.isEmpty ? .numbers(numbers) : .strings(strings)
    }

    func encode(to encoder: any Encoder) throws {
        var single = encoder.singleValueContainer()
        switch self {
        case .numbers(let n): try single.encode(n)
        case .strings(let s): try single.encode(s)
        }
    }

    var count: Int {
        switch self {
        case .numbers(let n): return n.count
        case .strings(let s): return s.count
        }
    }
}

/// Parameters of a request, input or output: only the ones this server reads.
struct InferParameters: Codable, Sendable, Equatable {
    /// Classification extension: return the top `classification` classes as "value:index:label" strings.
    var classification: Int?
}

/// `POST /v2/models/{task}/infer` body.
struct InferRequest: Codable, Sendable {
    struct Input: Codable, Sendable {
        var name: String
        var shape: [Int]
        var datatype: String
        var parameters: InferParameters?
        var data: TensorData
    }
    struct RequestedOutput: Codable, Sendable {
        var name: String
        var parameters: InferParameters?
    }
    var id: String?
    var parameters: InferParameters?
    var inputs: [Input]
    var outputs: [RequestedOutput]?
}

/// `POST /v2/models/{task}/infer` answer.
struct InferResponse: Codable, Sendable {
    struct Output: Codable, Sendable {
        var name: String
        var shape: [Int]
        var datatype: String
        var data: TensorData
    }
    var modelName: String
    var id: String?
    var outputs: [Output]

    private enum CodingKeys: String, CodingKey {
        case modelName = "model_name", id, outputs
    }
}

/// `GET /v2`.
struct ServerMetadata: Codable, Sendable {
    var name: String
    var version: String
    var extensions: [String]
}

/// `GET /v2/models/{task}`: the inputs and outputs a task takes and gives, plus what it is.
struct ModelMetadata: Codable, Sendable {
    struct TensorMetadata: Codable, Sendable {
        var name: String
        var datatype: String
        var shape: [Int]
    }
    var name: String
    var versions: [String]
    var platform: String
    var inputs: [TensorMetadata]
    var outputs: [TensorMetadata]
    /// Not in the protocol: the task's method, class names and task file.
    var method: String
    var labels: [String]?
    var path: String
}

/// `POST /v2/repository/index` answer entries.
struct RepositoryEntry: Codable, Sendable {
    var name: String
    var state: String
    var reason: String
}

/// `POST /v2/repository/index` body (optional).
struct RepositoryIndexRequest: Codable, Sendable {
    var ready: Bool?
}

/// `POST /v2/repository/models/{name}/load` body: `{"parameters": {"path": "task.safetensors"}}` (optional when the
/// server knows the task's file).
struct RepositoryLoadRequest: Codable, Sendable {
    struct Parameters: Codable, Sendable {
        var path: String?
    }
    var parameters: Parameters?
}

/// `POST /v1/tasks/{task}/predict` answer.
struct PredictResponse: Codable, Sendable {
    var task: String
    var top: [RankedClass]
}
