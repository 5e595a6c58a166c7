// `sparse-tune plot`: training curves (loss, learning rate, accuracy per epoch) from a metrics log, as PNG, SVG
// and/or PDF.
import ArgumentParser
import Foundation
import SparseTuning

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Plot training curves (loss, learning rate, train/val accuracy per epoch) from a metrics log.",
        discussion: "Reads the JSON Lines log written by `train --metrics` and draws one panel per quantity present, stacked. "
            + "The output goes next to the input by default (metrics.jsonl → metrics.png); the extension of --out "
            + "(.png, .svg or .pdf) picks the format, and --formats writes several formats side by side.")

    @Argument(help: "Metrics log (JSON Lines, one record per epoch).")
    var log: String
    @Option(help: "Output file: .png, .svg or .pdf, which picks the format (default: the log's path with .png).")
    var out: String?
    @Option(help: "Formats to write, comma-separated: png, svg and/or pdf; one file each, named as --out with each extension.")
    var formats: String?
    @Option(help: "Image width in pixels (points in PDF).")
    var width: Int = 800
    @Option(name: .customLong("panel-height"), help: "Height of each panel in pixels (points in PDF).")
    var panelHeight: Int = 320

    func run() throws {
        guard (200...8000).contains(width) else { throw SparseTuningError("--width must be in 200…8000 (got \(width))") }
        guard (100...4000).contains(panelHeight) else {
            throw SparseTuningError("--panel-height must be in 100…4000 (got \(panelHeight))")
        }
        let outFormat = try out.map { try FigureFormat(path: $0) }
        let chosen = try formats.map { try FigureFormat.list($0, flag: "--formats") } ?? [outFormat ?? .png]
        let base = out ?? log
        let outputs = chosen.map { (format: $0, path: outFormat == $0 ? base : pathReplacingExtension(base, with: $0.rawValue)) }
        let records = try MetricsLog.read(log)
        let curves = try TrainingCurves(records: records, source: log)
        let figure = curves.figure(width: width, panelHeight: panelHeight)
        for output in outputs { try figure.write(to: output.path, format: output.format) }
        let written = outputs.map(\.path)
        let panels = curves.charts.map(\.title).joined(separator: ", ")
        print("wrote \(written.joined(separator: " and ")): \(records.count) records, \(curves.epochCount) epochs; panels: \(panels)")
    }
}

/// `path` with its extension (if any) replaced by `ext`.
func pathReplacingExtension(_ path: String, with ext: String) -> String {
    let url = URL(fileURLWithPath: path)
    let name = url.lastPathComponent
    let stem = name.contains(".") && !name.hasPrefix(".") ? String(name[..<name.lastIndex(of: ".")!]) : name
    let dir = (path as NSString).deletingLastPathComponent
    return dir.isEmpty ? "\(stem).\(ext)" : "\(dir)/\(stem).\(ext)"
}
