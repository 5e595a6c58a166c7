// Helpers of the server tests: a tiny backbone and task files made on the spot, an in-process server on an
// ephemeral loopback port, and an HTTP client whose every answer is checked against the OpenAPI document.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import XCTest
@testable import SparseTuning
@testable import SparseTuningServer

/// Tiny task files on one tiny backbone (32×32 inputs, patch 8, width 32).
struct ServingFixture {
    let dir: String
    let backbone: String
    let config: ViTConfig

    init(_ testCase: XCTestCase) throws {
        dir = temporaryDirectory(testCase)
        (backbone, config) = try writeTinyBackbone(in: dir)
    }

    /// A task file of `method` with `classes` outputs whose trained tensors are random (seeded), on the backbone.
    func writeTask(_ name: String, method: TuningMethod = .sparseTuning, classes: Int, seed: UInt64) throws -> String {
        var vit = config
        vit.classes = classes
        let model = try TunedViT(backbone: VisionTransformer(config: vit, seed: nil), tuning: .defaults(for: method))
        try model.load(try Checkpoint.load(backbone).tensors, freshHead: true, headSeed: seed)
        var rng = SeededGenerator(seed: seed)
        for p in model.trainable {
            for i in 0..<p.value.count { p.value[i] = 0.05 * rng.normal() }
        }
        model.parametersUpdated()
        let names = (0..<classes).map { "\(name)-class\($0)" }
        let config = TaskConfig(vit: vit, tuning: model.tuning, classNames: names, backboneFingerprint: model.backboneFingerprint,
                                preprocessing: TaskPreprocessing(size: vit.imageSize, mode: .squash, normalization: .inception))
        let path = "\(dir)/\(name)-\(seed).safetensors"
        try TrainingCheckpoint.saveTask(model.taskStateDict(), configJSON: config.encoded(), to: path)
        return path
    }

    /// A registry on the backbone.
    func registry() throws -> TaskRegistry {
        let model = try TunedViT(backbone: VisionTransformer(config: config, seed: nil), tuning: .plain)
        try model.load(try Checkpoint.load(backbone).tensors)
        return TaskRegistry(backbone: model.backbone)
    }

    /// Random normalised inputs (B, 3, 32, 32).
    func images(_ count: Int, seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        let t = Tensor(zeros: [count, 3, config.imageSize, config.imageSize])
        for i in 0..<t.count { t[i] = rng.normal() }
        return t
    }

    /// A PNG of a synthetic image.
    func png(seed: UInt64) throws -> Data {
        let path = "\(dir)/image-\(seed).png"
        try PNGEncoder.write(try SyntheticImages(size: 40, classes: 2).sample(Int(seed), seed: seed).image, to: path)
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }
}

/// A server running in this process on a free loopback port.
final class RunningServer: @unchecked Sendable {
    let server: InferenceServer
    let port: Int
    private let run: Task<Void, any Error>
    private let session: URLSession

    init(registry: TaskRegistry, configuration: ServerConfiguration = ServerConfiguration()) async throws {
        var config = configuration
        config.host = "127.0.0.1"
        config.port = 0
        var logger = Logger(label: "test-server")
        logger.logLevel = .warning
        let server = InferenceServer(registry: registry, configuration: config, logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        run = Task { try await server.run { port in continuation.yield(port) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw SparseTuningError("the server did not start") }
        self.server = server
        self.port = port
        let sessionConfig = URLSessionConfiguration.ephemeral
        sessionConfig.httpMaximumConnectionsPerHost = 64
        sessionConfig.timeoutIntervalForRequest = 60
        session = URLSession(configuration: sessionConfig)
    }

    /// Stops the server gracefully and waits for it.
    func stop() async throws {
        await server.shutdownGracefully()
        try await run.value
    }

    /// The answer to one request: status, headers (lower-cased names) and body.
    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func json<T: Decodable>(_ type: T.Type) throws -> T { try JSONCoding.decode(type, from: body, source: "reply") }
        var error: String? { try? json(ErrorBody.self).error }
    }

    /// Sends `method` to the route `template` with `parameters` filled in (`query` appended), and checks that the
    /// status is one the OpenAPI document gives for that route.
    func send(_ method: String, _ template: String, _ parameters: [String: String] = [:], query: String = "", body: Data? = nil,
              contentType: String? = "application/json", headers: [String: String] = [:],
              file: StaticString = #filePath, line: UInt = #line) async throws -> Reply {
        var path = template
        for (k, v) in parameters { path = path.replacingOccurrences(of: "{\(k)}", with: v) }
        let reply = try await raw(method, path + query, body: body, contentType: contentType, headers: headers)
        let documented = try documentedStatuses(method, template)
        XCTAssertTrue(documented.contains(reply.status), "\(method) \(template) answered \(reply.status) (\(reply.text)), "
            + "not among the documented \(documented.sorted())", file: file, line: line)
        return reply
    }

    /// Sends a request to any path, unchecked.
    func raw(_ method: String, _ path: String, body: Data? = nil, contentType: String? = "application/json",
             headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.httpBody = body
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let session = self.session
        return try await withCheckedThrowingContinuation { continuation in
            session.dataTask(with: request) { data, response, error in
                guard let http = response as? HTTPURLResponse else {
                    continuation.resume(throwing: error ?? SparseTuningError("no HTTP response"))
                    return
                }
                var headers: [String: String] = [:]
                for (k, v) in http.allHeaderFields { headers["\(k)".lowercased()] = "\(v)" }
                continuation.resume(returning: Reply(status: http.statusCode, headers: headers, body: data ?? Data()))
            }.resume()
        }
    }
}

/// The status codes the OpenAPI document gives for `method` `template`.
func documentedStatuses(_ method: String, _ template: String) throws -> Set<Int> {
    let paths = try openAPIPaths()
    guard let operation = paths[template]?[method.lowercased()] else {
        throw SparseTuningError("\(method) \(template) is not in the OpenAPI document")
    }
    return Set(operation.responses.keys.compactMap(Int.init))
}

/// The document's paths: template → method → operation (only the responses are read).
func openAPIPaths() throws -> [String: [String: OpenAPIOperation]] {
    try JSONCoding.decode(OpenAPIPaths.self, from: OpenAPIDocument.json, source: "openapi.json").paths
}

struct OpenAPIPaths: Decodable {
    let paths: [String: [String: OpenAPIOperation]]
}

struct OpenAPIOperation: Decodable {
    let responses: [String: OpenAPIResponse]
}

struct OpenAPIResponse: Decodable {
    let description: String
}

/// An FP32 infer request body for `images`.
func inferBody(_ images: Tensor, outputs: String? = nil) -> Data {
    let data = images.values.map { "\($0)" }.joined(separator: ",")
    let shape = images.shape.map(String.init).joined(separator: ",")
    let outs = outputs.map { ",\"outputs\":\($0)" } ?? ""
    return Data("{\"id\":\"r1\",\"inputs\":[{\"name\":\"input\",\"shape\":[\(shape)],\"datatype\":\"FP32\",\"data\":[\(data)]}]\(outs)}".utf8)
}

/// The outputs of an infer reply.
struct InferReply: Decodable {
    struct Output: Decodable {
        let name: String
        let shape: [Int]
        let datatype: String
        let data: TensorData
    }
    let model_name: String
    let id: String?
    let outputs: [Output]

    var numbers: [Float] {
        guard case .numbers(let n) = outputs[0].data else { return [] }
        return n.map(Float.init)
    }
}
