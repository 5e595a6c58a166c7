// Tests of BatchLoader: batch composition, drop-last, shuffling, normalisation, identical results for any thread
// count and prefetch depth, undecodable images (error or skip), bounded prefetch and clean cancellation.
import XCTest
import Foundation
@testable import SparseTuning

/// A synthetic source that counts image loads, can fail for chosen indices and can be slow.
private final class TestSource: ImageSource, @unchecked Sendable {
    let base: SyntheticDataset
    let failing: Set<Int>
    let delay: TimeInterval
    private let lock = NSLock()
    private var _loads = 0

    init(count: Int, size: Int = 12, failing: Set<Int> = [], delay: TimeInterval = 0) throws {
        base = try SyntheticDataset(count: count, size: size, classes: 3, seed: 5)
        self.failing = failing
        self.delay = delay
    }

    var loads: Int { lock.withLock { _loads } }
    var count: Int { base.count }
    var classNames: [String] { base.classNames }
    func label(_ i: Int) -> Int { base.label(i) }
    func describe(_ i: Int) -> String { "/data/img-\(i).jpg" }
    func image(_ i: Int) throws -> RGBImage {
        lock.withLock { _loads += 1 }
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        if failing.contains(i) { throw SparseTuningError("corrupt or truncated JPEG '/data/img-\(i).jpg': bad Huffman code") }
        // Vary the size so the crops and resizes differ between samples.
        let image = try base.image(i)
        return i % 2 == 0 ? image : image.resized(width: 12 + i % 5, height: 9 + i % 3)
    }
}

final class DataLoaderTests: XCTestCase {
    /// Every batch of one epoch (throws like the iterator).
    private func drain(_ iterator: EpochIterator) throws -> [Batch] {
        var batches: [Batch] = []
        while let batch = try iterator.next() { batches.append(batch) }
        return batches
    }

    func testSequentialBatchesAndDropLast() throws {
        let source = try TestSource(count: 10)
        let loader = try BatchLoader(source: source, batchSize: 4, shuffle: false, augmentation: .vtab(size: 8),
                                     normalization: .inception)
        XCTAssertEqual(loader.batchesPerEpoch, 3)
        let batches = try drain(loader.epoch(0))
        XCTAssertEqual(batches.map(\.count), [4, 4, 2])
        XCTAssertEqual(batches.flatMap(\.indices), Array(0..<10))
        XCTAssertEqual(batches.flatMap(\.labels), (0..<10).map { $0 % 3 })
        XCTAssertEqual(batches.map(\.number), [0, 1, 2])
        XCTAssertEqual(batches[2].images.shape, [2, 3, 8, 8])
        XCTAssertTrue(batches.allSatisfy { $0.epoch == 0 })

        let dropping = try BatchLoader(source: source, batchSize: 4, shuffle: false, dropLast: true,
                                       augmentation: .vtab(size: 8), normalization: .inception)
        XCTAssertEqual(dropping.batchesPerEpoch, 2)
        XCTAssertEqual(try drain(dropping.epoch(0)).map(\.count), [4, 4])
        let exact = try BatchLoader(source: try TestSource(count: 8), batchSize: 4, shuffle: false, dropLast: true,
                                    augmentation: .vtab(size: 8), normalization: .inception)
        XCTAssertEqual(try drain(exact.epoch(0)).map(\.count), [4, 4])
    }

    func testImagesAreNormalisedLikeThePreprocessor() throws {
        let source = try TestSource(count: 5)
        for mode in [ResizeMode.squash, .shortSideCrop(cropPct: 0.9)] {
            let loader = try BatchLoader(source: source, batchSize: 5, shuffle: false, augmentation: .eval(size: 10, mode: mode),
                                         normalization: .imagenet, workers: 2)
            let batch = try XCTUnwrap(try loader.epoch(0).next())
            let pre = ImagePreprocessor(size: 10, mode: mode, normalization: .imagenet)
            for i in 0..<5 {
                let expected = pre.tensor(try source.image(i)).values
                XCTAssertEqual(Array(batch.images.values[i * 300..<(i + 1) * 300]), expected, "sample \(i)")
            }
        }
    }

