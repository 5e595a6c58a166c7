// TrainingCurves: a metrics log (MetricsRecord lines) as stacked line-chart panels — loss, learning rate and
// train/validation accuracy against the epoch — drawn on one page (PNG, SVG or PDF).

/// Training curves from a metrics log: one ``LineChart`` panel per quantity present, stacked vertically.
///
/// Panels, each only when the log has such values: loss (`loss`, plus `val_loss` when logged), learning rate
/// (`lr`, no legend), and accuracy in percent (`train_acc`, `val_acc`). The x axis is the epoch (1-based as logged); when
/// an epoch has several records they are spread over it by their step.
public struct TrainingCurves: Sendable {
    /// The panels, top to bottom.
    public let charts: [LineChart]
    /// Distinct epochs in the log.
    public let epochCount: Int

    /// Curves of `records`; `source` (e.g. the file name) prefixes error messages.
    /// - Throws: ``SparseTuningError`` when there are no records or none has a loss, learning rate or accuracy.
    public init(records: [MetricsRecord], source: String = "metrics log") throws {
        guard !records.isEmpty else { throw SparseTuningError("\(source): no records to plot (empty log)") }
        let xs = TrainingCurves.positions(records)
        func series(_ name: String, _ value: (MetricsRecord) -> Double?) -> LineChart.Series? {
            let points = zip(xs, records).compactMap { x, r in value(r).map { (x: x, y: $0) } }
            return points.isEmpty ? nil : LineChart.Series(name: name, points: points)
        }
        var charts: [LineChart] = []
        let loss = [series("train loss") { $0.loss }, series("val loss") { $0.extra["val_loss"] }].compactMap { $0 }
        if !loss.isEmpty { charts.append(LineChart(title: "Loss", xLabel: "epoch", yLabel: "loss", series: loss)) }
        if let lr = series("", { $0.lr }) {  // one line: no legend needed
            charts.append(LineChart(title: "Learning rate", xLabel: "epoch", yLabel: "lr", series: [lr]))
        }
        let accuracy = [series("train") { $0.trainAccuracy.map { 100 * $0 } },
                        series("val") { $0.valAccuracy.map { 100 * $0 } }].compactMap { $0 }
        if !accuracy.isEmpty {
            charts.append(LineChart(title: "Accuracy", xLabel: "epoch", yLabel: "accuracy (%)", series: accuracy))
        }
        guard !charts.isEmpty else {
            throw SparseTuningError("\(source): \(records.count) records but no loss, lr, train_acc or val_acc values to plot")
        }
        self.charts = charts
        epochCount = Set(records.map(\.epoch)).count
    }

    /// The x position of each record: its epoch, or, when an epoch has several records, a fraction of the way
    /// from the previous epoch by step (the epoch's last record at the epoch itself).
    static func positions(_ records: [MetricsRecord]) -> [Double] {
        var lastStep: [Int: Int] = [:], firstStep: [Int: Int] = [:], count: [Int: Int] = [:]
        for r in records {
            lastStep[r.epoch] = max(lastStep[r.epoch] ?? r.step, r.step)
            firstStep[r.epoch] = min(firstStep[r.epoch] ?? r.step, r.step)
            count[r.epoch, default: 0] += 1
        }
        let epochs = lastStep.keys.sorted()
        var previousEnd: [Int: Int] = [:]
        for (i, e) in epochs.enumerated() { previousEnd[e] = i > 0 ? lastStep[epochs[i - 1]]! : nil }
        return records.map { r in
            guard count[r.epoch]! > 1 else { return Double(r.epoch) }
            let end = lastStep[r.epoch]!
            // Without the previous epoch in the log, assume the epoch began one record spacing before its first.
            let first = firstStep[r.epoch]!
            let start = previousEnd[r.epoch] ?? first - max(1, (end - first) / (count[r.epoch]! - 1))
            guard end > start else { return Double(r.epoch) }
            return Double(r.epoch - 1) + Double(r.step - start) / Double(end - start)
        }
    }

    /// The panels stacked on one page `width` wide, each `panelHeight` tall (each at least 1).
    public func figure(width: Int = 800, panelHeight: Int = 320) -> Figure {
        let w = max(1, width), ph = max(1, panelHeight)
        return Figure(width: w, height: ph * charts.count) { ctx in
            for (i, chart) in charts.enumerated() {
                ctx.saved {
                    ctx.translate(x: 0, y: Double(i * ph))
                    chart.draw(in: ctx, width: w, height: ph)
                }
            }
        }
    }
}
