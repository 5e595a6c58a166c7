// `sparse-tune serve` as a process: it starts on a free port, answers, and stops cleanly on SIGTERM; bad flags and
// task files are one-line errors.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
@testable import SparseTuning

final class ServeCommandTests: XCTestCase {
    func testServeAnswersAndStopsOnSIGTERM() async throws {
        let fixture = try ServingFixture(self)
        let task = try fixture.writeTask("shapes", classes: 3, seed: 11)
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = [Bundle.main.bundleURL.appendingPathComponent("sparse-tune").path, repo.appendingPathComponent(".build/debug/sparse-tune").path]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try XCTUnwrap(binary, "sparse-tune binary not built"))
        p.arguments = ["serve", "--weights", fixture.backbone, "--task", "shapes=\(task)", "--port", "0", "--log-level", "warning", "--heads", "2"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        // Read stderr until the line naming the port.
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while !text.contains("serving "), Date() < deadline, p.isRunning {
            text += String(decoding: err.fileHandleForReading.availableData, as: UTF8.self)
        }
        let port = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("serving ") }?
            .split(separator: ":").last?.prefix { $0.isNumber }, text)
        let url = URL(string: "http://127.0.0.1:\(port)/v2/models/shapes/ready")!
        let (data, response) = try await URLSession.shared.data(from: url)
        XCTAssertEqual((response as? HTTPURLResponse)?.statusCode, 200, String(decoding: data, as: UTF8.self))
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        text += String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("stopped"), text)
    }

    func testServeRefusesBadFlagsAndTaskFiles() throws {
        let fixture = try ServingFixture(self)
        let task = try fixture.writeTask("shapes", classes: 3, seed: 11)
        try assertCLIError(["serve", "--weights", fixture.backbone, "--task", "shapes"], mentions: "is not NAME=task.safetensors")
        try assertCLIError(["serve", "--weights", fixture.backbone, "--task", "a b=\(task)"], mentions: "name 'a b' is not valid")
        try assertCLIError(["serve", "--weights", fixture.backbone, "--weights", task], mentions: "give it as --task NAME=")
        try assertCLIError(["serve", "--weights", fixture.backbone, "--max-batch", "0"], mentions: "--max-batch must be positive")
        try assertCLIError(["serve", "--task", "a=\(task)"], mentions: "serve needs --weights")
        let changed = try writeChangedBackbone(fixture.backbone, in: fixture.dir)
        try assertCLIError(["serve", "--weights", changed, "--heads", "2", "--task", "a=\(task)"], mentions: "was trained on backbone fnv1a64")
    }
}