    func testShuffleIsASeededPermutationPerEpoch() throws {
        let source = try TestSource(count: 23)
        let loader = try BatchLoader(source: source, batchSize: 5, shuffle: true, augmentation: .vtab(size: 4),
                                     normalization: .inception, seed: 3)
        let e0 = try drain(loader.epoch(0)).flatMap(\.indices)
        let e1 = try drain(loader.epoch(1)).flatMap(\.indices)
        XCTAssertEqual(e0.sorted(), Array(0..<23))
        XCTAssertEqual(e1.sorted(), Array(0..<23))
        XCTAssertNotEqual(e0, e1)
        XCTAssertNotEqual(e0, Array(0..<23))
        XCTAssertEqual(e0, loader.order(epoch: 0))
        XCTAssertEqual(try drain(loader.epoch(0)).flatMap(\.indices), e0)
        let other = try BatchLoader(source: source, batchSize: 5, shuffle: true, augmentation: .vtab(size: 4),
                                    normalization: .inception, seed: 4)
        XCTAssertNotEqual(other.order(epoch: 0), e0)
        var g1 = loader.batchGenerator(epoch: 2, number: 1), g2 = loader.batchGenerator(epoch: 2, number: 1)
        XCTAssertEqual(g1.next(), g2.next())
    }

    func testIdenticalAcrossThreadCountsAndPrefetchDepths() throws {
        let source = try TestSource(count: 37, failing: [4, 17, 18, 36])
        func run(workers: Int, prefetch: Int) throws -> ([Batch], [SkippedImage]) {
            let loader = try BatchLoader(source: source, batchSize: 6, shuffle: true, dropLast: false,
                                         augmentation: try .timmTrain(size: 10), normalization: .inception, seed: 11,
                                         workers: workers, prefetch: prefetch, skipBadImages: true)
            var all: [Batch] = []
            for epoch in 0..<2 { all += try drain(loader.epoch(epoch)) }
            return (all, loader.skipped)
        }
        let (reference, referenceSkipped) = try run(workers: 0, prefetch: 1)
        XCTAssertEqual(reference.map(\.count).reduce(0, +), 2 * 33)
        XCTAssertEqual(referenceSkipped.count, 8)
        for (workers, prefetch) in [(1, 1), (2, 1), (3, 4), (5, 2)] {
            let (batches, skipped) = try run(workers: workers, prefetch: prefetch)
            XCTAssertEqual(batches.count, reference.count, "workers \(workers) prefetch \(prefetch)")
            for (a, b) in zip(batches, reference) {
                XCTAssertEqual(a.indices, b.indices)
                XCTAssertEqual(a.labels, b.labels)
                XCTAssertEqual(a.number, b.number)
                XCTAssertEqual(a.epoch, b.epoch)
                XCTAssertEqual(a.images.shape, b.images.shape)
                XCTAssertEqual(a.images.values, b.images.values, "workers \(workers) prefetch \(prefetch) batch \(a.number)")
            }
            XCTAssertEqual(skipped, referenceSkipped)
        }
        XCTAssertEqual(BatchLoader.liveThreads, 0)
    }

    func testUndecodableImageEndsTheEpochWithAnError() throws {
        let source = try TestSource(count: 12, failing: [5, 9])
        for workers in [0, 2] {
            let loader = try BatchLoader(source: source, batchSize: 4, shuffle: false, augmentation: .vtab(size: 6),
                                         normalization: .inception, workers: workers, prefetch: 3)
            let iterator = loader.epoch(0)
            XCTAssertEqual(try iterator.next()?.indices, [0, 1, 2, 3])
            assertThrowsMessage(try iterator.next(), contains: ["/data/img-5.jpg", "bad Huffman code"])
            assertThrowsMessage(try iterator.next(), contains: ["/data/img-5.jpg"])
            XCTAssertEqual(iterator.skippedCount, 0)
        }
        XCTAssertEqual(BatchLoader.liveThreads, 0)
    }

