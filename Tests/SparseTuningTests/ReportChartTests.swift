// Report charts: nice ticks; LineChart through cairo as PNG, SVG and PDF (signatures, PNG decoded back and its
// pixels checked where the background, a data point and the title must be), write errors, training-curve panels,
// and degenerate inputs (empty, one point, equal x, NaN) in every format.
import XCTest
import Foundation
@testable import SparseTuning

/// Where to keep rendered figures for viewing by hand (`REPORT_VIEW_DIR=/tmp/view swift test --filter Report`).
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

/// The colour of pixel (`x`, `y`).
func pixel(_ image: RGBImage, _ x: Int, _ y: Int) -> RGBColor {
    let i = (y * image.width + x) * 3
    return RGBColor(image.pixels[i], image.pixels[i + 1], image.pixels[i + 2])
}

/// `bytes` as text, one character per byte.
func latin1<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
    String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
}

/// `figure` as PNG, decoded back by the package's own PNG decoder.
func decodedPNG(_ figure: Figure) throws -> RGBImage {
    try PNGDecoder.decode(Data(figure.render(.png)), name: "figure.png")
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

    /// Two short series far apart, so every point has its marker and no line crosses another's point.
    let sparse = LineChart(title: "Accuracy", xLabel: "epoch", yLabel: "accuracy (%)", series: [
        .init(name: "train", points: [(1, 80), (2, 85), (3, 90), (4, 92)]),
        .init(name: "val", points: [(1, 40), (2, 45), (3, 50), (4, 52)]),
    ])

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

    func testEachFormatHasItsSignatureByExtensionOrArgument() throws {
        let figure = sample.figure(width: 640, height: 400)
        let png = try figure.render(.png), svg = try figure.render(.svg), pdf = try figure.render(.pdf)
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertTrue(String(decoding: svg, as: UTF8.self).contains("<svg"))
        XCTAssertEqual(String(decoding: pdf.prefix(5), as: UTF8.self), "%PDF-")
        let dir = temporaryDirectory(self)
        for (name, magic) in [("c.png", "\u{89}PNG"), ("c.SVG", "<?xml"), ("c.pdf", "%PDF-")] {
            try figure.write(to: "\(dir)/\(name)")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name)"))
            XCTAssertEqual(latin1(bytes.prefix(5)).prefix(magic.count), Substring(magic), name)
        }
        // An explicit format wins over the extension.
        try figure.write(to: "\(dir)/chart.out", format: .pdf)
        XCTAssertEqual(String(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(dir)/chart.out")).prefix(5), as: UTF8.self), "%PDF-")
        XCTAssertThrowsError(try figure.write(to: "\(dir)/chart.jpg")) { XCTAssertTrue("\($0)".contains("chart.jpg"), "\($0)") }
        XCTAssertEqual(try FigureFormat.list("png, SVG,png,pdf", flag: "--f"), [.png, .svg, .pdf])
        XCTAssertThrowsError(try FigureFormat.list("png,gif", flag: "--f")) { XCTAssertTrue("\($0)".contains("gif"), "\($0)") }
        if let view = reportViewPath("chart.png") { try figure.write(to: view) }
        if let view = reportViewPath("chart.svg") { try figure.write(to: view) }
        if let view = reportViewPath("chart.pdf") { try figure.write(to: view) }
    }

    func testPNGPixelsShowBackgroundSeriesAtTheirPointsAndTitleText() throws {
        let image = try decodedPNG(sparse.figure(width: 640, height: 400))
        if let view = reportViewPath("sparse.png") { try sparse.figure(width: 640, height: 400).write(to: view) }
        XCTAssertEqual(image.width, 640)
        XCTAssertEqual(image.height, 400)
        XCTAssertEqual(pixel(image, 0, 0), .white)
        XCTAssertEqual(pixel(image, 639, 399), .white)
        XCTAssertGreaterThan(colourCounts(image)[.white] ?? 0, 640 * 400 / 2, "mostly white background")
        // Each series' marker covers the page point of each of its data points.
        let l = sparse.layout(width: 640, height: 400)
        for (i, series) in sparse.series.enumerated() {
            for p in series.points {
                let (x, y) = (Int(l.px(p.x)), Int(l.py(p.y)))
                XCTAssertEqual(pixel(image, x, y), .series(i), "series \(i) at (\(p.x), \(p.y)) → pixel (\(x), \(y))")
            }
        }
        XCTAssertNotEqual(pixel(image, Int(l.px(2.5)), Int(l.py(60))), .series(0), "no series where there is no data")
        // The axes are dark lines along the plot's left and bottom edges.
        let markedRows = sparse.series.map { Int(l.py($0.points[0].y)) }  // the series start on the y axis
        for y in stride(from: Int(l.plotY) + 2, to: Int(l.plotY + l.plotHeight), by: 7) where markedRows.allSatisfy({ abs($0 - y) > 6 }) {
            XCTAssertLessThan(pixel(image, Int(l.plotX) - 1, y).brightness, 60, "y axis at row \(y)")
        }
        for x in stride(from: Int(l.plotX) + 2, to: Int(l.plotX + l.plotWidth), by: 7) where pixel(image, x, Int(l.plotY + l.plotHeight)) != .series(1) {
            XCTAssertLessThan(pixel(image, x, Int(l.plotY + l.plotHeight)).brightness, 60, "x axis at column \(x)")
        }
        // Antialiased title text above the plot area (right of the y tick labels): dark pixels and greys strictly
        // between black and white.
        func titleBand(_ image: RGBImage) -> (dark: Int, grey: Int) {
            var dark = 0, grey = 0
            for y in 0...Int(l.titleBaseline) {
                for x in Int(l.plotX)..<image.width {
                    let c = pixel(image, x, y)
                    if c.brightness < 90 { dark += 1 }
                    if c.r == c.g && c.g == c.b && c.r > 0 && c.r < 255 { grey += 1 }
                }
            }
            return (dark, grey)
        }
        let band = titleBand(image)
        XCTAssertGreaterThan(band.dark, 50, "title glyphs")
        XCTAssertGreaterThan(band.grey, 20, "antialiased glyph edges")
        var untitled = sparse
        untitled.title = ""
        XCTAssertEqual(titleBand(try decodedPNG(untitled.figure(width: 640, height: 400))).dark, 0, "nothing drawn there without a title")
    }

    func testSVGAndPDFCarryTheText() throws {
        let svg = String(decoding: try sample.figure().render(.svg), as: UTF8.self)
        XCTAssertTrue(svg.contains("<svg") && svg.contains("width=\"800px\"") && svg.contains("height=\"500px\""), String(svg.prefix(400)))
        XCTAssertTrue(svg.contains("id=\"glyph"), "text drawn as glyphs")
        XCTAssertGreaterThan(svg.components(separatedBy: "xlink:href=\"#glyph").count, 40, "title, labels, ticks and legend")
        XCTAssertFalse(svg.contains("nan") || svg.contains("inf"))
        let pdf = latin1(try sample.figure().render(.pdf))
        XCTAssertTrue(pdf.contains("DejaVuSans"), "the DejaVu Sans font embedded")
        XCTAssertTrue(pdf.contains("/MediaBox [ 0 0 800 500 ]"), String(pdf.prefix(600)))
    }

    func testUnwritableDestinationThrowsNamingTheFileAndLeavesNoFile() throws {
        let dir = temporaryDirectory(self)
        let figure = sample.figure(width: 300, height: 200)
        for format in FigureFormat.allCases {
            let path = "\(dir)/no/such/dir/c.\(format.rawValue)"
            XCTAssertThrowsError(try figure.write(to: path)) { XCTAssertTrue("\($0)".contains(path), "\($0)") }
            XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        }
        // A directory in the way: the rename fails, the temporary file is removed.
        try FileManager.default.createDirectory(atPath: "\(dir)/taken.png", withIntermediateDirectories: false)
        XCTAssertThrowsError(try figure.write(to: "\(dir)/taken.png")) { XCTAssertTrue("\($0)".contains("taken.png"), "\($0)") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["taken.png"], "no temporary file left")
        // Pages beyond cairo's limits are refused with the file's name, not a crash.
        XCTAssertThrowsError(try sample.figure(width: 40_000, height: 10).write(to: "\(dir)/wide.png")) {
            XCTAssertTrue("\($0)".contains("wide.png"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/wide.png"))
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
        let image = try decodedPNG(curves.figure(width: 500, panelHeight: 200))
        XCTAssertEqual(image.width, 500)
        XCTAssertEqual(image.height, 600)
        // Each panel draws its own loss/lr/accuracy series: the first colour appears in every third of the page.
        for panel in 0..<3 {
            let rows = (panel * 200)..<(panel * 200 + 200)
            let hits = rows.reduce(0) { n, y in n + (0..<500).filter { pixel(image, $0, y) == .series(0) }.count }
            XCTAssertGreaterThan(hits, 5, "panel \(panel)")
        }
    }

    func testDegenerateChartsRenderInEveryFormat() throws {
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
                let figure = chart.figure(width: w, height: h)
                let image = try decodedPNG(figure)
                XCTAssertEqual(image.width, max(1, w), name)
                XCTAssertEqual(image.height, max(1, h), name)
                let svg = String(decoding: try figure.render(.svg), as: UTF8.self)
                XCTAssertTrue(svg.hasSuffix("</svg>\n"), name)
                XCTAssertFalse(svg.contains("nan") || svg.contains("inf"), name)
                XCTAssertEqual(String(decoding: try figure.render(.pdf).prefix(5), as: UTF8.self), "%PDF-", name)
            }
        }
        // One point shows as a marker.
        let one = LineChart(title: "", xLabel: "", yLabel: "", series: [.init(name: "a", points: [(3, 0.5)])])
        XCTAssertGreaterThan(colourCounts(try decodedPNG(one.figure()))[.series(0)] ?? 0, 10)
    }
}
