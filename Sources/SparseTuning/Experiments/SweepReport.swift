// SweepReport: a sweep's outputs — sweep.csv and the accuracy-vs-GFLOPs and accuracy-vs-images/s charts (PNG, SVG
// and/or PDF), one line per sparsifying-blocks setting.
import Foundation

/// Tables and charts of a keep-rate / ts-layers sweep.
public struct SweepReport: Sendable {
    /// The measured points, in sweep order.
    public let points: [SweepPoint]
    /// The method swept (for titles).
    public let method: String

    /// File names written by ``write(to:)``.
    public static let csvName = "sweep.csv"
    public static let gflopsChart = "accuracy_vs_gflops"
    public static let throughputChart = "accuracy_vs_images_per_s"

    /// A report of `points`.
    public init(points: [SweepPoint], method: String) {
        self.points = points
        self.method = method
    }

    /// The CSV header.
    public static let csvHeader = "ts_layers,keep_rate,top1,top5,samples,gflops,images_per_s,trainable_params,train_seconds,trained"

    /// `sweep.csv`: one row per point; accuracies in percent, GFLOPs in fvcore's convention.
    public func csv() -> String {
        var lines = [Self.csvHeader]
        for p in points {
            lines.append([p.tsLayersText, String(format: "%.4g", p.keepRate), String(format: "%.2f", 100 * p.top1),
                          String(format: "%.2f", 100 * p.top5), String(p.samples), String(format: "%.4f", p.gflops),
                          String(format: "%.2f", p.imagesPerSecond), String(p.trainableParameters),
                          String(format: "%.1f", p.trainSeconds), p.trained ? "1" : "0"].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One series per sparsifying-blocks setting (in order of first appearance), its points sorted by `x`.
    func series(x: (SweepPoint) -> Double) -> [LineChart.Series] {
        var order: [String] = []
        var groups: [String: [SweepPoint]] = [:]
        for p in points {
            if groups[p.tsLayersText] == nil { order.append(p.tsLayersText) }
            groups[p.tsLayersText, default: []].append(p)
        }
        return order.map { key in
            let pts = groups[key]!.map { (x: x($0), y: 100 * $0.top1) }.sorted { $0.x < $1.x }
            return LineChart.Series(name: "ts-layers " + key.replacingOccurrences(of: "-", with: ","), points: pts)
        }
    }

    /// Top-1 accuracy against fvcore GFLOPs per image.
    public var gflopsChart: LineChart {
        LineChart(title: "\(method): accuracy vs GFLOPs (keep rate sweep)", xLabel: "GFLOPs per image (fvcore, 1 MAC = 1 FLOP)",
                  yLabel: "top-1 accuracy (%)", series: series { $0.gflops })
    }

    /// Top-1 accuracy against measured inference images/s.
    public var throughputChart: LineChart {
        LineChart(title: "\(method): accuracy vs throughput (keep rate sweep)", xLabel: "inference images/s",
                  yLabel: "top-1 accuracy (%)", series: series { $0.imagesPerSecond })
    }

    /// The chart formats written by default.
    public static let defaultChartFormats: [FigureFormat] = [.png, .svg]

    /// Writes `sweep.csv` and both charts in each of `chartFormats` into `directory`; returns the paths written.
    @discardableResult
    public func write(to directory: String, chartFormats: [FigureFormat] = defaultChartFormats) throws -> [String] {
        let csvPath = (directory as NSString).appendingPathComponent(Self.csvName)
        do {
            try AtomicFileWriter.write(csv(), to: csvPath)
        } catch {
            throw SparseTuningError("cannot write '\(csvPath)': \(error.localizedDescription)")
        }
        var written = [csvPath]
        for (name, chart) in [(Self.gflopsChart, gflopsChart), (Self.throughputChart, throughputChart)] {
            let figure = chart.figure(width: 900, height: 560)
            for format in chartFormats {
                let path = (directory as NSString).appendingPathComponent(name + "." + format.rawValue)
                try figure.write(to: path, format: format)
                written.append(path)
            }
        }
        return written
    }
}
