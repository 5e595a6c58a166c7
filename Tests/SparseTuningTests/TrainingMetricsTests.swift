// The JSONL metrics log (write, read back, append and truncate on resume, cut-off last lines, errors) and the
// progress line (TTY redraws, plain periodic lines, running loss, img/s, ETA, duration format).
import XCTest
import Foundation
@testable import SparseTuning

final class TrainingMetricsTests: XCTestCase {
    // MARK: MetricsLog

    func testWriteAndReadBack() throws {
        let path = temporaryDirectory(self) + "/metrics.jsonl"
        let log = try MetricsLog(path: path)
        let a = MetricsRecord(epoch: 0, step: 13, loss: Double(Float(2.3025851)), lr: Double(Float(1e-3)),
                              trainAccuracy: 0.25, imagesPerSecond: 48.5, time: 12.75,
                              extra: ["grad_norm": 0.5, "keep_rate": 1], tags: ["phase": "train"])
        let b = MetricsRecord(epoch: 0, step: 13, valAccuracy: 0.7123456789012345, extra: ["val_loss": .nan],
                              tags: ["phase": "val \"q\""])
        try log.append(a)
        try log.append(b)
        // Each line is on disk as soon as it is appended (no buffering in the process).
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(text, """
            {"epoch":0,"grad_norm":0.5,"images_per_s":48.5,"keep_rate":1,"loss":2.3025851,"lr":0.001,"phase":"train",\
            "step":13,"time":12.75,"train_acc":0.25}
            {"epoch":0,"phase":"val \\"q\\"","step":13,"val_acc":0.7123456789012345,"val_loss":null}

            """)
        log.close()
        XCTAssertThrowsError(try log.append(a)) { XCTAssertEqual("\($0)", "\(path): the metrics log is closed") }

        let records = try MetricsLog.read(path)
        XCTAssertEqual(records.count, 2)
        var expectedA = a
        expectedA.loss = 2.3025851          // Float values come back as their decimal
        expectedA.lr = 0.001
        XCTAssertEqual(records[0], expectedA)
        var expectedB = b
        expectedB.extra = [:]               // a non-finite number is written as null and read as absent
        XCTAssertEqual(records[1], expectedB)
    }

