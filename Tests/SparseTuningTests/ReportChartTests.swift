// Report charts: the raster canvas, bitmap font, nice ticks, LineChart as PNG (decoded back) and as SVG, and
// degenerate inputs (empty, one point, equal x, NaN).
import XCTest
import Foundation
@testable import SparseTuning

/// Where to keep rendered images for viewing by hand (`REPORT_VIEW_DIR=/tmp/view swift test --filter Report`).
func reportViewPath(_ name: String) -> String? {
    guard let dir = ProcessInfo.processInfo.environment["REPORT_VIEW_DIR"], !dir.isEmpty else { return nil }
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return "\(dir)/\(name)"
}

/// Distinct colours of an image and how many pixels have each.
func colourCounts(_ image: RGBImage) -> [RGBColor: Int] {
    var counts: [RGBColor: Int] = [:]
    for i in stride(from: 0, to: image.pixels.count, by: 3) {
        counts[RGBColor(image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]), default: 0] += 1
    }
    return counts
}

final class ReportChartTests: XCTestCase {
    let sample = LineChart(title: "Training loss", xLabel: "epoch", yLabel: "loss", series: [
        .init(name: "train", points: ReportChartTests.decay(scale: 2.3, rate: 6, floor: 0.1)),
        .init(name: "val <&>", points: ReportChartTests.decay(scale: 2.4, rate: 7, floor: 0.25)),
    ])

    static func decay(scale: Double, rate: Double, floor: Double) -> [(x: Double, y: Double)] {
        var points: [(x: Double, y: Double)] = []
        for e in 1...20 {
            let x = Double(e)
            points.append((x: x, y: scale * exp(-x / rate) + floor))
        }
        return points
    }

