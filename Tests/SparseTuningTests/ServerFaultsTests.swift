// The server under bad input and load: every error is {"error": …} with its documented status (400, 404, 413, 415,
// 422, 503 with Retry-After, 504), and nothing a client sends crashes it.
import Foundation
import XCTest
@testable import SparseTuning
@testable import SparseTuningServer

final class ServerFaultsTests: XCTestCase {
    func testBadRequestsGetTheirStatusAndAJSONError() async throws {
        let fixture = try ServingFixture(self)
        let registry = try fixture.registry()
        try registry.load("shapes", path: try fixture.writeTask("shapes", classes: 3, seed: 11))
        let server = try await RunningServer(registry: registry, configuration: ServerConfiguration(maxBodyBytes: 64 << 10))
        let task = ["task": "shapes"]
        func infer(_ json: String, contentType: String? = "application/json") async throws -> RunningServer.Reply {
            try await server.send("POST", "/v2/models/{task}/infer", task, body: Data(json.utf8), contentType: contentType)
        }
        let cases: [(json: String, status: Int, mentions: String)] = [
            ("{", 400, "not valid JSON"),
            (#"{"inputs": 3}"#, 400, "inputs"),
            (#"{"inputs": []}"#, 400, "no inputs"),
            (#"{"inputs":[{"name":"input","shape":[1,3,32,32],"datatype":"FP32","data":[1,2]}]}"#, 400, "but data has 2"),
            (#"{"inputs":[{"name":"input","shape":[1,3,2,1],"datatype":"FP32","data":[1,2,3,4,5,6]}]}"#, 422, "[B, 3, 32, 32]"),
            (#"{"inputs":[{"name":"input","shape":[2],"datatype":"INT32","data":[1,2]}]}"#, 422, "datatype 'INT32'"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["@@@"]}]}"#, 400, "not base64"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["aGVsbG8="]}]}"#, 400, "expected JPEG or PNG"),
            (#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":[1]}]}"#, 400, "must be strings"),
            (#"{"inputs":[{"name":"i","shape":[1],"datatype":"BYTES","data":["x"]},{"name":"j","shape":[1],"datatype":"BYTES","data":["y"]}]}"#, 422, "one input"),
            (#"{"inputs":[{"name":"input","shape":[1,3,2,1],"datatype":"FP32","data":[[1,2],[3,4],[5,6]]}]}"#, 422, "[B, 3, 32, 32]"),
            (#"{"inputs":[{"name":"input","shape":[-1],"datatype":"FP32","data":[]}]}"#, 400, "non-negative"),
            (#"{"inputs":[{"name":"input","shape":[4611686018427387904,4],"datatype":"FP32","data":[]}]}"#, 400, "too many"),
            (#"{"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"nope"}]}"#, 400, "unknown output"),
            (#"{"inputs":[{"name":"input","shape":[1,3,32,32],"datatype":"FP32","data":[1e39"#
                + String(repeating: ",0", count: 3071) + "]}]}", 422, "does not fit in FP32"),
            (#"{"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":"#
                + String(repeating: "[", count: 20000) + String(repeating: "]", count: 20000) + "}]}", 400, "request body"),
        ]
        for c in cases {
            let reply = try await infer(c.json)
            XCTAssertEqual(reply.status, c.status, "\(c.json): \(reply.text)")
            XCTAssertTrue(reply.error?.contains(c.mentions) ?? false, "\(c.json): \(reply.text) should mention \(c.mentions)")
        }
        let classification = try await server.send("POST", "/v2/models/{task}/infer", task,
                                                   body: inferBody(fixture.images(1, seed: 1), outputs: #"[{"name":"logits","parameters":{"classification":0}}]"#))
        XCTAssertEqual(classification.status, 400)
        let wrongType = try await infer("{}", contentType: "text/plain")
        XCTAssertEqual(wrongType.status, 415)
        XCTAssertTrue(wrongType.error?.contains("text/plain") ?? false, wrongType.text)
        let jsonImage = try await server.send("POST", "/v1/tasks/{task}/predict", task, body: Data("{}".utf8))
        XCTAssertEqual(jsonImage.status, 415)
        let garbage = try await server.send("POST", "/v1/tasks/{task}/predict", task, body: Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2]),
                                            contentType: "image/png")
        XCTAssertEqual(garbage.status, 400, garbage.text)
        let badTop = try await server.send("POST", "/v1/tasks/{task}/predict", task, query: "?top=x", body: try fixture.png(seed: 1),
                                           contentType: "image/png")
        XCTAssertEqual(badTop.status, 400)
        let oversize = try await server.send("POST", "/v2/models/{task}/infer", task, body: Data(repeating: 32, count: 100 << 10))
        XCTAssertEqual(oversize.status, 413, oversize.text)
        XCTAssertNotNil(oversize.error)
        let unknownTask = try await server.send("POST", "/v2/models/{task}/infer", ["task": "nope"], body: Data("{}".utf8))
        XCTAssertEqual(unknownTask.status, 404)
        XCTAssertTrue(unknownTask.error?.contains("'nope' is not loaded (loaded: shapes)") ?? false, unknownTask.text)
        let unknownModel = try await server.send("GET", "/v2/models/{task}", ["task": "nope"])
        XCTAssertEqual(unknownModel.status, 404)
        let unknownRoute = try await server.raw("GET", "/v3/nothing")
        XCTAssertEqual(unknownRoute.status, 404)
        XCTAssertEqual(unknownRoute.error, "no route GET /v3/nothing (GET /openapi.json lists them)")
        let wrongMethod = try await server.raw("GET", "/v2/models/shapes/infer")
        XCTAssertEqual(wrongMethod.status, 404)
        XCTAssertTrue(wrongMethod.error?.hasPrefix("no route GET /v2/models/shapes/infer") ?? false, wrongMethod.text)
        XCTAssertNotNil(unknownRoute.headers["x-request-id"])

        // Random bodies never crash the server.
        var rng = SeededGenerator(seed: 9)
        for i in 0..<40 {
            let bytes = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let reply = try await infer(String(decoding: bytes, as: UTF8.self) + (i % 2 == 0 ? "" : "}"))
            XCTAssertEqual(reply.status, 400, reply.text)
        }
        let stillUp = try await server.send("GET", "/v2/health/live")
        XCTAssertEqual(stillUp.status, 200)
        try await server.stop()
    }

    /// A full queue answers 503 with Retry-After; a request still queued at its time limit answers 504.
    func testFullQueueAndTimeLimit() async throws {
        let fixture = try ServingFixture(self)
        let registry = try fixture.registry()
        try registry.load("shapes", path: try fixture.writeTask("shapes", classes: 3, seed: 11))
        // Batches wait 1.5 s for a 64th image, so the first request holds the single queue place meanwhile.
        let config = ServerConfiguration(batching: BatcherLimits(maxBatch: 64, maxWait: .milliseconds(1500), queueCapacity: 1),
                                         timeout: .seconds(20), retryAfterSeconds: 2)
        let server = try await RunningServer(registry: registry, configuration: config)
        let body = inferBody(fixture.images(1, seed: 2))
        async let first = server.send("POST", "/v2/models/{task}/infer", ["task": "shapes"], body: body)
        try await Task.sleep(for: .milliseconds(400))
        let refused = try await server.send("POST", "/v2/models/{task}/infer", ["task": "shapes"], body: body)
        XCTAssertEqual(refused.status, 503, refused.text)
        XCTAssertEqual(refused.headers["retry-after"], "2")
        XCTAssertTrue(refused.error?.contains("queue is full") ?? false, refused.text)
        let firstReply = try await first
        XCTAssertEqual(firstReply.status, 200, firstReply.text)
        try await server.stop()

        let slow = ServerConfiguration(batching: BatcherLimits(maxBatch: 64, maxWait: .seconds(5), queueCapacity: 4), timeout: .milliseconds(300))
        let timing = try await RunningServer(registry: registry, configuration: slow)
        let start = ContinuousClock.now
        let late = try await timing.send("POST", "/v2/models/{task}/infer", ["task": "shapes"], body: body)
        XCTAssertEqual(late.status, 504, late.text)
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(3))
        try await timing.stop()
    }
}