    func testAppendModeDropsCutOffLinesAndRecordsAfterTheResumePoint() throws {
        let dir = temporaryDirectory(self)
        let path = dir + "/m.jsonl"
        do {
            let log = try MetricsLog(path: path, mode: .append(keepingThroughStep: nil))   // creates
            for step in [10, 20, 30] { try log.append(MetricsRecord(epoch: step / 10, step: step, loss: 1)) }
        }
        // A crash in the middle of a write leaves a partial line.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"epoch":4,"step":40,"lo"#.utf8))
        handle.closeFile()
        XCTAssertEqual(try MetricsLog.read(path).map(\.step), [10, 20, 30])     // the cut line is ignored

        do {
            let log = try MetricsLog(path: path, mode: .append(keepingThroughStep: 20))
            try log.append(MetricsRecord(epoch: 3, step: 25))
        }
        XCTAssertEqual(try MetricsLog.read(path).map(\.step), [10, 20, 25])
        do {
            let log = try MetricsLog(path: path, mode: .append(keepingThroughStep: nil))
            try log.append(MetricsRecord(epoch: 3, step: 26))
        }
        XCTAssertEqual(try MetricsLog.read(path).map(\.step), [10, 20, 25, 26])
        do { _ = try MetricsLog(path: path, mode: .create) }
        XCTAssertEqual(try MetricsLog.read(path), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["m.jsonl"])

        // A complete last object that only lacks its newline is kept; blank lines are skipped.
        try "\n{\"epoch\":1,\"step\":2}\n\n{\"epoch\":1,\"step\":3}".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try MetricsLog.read(path).map(\.step), [2, 3])
    }

    func testReadErrorsNameTheFileAndLine() throws {
        let dir = temporaryDirectory(self)
        let path = dir + "/m.jsonl"
        let cases: [(String, String)] = [
            ("{\"epoch\":0,\"step\":1}\nnot json\n", "\(path):2: not valid JSON"),
            ("[1]\n", "\(path):1: expected an object, found an array"),
            ("{\"epoch\":0}\n", "\(path):1: at \"step\": missing"),
            ("{\"epoch\":0.5,\"step\":1}\n", "\(path):1: at \"epoch\": expected a whole number, found 0.5"),
            ("{\"epoch\":0,\"step\":1,\"loss\":\"x\"}\n", "\(path):1: at \"loss\": expected a number, found a string"),
            ("{\"epoch\":0,\"step\":1,\"more\":[1]}\n", "\(path):1: at \"more\": expected a number or a string"),
        ]
        for (content, message) in cases {
            try content.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try MetricsLog.read(path)) { XCTAssertTrue("\($0)".hasPrefix(message), "\($0)\n\(message)") }
        }
        // Appending with a resume point parses the lines, so it reports the same errors.
        try "{\"epoch\":0,\"step\":1}\ngarbage\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try MetricsLog(path: path, mode: .append(keepingThroughStep: 5))) {
            XCTAssertTrue("\($0)".hasPrefix("\(path):2: not valid JSON"), "\($0)")
        }
        XCTAssertThrowsError(try MetricsLog.read(dir + "/none.jsonl")) { XCTAssertEqual("\($0)", "\(dir)/none.jsonl: no such file") }
        XCTAssertThrowsError(try MetricsLog.read(dir)) { XCTAssertEqual("\($0)", "\(dir): is not a regular file, expected a metrics log") }
        XCTAssertThrowsError(try MetricsLog(path: dir + "/no/dir/m.jsonl")) {
            XCTAssertTrue("\($0)".hasPrefix("\(dir)/no/dir/m.jsonl: cannot open the metrics log for writing"), "\($0)")
        }
        let log = try MetricsLog(path: path)
        XCTAssertThrowsError(try log.append(MetricsRecord(epoch: 0, step: 0, extra: ["loss": 1]))) {
            XCTAssertEqual("\($0)", "metrics log: extra key 'loss' is reserved for a named field")
        }
        XCTAssertThrowsError(try log.append(MetricsRecord(epoch: 0, step: 0, extra: ["k": 1], tags: ["k": "v"]))) {
            XCTAssertEqual("\($0)", "metrics log: tag key 'k' is already used by another field")
        }
    }

    // MARK: ProgressLine

    private final class Capture {
        var text = ""
        var now = 100.0
    }

    func testInteractiveProgressRedrawsInPlace() {
        let c = Capture()
        let line = ProgressLine(epochs: 2, stepsPerEpoch: 4, interactive: true, refreshInterval: 0.5,
                                output: { c.text += $0 }, clock: { c.now })
        line.beginEpoch(0)
        c.now += 1; line.update(epoch: 0, step: 1, loss: 2, lr: 1e-3, images: 8)
        XCTAssertEqual(c.text, "\repoch 1/2  step 1/4  loss 2.0000  lr 1.00e-03  8.0 img/s  ETA 0:00:07\u{1B}[K")
        c.text = ""
        c.now += 0.1; line.update(epoch: 0, step: 2, loss: 4, lr: 1e-3, images: 8)   // too soon: not drawn
        XCTAssertEqual(c.text, "")
        c.now += 0.9; line.update(epoch: 0, step: 3, loss: 6, lr: 5e-4, images: 8)
        // Running mean 4, 24 images in 2 s, 5 steps left at 2 s / 3 steps.
        XCTAssertEqual(c.text, "\repoch 1/2  step 3/4  loss 4.0000  lr 5.00e-04  12.0 img/s  ETA 0:00:03\u{1B}[K")
        c.text = ""
        line.message("saved checkpoint")
        XCTAssertEqual(c.text, "\r\u{1B}[Ksaved checkpoint\n")
        c.text = ""
        c.now += 0.01; line.update(epoch: 0, step: 4, loss: .nan, lr: 5e-4, images: 8)   // last step: always drawn
        XCTAssertTrue(c.text.hasPrefix("\repoch 1/2  step 4/4  loss 4.0000"), c.text)
        c.text = ""
        line.endEpoch("val acc 0.5")
        XCTAssertEqual(c.text, "\nval acc 0.5\n")
        c.text = ""
        line.beginEpoch(1)
        c.now += 2; line.update(epoch: 1, step: 1, loss: 1, lr: 1e-4, images: 4)
        XCTAssertTrue(c.text.contains("epoch 2/2  step 1/4  loss 1.0000  lr 1.00e-04  2.0 img/s  ETA 0:00:02"), c.text)
        c.text = ""
        c.now += 0.01; line.update(epoch: 1, step: 2, loss: 1, lr: 1e-4, images: 4)    // not drawn (throttled)
        line.endEpoch()
        XCTAssertTrue(c.text.hasPrefix("\repoch 2/2  step 2/4") && c.text.hasSuffix("\u{1B}[K\n"), c.text)
        c.text = ""
        line.finish()
        XCTAssertEqual(c.text, "")
    }

    func testPlainProgressPrintsPeriodicLines() {
        let c = Capture()
        let line = ProgressLine(epochs: 1, stepsPerEpoch: 100, interactive: false, plainInterval: 30,
                                output: { c.text += $0 }, clock: { c.now })
        for step in 1...100 {
            c.now += 1
            line.update(epoch: 0, step: step, loss: 1, lr: 0.01, images: 2)
        }
        let lines = c.text.split(separator: "\n")
        // Step 1, then every 30 s (steps 31, 61, 91); no carriage returns or escapes.
        XCTAssertEqual(lines.count, 4, c.text)
        XCTAssertTrue(lines[0].hasPrefix("epoch 1/1  step 1/100  loss 1.0000  lr 1.00e-02  2.0 img/s  ETA 0:01:39"))
        XCTAssertTrue(lines[3].hasPrefix("epoch 1/1  step 91/100"))
        XCTAssertFalse(c.text.contains("\r") || c.text.contains("\u{1B}"))
        c.text = ""
        line.endEpoch("done")
        XCTAssertTrue(c.text.hasPrefix("epoch 1/1  step 100/100") && c.text.hasSuffix("ETA 0:00:00\ndone\n"), c.text)
        c.text = ""
        line.message("note")
        line.finish()
        XCTAssertEqual(c.text, "note\n")
    }

    func testDurationFormat() {
        XCTAssertEqual(ProgressLine.formatDuration(0), "0:00:00")
        XCTAssertEqual(ProgressLine.formatDuration(59.6), "0:01:00")
        XCTAssertEqual(ProgressLine.formatDuration(3723), "1:02:03")
        XCTAssertEqual(ProgressLine.formatDuration(100 * 3600 + 5), "100:00:05")
        XCTAssertEqual(ProgressLine.formatDuration(-1), "-")
        XCTAssertEqual(ProgressLine.formatDuration(.infinity), "-")
        let line = ProgressLine(epochs: 3, stepsPerEpoch: 10, interactive: false, output: { _ in })
        XCTAssertNil(line.eta(epoch: 0, step: 0))
        XCTAssertEqual(line.render(epoch: 0, step: 0, loss: 0, lr: 0, imagesPerSecond: nil, eta: nil),
                       "epoch 1/3  step 0/10  loss 0.0000  lr 0.00e+00  - img/s  ETA -")
    }
}
