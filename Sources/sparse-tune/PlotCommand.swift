// `sparse-tune plot`: training curves (loss, learning rate, accuracy per epoch) from a metrics log, as PNG or SVG.
import ArgumentParser
import Foundation
import SparseTuning

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Plot training curves (loss, learning rate, train/val accuracy per epoch) from a metrics log.",
        discussion: "Reads the JSON Lines log written by `train --metrics` and draws one panel per quantity present, stacked. "
            + "The output goes next to the input by default (metrics.jsonl → metrics.png).")

    @Argument(help: "Metrics log (JSON Lines, one record per epoch).")
    var log: String
    @Option(help: "Output image: .png, or .svg for SVG only (default: the log's path with .png).")
    var out: String?
    @Flag(help: "Also write an SVG (same name, .svg) next to the PNG.")
    var svg = false
    @Option(help: "Image width in pixels.")
    var width: Int = 800
    @Option(name: .customLong("panel-height"), help: "Height of each panel in pixels.")
    var panelHeight: Int = 320

    func run() throws {
        guard (200...8000).contains(width) else { throw SparseTuningError("--width must be in 200…8000 (got \(width))") }
        guard (100...4000).contains(panelHeight) else {
            throw SparseTuningError("--panel-height must be in 100…4000 (got \(panelHeight))")
        }
        let output = out ?? pathReplacingExtension(log, with: "png")
        let ext = URL(fileURLWithPath: output).pathExtension.lowercased()
        guard ext == "png" || ext == "svg" else {
            throw SparseTuningError("--out \(output): expected a .png or .svg file name")
        }
        let records = try MetricsLog.read(log)
        let curves = try TrainingCurves(records: records, source: log)
        var written: [String] = []
        if ext == "png" {
            try curves.writePNG(to: output, width: width, panelHeight: panelHeight)
            written.append(output)
        }
        if ext == "svg" || svg {
            let path = ext == "svg" ? output : pathReplacingExtension(output, with: "svg")
            try curves.writeSVG(to: path, width: width, panelHeight: panelHeight)
            written.append(path)
        }
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
