// The server and batcher under concurrent clients: answers equal one-by-one forward passes, batches mix tasks
// sharing a backbone, tasks are loaded and unloaded while others serve, and a graceful stop answers what is queued.
import Foundation
import Synchronization
import XCTest
@testable import SparseTuning
@testable import SparseTuningServer

final class ServerConcurrencyTests: XCTestCase {
    func testManyClientsOverTwoTasksGetTheirOwnForward() async throws {
        let fixture = try ServingFixture(self)
        let registry = try fixture.registry()
        try registry.load("a", path: try fixture.writeTask("a", classes: 3, seed: 1))
        try registry.load("b", path: try fixture.writeTask("b", classes: 5, seed: 2))
        try registry.load("lin", path: try fixture.writeTask("lin", method: .linear, classes: 2, seed: 3))
        let config = ServerConfiguration(batching: BatcherLimits(maxBatch: 8, maxWait: .milliseconds(20), queueCapacity: 256))
        let server = try await RunningServer(registry: registry, configuration: config)
        let names = ["a", "b", "lin"]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<36 {
                group.addTask {
                    let name = names[i % 3]
                    let images = fixture.images(1 + i % 3, seed: UInt64(100 + i))
                    let reply = try await server.send("POST", "/v2/models/{task}/infer", ["task": name], body: inferBody(images))
                    XCTAssertEqual(reply.status, 200, reply.text)
                    let expected = try registry.task(name)!.model.forward(images)
                    assertClose(try reply.json(InferReply.self).numbers, expected.values, atol: 1e-4, "request \(i) on \(name)")
                }
            }
            try await group.waitForAll()
        }
        try await server.stop()
    }

    /// Requests of two tasks on one backbone share forward passes, and each gets the logits of its own model.
    func testBatchesAcrossTwoTasksEqualOneByOne() async throws {
        let fixture = try ServingFixture(self)
        let registry = try fixture.registry()
        let a = try registry.load("a", path: try fixture.writeTask("a", classes: 3, seed: 1))
        let b = try registry.load("b", path: try fixture.writeTask("b", classes: 4, seed: 2))
        XCTAssertEqual(a.batchKey, b.batchKey)
        let batches = Mutex<[(images: Int, requests: Int)]>([])
        let batcher = Batcher(limits: BatcherLimits(maxBatch: 6, maxWait: .milliseconds(300), queueCapacity: 16),
                              observer: BatcherObserver(batchRan: { images, requests, _ in batches.withLock { $0.append((images, requests)) } }))
        let results = try await withThrowingTaskGroup(of: (Int, Tensor).self) { group in
            for i in 0..<6 {
                group.addTask {
                    let task = i % 2 == 0 ? a : b
                    return (i, try await batcher.submit(task, images: fixture.images(1, seed: UInt64(i)), deadline: .now + .seconds(30)))
                }
            }
            var out: [Int: Tensor] = [:]
            for try await (i, logits) in group { out[i] = logits }
            return out
        }
        for i in 0..<6 {
            let task = i % 2 == 0 ? a : b
            assertClose(results[i]!.values, try task.model.forward(fixture.images(1, seed: UInt64(i))).values, atol: 1e-5, "part \(i)")
        }
        let ran = batches.withLock { $0 }
        XCTAssertEqual(ran.reduce(0) { $0 + $1.images }, 6)
        XCTAssertLessThan(ran.count, 6, "requests should share passes: \(ran)")
        await batcher.shutdown()
        do {
            _ = try await batcher.submit(a, images: fixture.images(1, seed: 0), deadline: .now + .seconds(1))
            XCTFail("a stopped batcher accepted a request")
        } catch let e as BatcherError {
            XCTAssertEqual(e, .shuttingDown)
        }
    }

    func testLoadAndUnloadWhileServing() async throws {
        let fixture = try ServingFixture(self)
        let registry = try fixture.registry()
        let path = try fixture.writeTask("a", classes: 3, seed: 1)
        try registry.load("a", path: path)
        let server = try await RunningServer(registry: registry)
        let images = fixture.images(1, seed: 7)
        let allowed = Set([try ServedTask(name: "a", path: path, backbone: registry.backbone).model.forward(images).values,
                           try ServedTask(name: "a", path: try fixture.writeTask("a", classes: 3, seed: 9), backbone: registry.backbone)
                            .model.forward(images).values])
        let other = try fixture.writeTask("b", classes: 2, seed: 4)
        let replacement = "\(fixture.dir)/a-9.safetensors"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<24 {
                group.addTask {
                    let reply = try await server.send("POST", "/v2/models/{task}/infer", ["task": "a"], body: inferBody(images))
                    XCTAssertEqual(reply.status, 200, reply.text)
                    let numbers = try reply.json(InferReply.self).numbers
                    XCTAssertTrue(allowed.contains { maxAbsDiff($0, numbers) < 1e-5 }, "request \(i): logits of neither version")
                }
            }
            group.addTask {
                for round in 0..<3 {
                    let load = try await server.send("POST", "/v2/repository/models/{task}/load", ["task": "b"],
                                                     body: Data(#"{"parameters":{"path":"\#(other)"}}"#.utf8))
                    XCTAssertEqual(load.status, 200, load.text)
                    let swap = try await server.send("POST", "/v2/repository/models/{task}/load", ["task": "a"],
                                                     body: Data(#"{"parameters":{"path":"\#(round % 2 == 0 ? replacement : path)"}}"#.utf8))
                    XCTAssertEqual(swap.status, 200, swap.text)
                    let unload = try await server.send("POST", "/v2/repository/models/{task}/unload", ["task": "b"])
                    XCTAssertEqual(unload.status, 200)
                }
            }
            try await group.waitForAll()
        }
        try await server.stop()
    }

    /// A graceful stop answers every request already queued before the server returns.
    func testGracefulStopAnswersQueuedRequests() async throws {
        let fixture = try ServingFixture(self)
        let registry = try fixture.registry()
        try registry.load("a", path: try fixture.writeTask("a", classes: 3, seed: 1))
        let config = ServerConfiguration(batching: BatcherLimits(maxBatch: 64, maxWait: .milliseconds(800), queueCapacity: 64))
        let server = try await RunningServer(registry: registry, configuration: config)
        let body = inferBody(fixture.images(1, seed: 1))
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<6 {
                group.addTask { try await server.send("POST", "/v2/models/{task}/infer", ["task": "a"], body: body).status }
            }
            while server.server.batcher.waiting < 6 { try await Task.sleep(for: .milliseconds(10)) }
            try await server.stop()
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(statuses, [200, 200, 200, 200, 200, 200])
        do {
            let reply = try await server.raw("GET", "/v2/health/live")
            XCTFail("the stopped server answered \(reply.status)")
        } catch {}
    }
}