    func testNiceTicksUseOneTwoFiveSteps() {
        let t = AxisTicks(min: 0.13, max: 0.97)
        XCTAssertEqual(t.step, 0.2, accuracy: 1e-12)
        XCTAssertEqual(t.lower, 0, accuracy: 1e-12)
        XCTAssertEqual(t.upper, 1, accuracy: 1e-12)
        XCTAssertEqual(t.labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        let e = AxisTicks(min: 1, max: 30)
        XCTAssertEqual(e.step, 10)
        XCTAssertEqual(e.labels, ["0", "10", "20", "30"])
        let big = AxisTicks(min: -1234, max: 5678, target: 4)
        XCTAssertEqual(big.step, 2000)
        XCTAssertEqual(big.labels.first, "-2000")
        XCTAssertEqual(AxisTicks(min: 0, max: 5e-5).labels.last, "5e-5")
        XCTAssertEqual(AxisTicks(min: 0, max: 1e-3).labels, ["0.0000", "0.0002", "0.0004", "0.0006", "0.0008", "0.0010"])
        for step in [0.03, 0.15, 0.4, 7.0, 3e7] {
            let n = AxisTicks.niceStep(step)
            let mantissa = n / pow(10, log10(n).rounded(.down))
            XCTAssertTrue([1, 2, 5].contains { abs(mantissa - $0) < 1e-9 }, "\(step) → \(n)")
            XCTAssertGreaterThanOrEqual(n, step)
        }
        // Degenerate ranges.
        let one = AxisTicks(min: 3, max: 3)
        XCTAssertLessThan(one.lower, 3)
        XCTAssertGreaterThan(one.upper, 3)
        let zero = AxisTicks(min: 0, max: 0)
        XCTAssertEqual(zero.lower, -1)
        XCTAssertEqual(zero.upper, 1)
        let nan = AxisTicks(min: .nan, max: 1)
        XCTAssertEqual(nan.lower, 0)
        XCTAssertEqual(nan.upper, 1)
        XCTAssertFalse(AxisTicks(min: -0.3, max: 0.3).labels.contains("-0.0"))
    }

    func testFontCoversPrintableASCII() {
        for code in 32...126 {
            XCTAssertTrue(BitmapFont.hasGlyph(Character(Unicode.Scalar(code)!)), "glyph for \(code)")
        }
        XCTAssertTrue(BitmapFont.hasGlyph("Σ"))
        XCTAssertEqual(BitmapFont.width(of: "abc", scale: 2), 34)
        var c = Canvas(width: 40, height: 20)
        c.text("Hi", x: 2, y: 2)
        let ink = (0..<20).flatMap { y in (0..<40).map { x in c.color(x: x, y: y) } }.filter { $0 == .ink }
        XCTAssertGreaterThan(ink.count, 10)
        XCTAssertEqual(c.color(x: 2, y: 2), .ink, "H starts at its top-left corner")
        XCTAssertEqual(c.color(x: 30, y: 10), .white)
    }

    func testCanvasLinesClipAndBlend() {
        var c = Canvas(width: 50, height: 30)
        c.setClip(x: 10, y: 0, width: 30, height: 30)
        c.line(from: (0, 15), to: (49, 15), color: .black, lineWidth: 2)
        XCTAssertEqual(c.color(x: 20, y: 14), .black)
        XCTAssertEqual(c.color(x: 20, y: 15), .black)
        XCTAssertEqual(c.color(x: 5, y: 15), .white, "clipped")
        XCTAssertEqual(c.color(x: 45, y: 15), .white, "clipped")
        XCTAssertEqual(c.color(x: 20, y: 10), .white)
        c.resetClip()
        // A diagonal anti-aliased line has partly covered (grey) pixels.
        c.line(from: (0, 0), to: (30, 29), color: .black, lineWidth: 1.5)
        XCTAssertTrue(colourCounts(c.image).keys.contains { $0.r > 0 && $0.r < 255 })
        // Non-finite and huge coordinates are ignored.
        c.line(from: (.nan, 0), to: (10, 10), color: .black)
        c.line(from: (-1e300, 0), to: (1e300, 10), color: .black)
        c.marker(.circle, x: .infinity, y: 3, size: 3, color: .black)
        c.fill(x: -5, y: -5, width: 8, height: 8, color: RGBColor(255, 0, 0))
        XCTAssertEqual(c.color(x: 0, y: 0), RGBColor(255, 0, 0))
        for shape in MarkerShape.allCases {
            var m = Canvas(width: 20, height: 20)
            m.marker(shape, x: 10, y: 10, size: 5, color: .black)
            XCTAssertEqual(m.color(x: 10, y: 10), .black, "\(shape) centre")
            XCTAssertEqual(m.color(x: 1, y: 1), .white, "\(shape) corner")
        }
    }

    func testChartPNGDecodesWithAxesAndSeriesColours() throws {
        let path = temporaryDirectory(self) + "/chart.png"
        try sample.writePNG(to: path, width: 640, height: 400)
        if let view = reportViewPath("chart.png") { try sample.writePNG(to: view) }
        if let view = reportViewPath("chart.svg") { try sample.writeSVG(to: view) }
        if let view = reportViewPath("sweep-like.png") {
            let series = [[3, 6, 9], [2, 5, 8], [4, 7, 10]].enumerated().map { i, layers in
                LineChart.Series(name: "ts-layers " + layers.map(String.init).joined(separator: ","),
                                 points: [0.5, 0.6, 0.7, 0.8, 0.9, 1.0].map { k in
                                     (x: 0.35 + 0.9 * k + 0.02 * Double(i), y: 60 + 30 * k - 5 * k * k + Double(i)) })
            }
            try LineChart(title: "sparse-tuning: accuracy vs GFLOPs (keep rate sweep) on a rather long title line here",
                          xLabel: "GFLOPs per image (fvcore, 1 MAC = 1 FLOP)", yLabel: "top-1 accuracy (%)", series: series)
                .writePNG(to: view)
        }
        let image = try ImageDecoder.decode(path: path)
        XCTAssertEqual(image.width, 640)
        XCTAssertEqual(image.height, 400)
        let counts = colourCounts(image)
        XCTAssertGreaterThan(counts.count, 10, "anti-aliasing and several colours")
        XCTAssertGreaterThan(counts[.white] ?? 0, 640 * 400 / 2, "mostly white background")
        XCTAssertGreaterThan(counts[.series(0)] ?? 0, 100, "first series colour present")
        XCTAssertGreaterThan(counts[.series(1)] ?? 0, 100, "second series colour present")
        // The axes are dark lines along the plot's left and bottom edges.
        let l = ChartLayout(chart: sample, width: 640, height: 400)
        let canvas = Canvas(image: image)
        for y in stride(from: l.plotY + 2, to: l.plotY + l.plotHeight, by: 7) {
            XCTAssertLessThan(canvas.color(x: l.plotX - 1, y: y).brightness, 60, "y axis at row \(y)")
        }
        for x in stride(from: l.plotX, to: l.plotX + l.plotWidth, by: 7) {
            XCTAssertLessThan(canvas.color(x: x, y: l.plotY + l.plotHeight).brightness, 60, "x axis at column \(x)")
        }
        XCTAssertEqual(l.xTicks.labels, ["0", "5", "10", "15", "20"])
    }

    func testChartSVGHasTextSeriesAndTicks() throws {
        let svg = sample.svg()
        XCTAssertTrue(svg.hasPrefix("<?xml"))
        XCTAssertTrue(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"500\""))
        XCTAssertTrue(svg.contains(">train</text>"))
        XCTAssertTrue(svg.contains(">val &lt;&amp;&gt;</text>"), "names escaped")
        XCTAssertTrue(svg.contains(">Training loss</text>"))
        XCTAssertTrue(svg.contains(">epoch</text>"))
        XCTAssertTrue(svg.contains(">loss</text>"))
        let l = ChartLayout(chart: sample, width: 800, height: 500)
        for label in l.xTicks.labels + l.yTicks.labels { XCTAssertTrue(svg.contains(">\(label)</text>"), label) }
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2)
        XCTAssertTrue(svg.contains(RGBColor.series(0).hex))
        XCTAssertTrue(svg.contains(RGBColor.series(1).hex))
        XCTAssertFalse(svg.contains("nan") || svg.contains("inf"))
        let path = temporaryDirectory(self) + "/chart.svg"
        try sample.writeSVG(to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), svg)
        XCTAssertThrowsError(try sample.writeSVG(to: temporaryDirectory(self) + "/no/such/dir/c.svg"))
    }

    func testTrainingCurvesPanelsAndEpochPositions() throws {
        XCTAssertThrowsError(try TrainingCurves(records: [], source: "m.jsonl")) { XCTAssertTrue("\($0)".contains("m.jsonl")) }
        XCTAssertThrowsError(try TrainingCurves(records: [MetricsRecord(epoch: 1, step: 3, imagesPerSecond: 9)], source: "m.jsonl"))
        let records = [MetricsRecord(epoch: 1, step: 10, loss: 2), MetricsRecord(epoch: 1, step: 20, loss: 1.8),
                       MetricsRecord(epoch: 2, step: 25, loss: 1.5), MetricsRecord(epoch: 2, step: 30, loss: 1.4, valAccuracy: 0.5),
                       MetricsRecord(epoch: 3, step: 40, loss: 1.2, lr: 0.1)]
        XCTAssertEqual(TrainingCurves.positions(records), [0.5, 1, 1.5, 2, 3])
        let curves = try TrainingCurves(records: records, source: "m.jsonl")
        XCTAssertEqual(curves.charts.map(\.title), ["Loss", "Learning rate", "Accuracy"])
        XCTAssertEqual(curves.charts[2].series.map(\.name), ["val"])
        XCTAssertEqual(curves.charts[2].series[0].points.map(\.y), [50])
        XCTAssertEqual(curves.epochCount, 3)
        let image = curves.render(width: 500, panelHeight: 200)
        XCTAssertEqual(image.width, 500)
        XCTAssertEqual(image.height, 600)
        let svg = curves.svg(width: 500, panelHeight: 200)
        XCTAssertEqual(svg.components(separatedBy: "<clipPath id=").count - 1, 3)
        XCTAssertTrue(svg.contains("id=\"panel2\"") && svg.contains("translate(0 400)"))
    }

    func testDegenerateChartsRenderWithoutCrashing() throws {
        let cases: [(String, [LineChart.Series])] = [
            ("empty", []),
            ("no points", [.init(name: "a", points: [])]),
            ("one point", [.init(name: "a", points: [(3, 0.5)])]),
            ("equal x", [.init(name: "a", points: [(2, 1), (2, 5), (2, 3)])]),
            ("constant", [.init(name: "a", points: [(0, 7), (1, 7), (2, 7)])]),
            ("NaN", [.init(name: "a", points: [(0, 1), (1, 2), (1.5, .nan), (2, 3), (3, 2.5), (.infinity, 4), (4, 2)]),
                     .init(name: "", points: [(.nan, .nan)])]),
            ("all NaN", [.init(name: "a", points: [(.nan, 1), (1, .nan)])]),
            ("huge", [.init(name: "a", points: [(0, -1e308), (1, 1e308)])]),
            ("tiny", [.init(name: "a", points: [(0, 1e-300), (1, 2e-300)])]),
            (String(repeating: "a very long title ", count: 20), [.init(name: String(repeating: "long name ", count: 30), points: [(0, 1), (1, 2)])]),
        ]
        for (name, series) in cases {
            let chart = LineChart(title: name, xLabel: "x", yLabel: "y", series: series)
            for (w, h) in [(800, 500), (120, 80), (1, 1), (0, -5)] {
                let image = chart.render(width: w, height: h)
                XCTAssertEqual(image.width, max(1, w), name)
                XCTAssertEqual(image.height, max(1, h), name)
                let svg = chart.svg(width: w, height: h)
                XCTAssertTrue(svg.hasSuffix("</svg>\n"), name)
                XCTAssertFalse(svg.contains("nan") || svg.contains("inf"), "\(name): \(svg.prefix(0))")
            }
        }
        // One point shows as a marker; NaN splits a line into two polylines.
        let one = LineChart(title: "", xLabel: "", yLabel: "", series: [.init(name: "a", points: [(3, 0.5)])])
        XCTAssertGreaterThan(colourCounts(one.render())[.series(0)] ?? 0, 10)
        let split = LineChart(title: "", xLabel: "", yLabel: "", series: cases[5].1)
        XCTAssertEqual(split.svg().components(separatedBy: "<polyline").count - 1, 2)
    }
}
