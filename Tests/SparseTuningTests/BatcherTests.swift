// The Batcher alone: batches never exceed --max-batch images (a larger request runs alone), requests of
// different batch keys never share a pass, every request gets the rows of its own images, and a serial client is not
// held back by the batching wait.
import Foundation
import Synchronization
import XCTest
@testable import SparseTuning

final class BatcherTests: XCTestCase {
    func testBatchesRespectMaxBatchAndKeys() async throws {
        let fixture = try ServingFixture(self)
        let registry = try fixture.registry()
        let a = try registry.load("a", path: try fixture.writeTask("a", classes: 3, seed: 1))
        let lin = try registry.load("lin", path: try fixture.writeTask("lin", method: .linear, classes: 2, seed: 2))
        XCTAssertNotEqual(a.batchKey, lin.batchKey)
        let ran = Mutex<[Int]>([])
        let batcher = Batcher(limits: BatcherLimits(maxBatch: 4, maxWait: .milliseconds(200), queueCapacity: 32),
                              observer: BatcherObserver(batchRan: { images, _, _ in ran.withLock { $0.append(images) } }))
        // (task, images): 3 + 1 fit one pass of a; 6 exceeds max-batch and runs alone; lin never joins a's passes.
        let parts: [(ServedTask, Int)] = [(a, 3), (a, 1), (a, 6), (lin, 2), (lin, 2), (a, 2)]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, (task, n)) in parts.enumerated() {
                group.addTask {
                    let images = fixture.images(n, seed: UInt64(i))
                    let logits = try await batcher.submit(task, images: images, deadline: .now + .seconds(30))
                    XCTAssertEqual(logits.shape, [n, task.classes])
                    assertClose(logits.values, try task.model.forward(images).values, atol: 1e-5, "part \(i)")
                }
            }
            try await group.waitForAll()
        }
        let sizes = ran.withLock { $0 }
        XCTAssertEqual(sizes.reduce(0, +), 16)
        XCTAssertTrue(sizes.allSatisfy { $0 <= 4 || $0 == 6 }, "\(sizes)")
        XCTAssertTrue(sizes.contains(6), "\(sizes)")
        await batcher.shutdown()
    }

    /// A client that waits for each answer is not held back by --max-wait-ms after its first request.
    func testSerialClientDoesNotWaitForCompanions() async throws {
        let fixture = try ServingFixture(self)
        let registry = try fixture.registry()
        let a = try registry.load("a", path: try fixture.writeTask("a", classes: 3, seed: 1))
        let batcher = Batcher(limits: BatcherLimits(maxBatch: 8, maxWait: .seconds(2), queueCapacity: 8))
        let images = fixture.images(1, seed: 4)
        _ = try await batcher.submit(a, images: images, deadline: .now + .seconds(30))  // waits up to 2 s: no batch ran yet
        let start = ContinuousClock.now
        for _ in 0..<3 { _ = try await batcher.submit(a, images: images, deadline: .now + .seconds(30)) }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(2), "three serial requests after a lone one run at once")
        await batcher.shutdown()
    }
}