    func testSkipBadImagesFillsBatchesAndCounts() throws {
        let source = try TestSource(count: 12, failing: [1, 5, 6])
        for workers in [0, 3] {
            let loader = try BatchLoader(source: source, batchSize: 4, shuffle: false, augmentation: .vtab(size: 6),
                                         normalization: .inception, workers: workers, skipBadImages: true)
            let iterator = loader.epoch(0)
            XCTAssertEqual(try iterator.next()?.indices, [0, 2, 3, 4])
            XCTAssertEqual(iterator.skippedCount, 1)
            XCTAssertEqual(try iterator.next()?.indices, [7, 8, 9, 10])
            XCTAssertEqual(iterator.skippedCount, 3)
            XCTAssertEqual(try iterator.next()?.indices, [11])
            XCTAssertNil(try iterator.next())
            XCTAssertNil(try iterator.next())
            XCTAssertEqual(iterator.skipped.map(\.index), [1, 5, 6])
            XCTAssertEqual(iterator.skipped[1].source, "/data/img-5.jpg")
            XCTAssertTrue(iterator.skipped[1].message.contains("bad Huffman code"))
            XCTAssertEqual(loader.skippedCount, 3)
            _ = try drain(loader.epoch(1))
            XCTAssertEqual(loader.skippedCount, 6)
            XCTAssertEqual(loader.skipped.map(\.epoch), [0, 0, 0, 1, 1, 1])

            let dropping = try BatchLoader(source: source, batchSize: 4, shuffle: false, dropLast: true,
                                           augmentation: .vtab(size: 6), normalization: .inception, workers: workers,
                                           skipBadImages: true)
            XCTAssertEqual(try drain(dropping.epoch(0)).map(\.indices), [[0, 2, 3, 4], [7, 8, 9, 10]])
            XCTAssertEqual(dropping.skippedCount, 3)
        }
        // Failures after the last full batch are still counted once the epoch ends.
        let tail = try BatchLoader(source: try TestSource(count: 6, failing: [4, 5]), batchSize: 4, shuffle: false,
                                   augmentation: .vtab(size: 6), normalization: .inception, skipBadImages: true)
        let iterator = tail.epoch(0)
        XCTAssertEqual(try iterator.next()?.count, 4)
        XCTAssertEqual(iterator.skippedCount, 0)
        XCTAssertNil(try iterator.next())
        XCTAssertEqual(iterator.skippedCount, 2)
        XCTAssertEqual(BatchLoader.liveThreads, 0)
    }

    func testCorruptFileOnDisk() throws {
        let root = temporaryDirectory(self)
        try writePNG("\(root)/a/1.png", seed: 1)
        try writeText("\(root)/a/2.jpg", "garbage")
        try writePNG("\(root)/b/3.png", seed: 3)
        let folder = try ImageFolderDataset.open(root: root)
        let strict = try BatchLoader(source: folder, batchSize: 8, shuffle: false, augmentation: .vtab(size: 8),
                                     normalization: .inception)
        assertThrowsMessage(try strict.epoch(0).next(), contains: ["\(root)/a/2.jpg", "unrecognised image format"])
        let lenient = try BatchLoader(source: folder, batchSize: 8, shuffle: false, augmentation: .vtab(size: 8),
                                      normalization: .inception, skipBadImages: true)
        let batch = try XCTUnwrap(try lenient.epoch(0).next())
        XCTAssertEqual(batch.indices, [0, 2])
        XCTAssertEqual(batch.labels, [0, 1])
        XCTAssertEqual(lenient.skipped.map(\.source), ["\(root)/a/2.jpg"])
    }

