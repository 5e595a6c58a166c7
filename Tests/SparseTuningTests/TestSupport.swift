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

/// Why a CLI test could not run: the `sparse-tune` binary is in none of the places looked at.
struct MissingBinaryError: Error, CustomStringConvertible {
    let searched: [String]
    var description: String {
        "sparse-tune binary not found; looked at: \(searched.joined(separator: ", ")) (build it with `swift build --build-tests`)"
    }
}

/// The built `sparse-tune`. A missing binary is a test failure (the error names every path looked at), never a skip:
/// the CLI tests must not pass by not running.
func sparseTuneBinary() throws -> String {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let candidates = [Bundle.main.bundleURL.appendingPathComponent("sparse-tune").path,
                      repo.appendingPathComponent(".build/debug/sparse-tune").path]
    guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw MissingBinaryError(searched: candidates)
    }
    return path
}

/// Runs the built `sparse-tune` with `args`; returns (exit code, stdout, stderr).
func runSparseTune(_ args: [String], environment: [String: String] = [:]) throws -> (Int32, String, String) {
    try runProcess(sparseTuneBinary(), args, environment: environment)
}

/// Runs `executable` with `args` (and `environment` added); returns (exit code, stdout, stderr).
func runProcess(_ executable: String, _ args: [String], environment: [String: String] = [:]) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    if !environment.isEmpty {
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// Asserts that `sparse-tune args` fails with exit 1 and one stderr line `error: …` mentioning `mentions`.
func assertCLIError(_ args: [String], mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let (code, _, err) = try runSparseTune(args)
    XCTAssertEqual(code, 1, "exit code for \(args)", file: file, line: line)
    XCTAssertTrue(err.hasPrefix("error: "), "stderr: \(err)", file: file, line: line)
    XCTAssertTrue(err.contains(mentions), "stderr should mention \(mentions): \(err)", file: file, line: line)
    XCTAssertEqual(err.split(separator: "\n").count, 1, "one line: \(err)", file: file, line: line)
}

/// A small random ViT (32×32 images, patch 8: 17 tokens) adapted by sparse-tuning — Dense Adapters of rank 8 and
/// EViT with keep rate `keepRate` at `tsLayers` — with every trainable tensor perturbed (fresh up projections are
/// zero, which would hide the adapters). Built twice with the same arguments, it is the same model.
func randomSparseModel(dim: Int = 32, depth: Int = 4, heads: Int = 2, mlp: Int = 64, classes: Int = 5,
                       keepRate: Double = 0.5, tsLayers: [Int] = [1, 2], dropPath: Double = 0,
                       seed: UInt64 = 1) throws -> TunedViT {
    let cfg = ViTConfig(dim: dim, depth: depth, heads: heads, mlpDim: mlp, patch: 8, imageSize: 32, classes: classes)
    var t = TuningConfig.defaults(for: .sparseTuning)
    t.keepRate = keepRate
    t.tsLayers = tsLayers
    t.rank = 8
    t.dropPath = dropPath
    let model = try TunedViT(backbone: VisionTransformer(config: cfg, seed: seed), tuning: t, seed: seed)
    var rng = SeededGenerator(seed: seed &+ 77)
    for p in model.trainable { for i in 0..<p.value.count { p.value[i] += 0.1 * rng.normal() } }
    model.parametersUpdated()
    return model
}

/// (batch, 3, 32, 32) standard-normal images.
func randomImages(batch: Int, size: Int = 32, seed: UInt64) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    let x = Tensor(zeros: [batch, 3, size, size])
    for i in 0..<x.count { x[i] = rng.normal() }
    return x
}

/// Elements whose bit patterns differ, and the largest absolute difference.
func bitDifferences(_ a: [Float], _ b: [Float]) -> (count: Int, maxAbs: Float) {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var n = 0
    var m: Float = 0
    for i in 0..<a.count where a[i].bitPattern != b[i].bitPattern {
        n += 1
        m = max(m, abs(a[i] - b[i]))
    }
    return (n, m)
}

/// Asserts that `a` and `b` are equal bit for bit, reporting how many elements differ and by how much.
func assertBitIdentical(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): length", file: file, line: line)
    guard a.count == b.count else { return }
    let d = bitDifferences(a, b)
    XCTAssertEqual(d.count, 0, "\(what): \(d.count) of \(a.count) elements differ (max abs diff \(d.maxAbs))", file: file, line: line)
}

/// `backbone` (a file) with `blocks.1.mlp.fc1.weight` shifted by 0.05, written to `dir`/changed.safetensors: the
/// same model shape under another fingerprint.
func writeChangedBackbone(_ backbone: String, in dir: String) throws -> String {
    var tensors = try Checkpoint.load(backbone).tensors
    let t = tensors["blocks.1.mlp.fc1.weight"]!.copy()
    for i in 0..<t.count { t[i] += 0.05 }
    tensors["blocks.1.mlp.fc1.weight"] = t
    let out = "\(dir)/changed.safetensors"
    try Safetensors.write(tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: out)
    return out
}
