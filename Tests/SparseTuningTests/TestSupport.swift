// Shared test helpers: fixture paths, temporary directories and tolerance checks.
import XCTest
import Foundation
@testable import SparseTuning

/// Absolute path of a committed fixture under Tests/SparseTuningTests/Fixtures.
func fixturePath(_ name: String, file: StaticString = #filePath) -> String {
    let here = URL(fileURLWithPath: "\(file)").deletingLastPathComponent()
    return here.appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

/// A fresh empty temporary directory, removed when the test case finishes.
func temporaryDirectory(_ testCase: XCTestCase) -> String {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("sparse-tuning-tests-\(UUID().uuidString)").path
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// Largest absolute difference between two equal-length float sequences.
func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
    return m
}

/// Asserts `max|a-b| <= atol + rtol * max|b|` and reports the worst element.
func assertClose(_ a: [Float], _ b: [Float], atol: Float = 1e-5, rtol: Float = 1e-5,
                 _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): length", file: file, line: line)
    guard a.count == b.count else { return }
    let scale = b.reduce(Float(0)) { max($0, abs($1)) }
    let d = maxAbsDiff(a, b)
    XCTAssertLessThanOrEqual(d, atol + rtol * scale, "\(what): max abs diff \(d) (scale \(scale))", file: file, line: line)
}

/// A committed safetensors fixture, read fully; `self[name]` is a tensor and `meta(key)` a metadata value.
struct Fixture {
    let file: SafetensorsFile
    let tensors: [String: Tensor]
    init(_ name: String) throws {
        file = try SafetensorsFile.open(fixturePath(name))
        tensors = try file.loadAll()
    }
    subscript(_ name: String) -> Tensor {
        guard let t = tensors[name] else { fatalError("fixture \(file.path) has no tensor '\(name)'") }
        return t
    }
    func meta(_ key: String) -> String {
        guard let v = file.metadata[key] else { fatalError("fixture \(file.path) has no metadata '\(key)'") }
        return v
    }
    func int(_ key: String) -> Int { Int(meta(key))! }
}