    func testEarlyStopLeavesNoThreads() throws {
        let source = try TestSource(count: 200, delay: 0.001)
        let loader = try BatchLoader(source: source, batchSize: 4, shuffle: true, augmentation: .vtab(size: 6),
                                     normalization: .inception, workers: 3, prefetch: 2)
        do {
            let iterator = loader.epoch(0)
            XCTAssertNotNil(try iterator.next())
            XCTAssertGreaterThan(BatchLoader.liveThreads, 0)
        }  // dropped here
        XCTAssertEqual(BatchLoader.liveThreads, 0)

        let iterator = loader.epoch(1)
        XCTAssertNotNil(try iterator.next())
        iterator.cancel()
        XCTAssertEqual(BatchLoader.liveThreads, 0)
        XCTAssertNil(try iterator.next())

        for epoch in 0..<20 { _ = loader.epoch(epoch) }  // created and dropped before any batch
        XCTAssertEqual(BatchLoader.liveThreads, 0)
    }

    func testPrefetchIsBounded() throws {
        let source = try TestSource(count: 400)
        let loader = try BatchLoader(source: source, batchSize: 4, shuffle: false, augmentation: .vtab(size: 6),
                                     normalization: .inception, workers: 2, prefetch: 2)
        let iterator = loader.epoch(0)
        XCTAssertNotNil(try iterator.next())
        Thread.sleep(forTimeInterval: 0.3)
        // 4 delivered + 2 queued batches + 1 batch held by the assembler + lookahead max(4, 2·2).
        let loaded = source.loads
        XCTAssertGreaterThanOrEqual(loaded, 12)
        XCTAssertLessThanOrEqual(loaded, 4 + 8 + 4 + 4)
        var count = 1
        while try iterator.next() != nil { count += 1 }
        XCTAssertEqual(count, 100)
        XCTAssertEqual(source.loads, 400)
    }

    func testBackgroundLoadingOverlapsSlowImages() throws {
        // Sleeping loads need no CPU, so this measures overlap even on a 2-core machine.
        let source = try TestSource(count: 24, delay: 0.01)
        func time(workers: Int) throws -> TimeInterval {
            let loader = try BatchLoader(source: source, batchSize: 8, shuffle: false, augmentation: .vtab(size: 6),
                                         normalization: .inception, workers: workers, prefetch: 2)
            let start = Date()
            _ = try drain(loader.epoch(0))
            return Date().timeIntervalSince(start)
        }
        let sequential = try time(workers: 0), parallel = try time(workers: 4)
        XCTAssertLessThan(parallel, sequential * 0.7, "4 workers \(parallel) s vs inline \(sequential) s")
    }

    func testValidation() throws {
        let source = try TestSource(count: 3)
        assertThrowsMessage(try BatchLoader(source: try TestSource(count: 0), batchSize: 2, shuffle: false,
                                            augmentation: .vtab(size: 4), normalization: .inception),
                            contains: ["no samples"])
        assertThrowsMessage(try BatchLoader(source: source, batchSize: 0, shuffle: false, augmentation: .vtab(size: 4),
                                            normalization: .inception), contains: ["batch size must be at least 1"])
        assertThrowsMessage(try BatchLoader(source: source, batchSize: 2, shuffle: false, augmentation: .vtab(size: 4),
                                            normalization: .inception, workers: -1), contains: ["workers"])
        assertThrowsMessage(try BatchLoader(source: source, batchSize: 2, shuffle: false, augmentation: .vtab(size: 4),
                                            normalization: .inception, prefetch: 0), contains: ["prefetch"])
        assertThrowsMessage(try BatchLoader(source: source, batchSize: 4, shuffle: false, dropLast: true,
                                            augmentation: .vtab(size: 4), normalization: .inception),
                            contains: ["3 samples and batch size 4 leaves no batch"])
    }
}
