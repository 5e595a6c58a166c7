// The HTTP server end to end, in process on a loopback port: every endpoint of the Open Inference Protocol and the
// others, with answers equal to the model's own forward pass.
import Foundation
import XCTest
@testable import SparseTuning
@testable import SparseTuningServer

final class ServerEndpointsTests: XCTestCase {
    func testMetadataHealthInferPredictAndMetrics() async throws {
        let fixture = try ServingFixture(self)
        let registry = try fixture.registry()
        try registry.load("shapes", path: try fixture.writeTask("shapes", classes: 3, seed: 11))
        let server = try await RunningServer(registry: registry)

        let meta = try await server.send("GET", "/v2")
        XCTAssertEqual(meta.status, 200)
        XCTAssertTrue(meta.text.contains("\"model_repository\""), meta.text)
        let live = try await server.send("GET", "/v2/health/live")
        XCTAssertEqual(live.text, #"{"live":true}"#)
        let ready = try await server.send("GET", "/v2/health/ready")
        XCTAssertEqual(ready.status, 200)
        let model = try await server.send("GET", "/v2/models/{task}", ["task": "shapes"])
        XCTAssertEqual(model.status, 200)
        for part in ["\"FP32\"", "[-1,3,32,32]", "\"BYTES\"", "[-1,3]", "shapes-class2", "\"sparse-tuning\""] {
            XCTAssertTrue(model.text.contains(part), "\(part) in \(model.text)")
        }
        let modelReady = try await server.send("GET", "/v2/models/{task}/ready", ["task": "shapes"])
        XCTAssertEqual(modelReady.status, 200)

        // FP32 infer: the logits of the model's own forward pass.
        let images = fixture.images(2, seed: 3)
        let expected = try registry.task("shapes")!.model.forward(images)
        let infer = try await server.send("POST", "/v2/models/{task}/infer", ["task": "shapes"], body: inferBody(images),
                                          headers: ["X-Request-Id": "abc-1"])
        XCTAssertEqual(infer.status, 200, infer.text)
        XCTAssertEqual(infer.headers["x-request-id"], "abc-1")
        let reply = try infer.json(InferReply.self)
        XCTAssertEqual(reply.model_name, "shapes")
        XCTAssertEqual(reply.id, "r1")
        XCTAssertEqual(reply.outputs[0].shape, [2, 3])
        assertClose(reply.numbers, expected.values, atol: 1e-5, "infer logits")

        // Classification extension: top 2 as "value:index:label", on probabilities.
        let top = try await server.send("POST", "/v2/models/{task}/infer", ["task": "shapes"],
                                        body: inferBody(images, outputs: #"[{"name":"probabilities","parameters":{"classification":2}}]"#))
        XCTAssertEqual(top.status, 200, top.text)
        let topReply = try top.json(InferReply.self)
        XCTAssertEqual(topReply.outputs[0].datatype, "BYTES")
        XCTAssertEqual(topReply.outputs[0].shape, [2, 2])
        guard case .strings(let strings) = topReply.outputs[0].data else { return XCTFail("expected strings") }
        let best = (0..<3).max { expected[$0] < expected[$1] }!
        let parts = strings[0].split(separator: ":")
        XCTAssertEqual(parts.count, 3, strings[0])
        XCTAssertEqual(Int(parts[1]), best)
        XCTAssertEqual(String(parts[2]), "shapes-class\(best)")

        // A raw PNG to /v1 predict, and the same image as BYTES (base64) to infer: the same classes.
        let png = try fixture.png(seed: 4)
        let predict = try await server.send("POST", "/v1/tasks/{task}/predict", ["task": "shapes"], query: "?top=2", body: png,
                                            contentType: "image/png")
        XCTAssertEqual(predict.status, 200, predict.text)
        let ranked = try predict.json(PredictResponse.self)
        XCTAssertEqual(ranked.top.count, 2)
        let pngInput = try registry.task("shapes")!.inputs(encoded: [png], names: ["png"])
        let pngLogits = try registry.task("shapes")!.model.forward(pngInput)
        XCTAssertEqual(ranked.top[0].index, (0..<3).max { pngLogits[$0] < pngLogits[$1] }!)
        XCTAssertEqual(Double(ranked.top[0].score), Double(pngLogits[ranked.top[0].index]), accuracy: 1e-5)
        let bytesBody = Data(#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["\#(png.base64EncodedString())"]}]}"#.utf8)
        let bytes = try await server.send("POST", "/v2/models/{task}/infer", ["task": "shapes"], body: bytesBody)
        XCTAssertEqual(bytes.status, 200, bytes.text)
        assertClose(try bytes.json(InferReply.self).numbers, pngLogits.values, atol: 1e-5, "BYTES logits")

        let metrics = try await server.send("GET", "/metrics")
        XCTAssertEqual(metrics.status, 200)
        for part in [#"sparse_tune_requests_total{task="shapes",status="200"}"#, "sparse_tune_request_duration_seconds_bucket",
                     "sparse_tune_batch_images_bucket", "sparse_tune_queue_depth", "sparse_tune_batch_duration_seconds"] {
            XCTAssertTrue(metrics.text.contains(part), "\(part) in /metrics")
        }
        let openapi = try await server.send("GET", "/openapi.json")
        XCTAssertEqual(openapi.status, 200)
        XCTAssertEqual(openapi.text, OpenAPIDocument.json)
        try await server.stop()
    }

    func testRepositoryLoadReloadUnloadAndIndex() async throws {
        let fixture = try ServingFixture(self)
        let registry = try fixture.registry()
        let server = try await RunningServer(registry: registry)
        let first = try fixture.writeTask("dogs", classes: 2, seed: 21)
        let load = try await server.send("POST", "/v2/repository/models/{task}/load", ["task": "dogs"],
                                         body: Data(#"{"parameters":{"path":"\#(first)"}}"#.utf8))
        XCTAssertEqual(load.status, 200, load.text)
        let images = fixture.images(1, seed: 5)
        let before = try await server.send("POST", "/v2/models/{task}/infer", ["task": "dogs"], body: inferBody(images))
        XCTAssertEqual(before.status, 200, before.text)

        // The task file replaced on disk, then reloaded by name: the new tensors serve.
        let second = try fixture.writeTask("dogs", classes: 2, seed: 22)
        try FileManager.default.removeItem(atPath: first)
        try FileManager.default.moveItem(atPath: second, toPath: first)
        let reload = try await server.send("POST", "/v2/repository/models/{task}/load", ["task": "dogs"], body: nil)
        XCTAssertEqual(reload.status, 200, reload.text)
        let after = try await server.send("POST", "/v2/models/{task}/infer", ["task": "dogs"], body: inferBody(images))
        let reference = try ServedTask(name: "x", path: first, backbone: registry.backbone)
        assertClose(try after.json(InferReply.self).numbers, try reference.model.forward(images).values, atol: 1e-5, "reloaded")
        XCTAssertNotEqual(try after.json(InferReply.self).numbers, try before.json(InferReply.self).numbers)

        // A broken file: 400 naming it, and the loaded version goes on serving.
        let broken = "\(fixture.dir)/broken.safetensors"
        try Data("not a task".utf8).write(to: URL(fileURLWithPath: broken))
        let bad = try await server.send("POST", "/v2/repository/models/{task}/load", ["task": "dogs"],
                                        body: Data(#"{"parameters":{"path":"\#(broken)"}}"#.utf8))
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.error?.contains("broken.safetensors") ?? false, bad.text)
        let still = try await server.send("GET", "/v2/models/{task}/ready", ["task": "dogs"])
        XCTAssertEqual(still.status, 200)

        let unknown = try await server.send("POST", "/v2/repository/models/{task}/load", ["task": "cats"], body: nil)
        XCTAssertEqual(unknown.status, 404)
        let index = try await server.send("POST", "/v2/repository/index", body: nil)
        XCTAssertEqual(index.status, 200)
        XCTAssertTrue(index.text.contains(#""name":"dogs""#) && index.text.contains("READY"), index.text)
        let unload = try await server.send("POST", "/v2/repository/models/{task}/unload", ["task": "dogs"])
        XCTAssertEqual(unload.status, 200)
        let gone = try await server.send("POST", "/v2/models/{task}/infer", ["task": "dogs"], body: inferBody(images))
        XCTAssertEqual(gone.status, 404)
        let again = try await server.send("POST", "/v2/repository/models/{task}/unload", ["task": "dogs"])
        XCTAssertEqual(again.status, 404)
        let readyOnly = try await server.send("POST", "/v2/repository/index", body: Data(#"{"ready":true}"#.utf8))
        XCTAssertEqual(readyOnly.text, "[]")
        let all = try await server.send("POST", "/v2/repository/index", body: Data("{}".utf8))
        XCTAssertTrue(all.text.contains("UNAVAILABLE") && all.text.contains("unloaded"), all.text)
        try await server.stop()
    }

    /// Every route the server registers is in the OpenAPI document and the other way round; the committed
    /// docs/openapi.json is the served document.
    func testOpenAPIDocumentListsExactlyTheServedRoutes() throws {
        let fixture = try ServingFixture(self)
        let server = InferenceServer(registry: try fixture.registry(), configuration: ServerConfiguration())
        let documented = try openAPIPaths().flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } }
        XCTAssertEqual(Set(server.routes), Set(documented))
        XCTAssertEqual(server.routes.count, Set(server.routes).count)
        let committed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/openapi.json")
        XCTAssertEqual(try String(contentsOf: committed, encoding: .utf8), OpenAPIDocument.json + "\n",
                       "docs/openapi.json differs: run `sparse-tune serve --print-openapi > docs/openapi.json`")
    }
}

/// `Expect: 100-continue` (what curl sends before a body over 1 MB) is answered at once with 100 Continue.
final class ServerExpectContinueTests: XCTestCase {
    func testExpectContinueIsAnswered() async throws {
        let fixture = try ServingFixture(self)
        let registry = try fixture.registry()
        try registry.load("shapes", path: try fixture.writeTask("shapes", classes: 3, seed: 11))
        let server = try await RunningServer(registry: registry)
        let body = inferBody(fixture.images(1, seed: 2))
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)  // a missing answer fails the read instead of hanging
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(server.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(connected, 0)
        func send(_ data: Data) { data.withUnsafeBytes { _ = Glibc.send(fd, $0.baseAddress, data.count, 0) } }
        func receive() -> String {
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : ""
        }
        send(Data(("POST /v2/models/shapes/infer HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                   + "Content-Length: \(body.count)\r\nExpect: 100-continue\r\n\r\n").utf8))
        XCTAssertTrue(receive().hasPrefix("HTTP/1.1 100 Continue"), "no 100 Continue before the body")
        send(body)
        var reply = receive()
        while !reply.contains("\"outputs\"") { let more = receive(); if more.isEmpty { break }; reply += more }
        XCTAssertTrue(reply.hasPrefix("HTTP/1.1 200"), reply)
        try await server.stop()
    }
}
