// ChartLayout: where everything of a LineChart goes at one size — font sizes, margins fitted to the measured tick
// labels, plot area, ticks, series in page coordinates, and the legend in the emptiest corner of the plot.

/// The geometry of one ``LineChart`` on a `width` × `height` page.
struct ChartLayout {
    /// One series in page coordinates, split into runs at non-finite points.
    struct Line {
        var name: String
        var color: RGBColor
        var marker: MarkerShape
        var runs: [[(x: Double, y: Double)]]
        /// Whether every point gets a marker (else only isolated points, so dense lines stay readable).
        var showMarkers: Bool
    }

    /// The legend box and the baseline of each of its rows.
    struct Legend {
        var x: Double, y: Double, width: Double, height: Double
        var baselines: [Double]
        var padding: Double
        var swatchWidth: Double
    }

    let width: Double, height: Double
    /// Font size of tick labels, axis labels and the legend.
    let fontSize: Double
    /// Font sizes of the title and the axis labels: larger for the title, smaller when a text would not fit.
    let titleSize: Double, xLabelSize: Double, yLabelSize: Double
    /// The plot area (the data rectangle).
    let plotX: Double, plotY: Double, plotWidth: Double, plotHeight: Double
    let xTicks: AxisTicks, yTicks: AxisTicks
    let lines: [Line]
    let legend: Legend?
    let lineWidth: Double, markerRadius: Double, tickLength: Double, gap: Double
    /// Baselines of the title and the x label; the left edge of the rotated y label's glyphs (their cap side).
    let titleBaseline: Double, xLabelBaseline: Double, yLabelX: Double

    /// The layout of `chart` on a `width` × `height` page (each at least 1), text measured with `ctx`.
    init(chart: LineChart, width w: Int, height h: Int, measure ctx: FigureContext) {
        width = Double(max(1, w))
        height = Double(max(1, h))
        let size = max(7, min(16, min(width / 60, height / 28)))
        fontSize = size
        let pad = 0.9 * size
        gap = 0.4 * size
        tickLength = 0.35 * size
        lineWidth = max(1, 0.14 * size)
        markerRadius = 0.3 * size
        let cap = FigureContext.capHeight * size

        // Data ranges over every finite point.
        var xs: [Double] = [], ys: [Double] = []
        for series in chart.series {
            for p in series.points where p.x.isFinite && p.y.isFinite {
                xs.append(p.x)
                ys.append(p.y)
            }
        }
        xTicks = AxisTicks(min: xs.min() ?? 0, max: xs.max() ?? 1, target: max(2, min(10, Int(width / (7 * size)))))
        yTicks = AxisTicks(min: ys.min() ?? 0, max: ys.max() ?? 1, target: max(2, min(10, Int(height / (3.2 * size)))))

        // Text that must fit across the page shrinks.
        func fitted(_ text: String, _ preferred: Double, room: Double, bold: Bool = false) -> Double {
            let natural = ctx.textWidth(text, size: preferred, bold: bold)
            return natural <= room || natural == 0 ? preferred : max(1, preferred * room / natural)
        }
        titleSize = fitted(chart.title, 1.2 * size, room: width - 2 * pad, bold: true)
        xLabelSize = fitted(chart.xLabel, size, room: width - 2 * pad)
        yLabelSize = fitted(chart.yLabel, size, room: height - 2 * pad)

        // Margins.
        titleBaseline = pad + FigureContext.capHeight * titleSize
        let top = chart.title.isEmpty ? pad + cap / 2 : titleBaseline + 1.2 * size
        let yTickWidth = yTicks.labels.map { ctx.textWidth($0, size: size) }.max() ?? 0
        yLabelX = pad
        let left = pad + (chart.yLabel.isEmpty ? 0 : 1.2 * yLabelSize) + yTickWidth + gap + tickLength
        let lastXLabel = ctx.textWidth(xTicks.labels.last ?? "", size: size)
        let right = max(pad, lastXLabel / 2 + gap)
        let bottom = tickLength + gap + cap + (chart.xLabel.isEmpty ? 0 : 1.6 * size) + pad
        plotX = min(left, width - 1)
        plotY = min(top, height - 1)
        plotWidth = max(1, width - left - right)
        plotHeight = max(1, height - top - bottom)
        xLabelBaseline = plotY + plotHeight + tickLength + gap + cap + 1.6 * size

        // Series in page coordinates.
        let (x0, y0, pw, ph, xt, yt) = (plotX, plotY, plotWidth, plotHeight, xTicks, yTicks)
        func px(_ x: Double) -> Double { x0 + (x - xt.lower) / (xt.upper - xt.lower) * pw }
        func py(_ y: Double) -> Double { y0 + ph - (y - yt.lower) / (yt.upper - yt.lower) * ph }
        var lines: [Line] = []
        for (i, series) in chart.series.enumerated() {
            var runs: [[(x: Double, y: Double)]] = [], run: [(x: Double, y: Double)] = []
            for p in series.points {
                // Far-off points are clamped (cairo's fixed-point coordinates span about ±8·10⁶).
                let q = (x: px(p.x), y: py(p.y))
                if q.x.isFinite && q.y.isFinite {
                    run.append((min(max(q.x, -1e5), 1e5), min(max(q.y, -1e5), 1e5)))
                } else if !run.isEmpty {
                    runs.append(run)
                    run = []
                }
            }
            if !run.isEmpty { runs.append(run) }
            let count = runs.reduce(0) { $0 + $1.count }
            lines.append(Line(name: series.name, color: .series(i), marker: .series(i), runs: runs,
                              showMarkers: Double(count) * markerRadius * 3 <= pw))
        }
        self.lines = lines
        legend = ChartLayout.legend(lines: lines, plot: (plotX, plotY, plotWidth, plotHeight), size: size, gap: gap,
                                    measure: ctx)
    }

    /// The legend of the named `lines` in the corner of `plot` that covers the fewest line samples; nil without
    /// named lines.
    static func legend(lines: [Line], plot: (x: Double, y: Double, width: Double, height: Double), size: Double,
                       gap: Double, measure ctx: FigureContext) -> Legend? {
        let named = lines.filter { !$0.name.isEmpty }
        guard !named.isEmpty else { return nil }
        let padding = 0.5 * size, swatch = 2 * size, rowHeight = 1.4 * size
        let textWidth = named.map { ctx.textWidth($0.name, size: size) }.max() ?? 0
        let bw = padding + swatch + padding + textWidth + padding
        let bh = 2 * padding + Double(named.count) * rowHeight
        let inset = 2 * gap
        let corners = [(plot.x + plot.width - inset - bw, plot.y + inset), (plot.x + inset, plot.y + inset),
                       (plot.x + plot.width - inset - bw, plot.y + plot.height - inset - bh),
                       (plot.x + inset, plot.y + plot.height - inset - bh)]
        func covered(_ corner: (Double, Double)) -> Int {
            let (bx, by) = corner
            var n = 0
            for line in lines {
                for run in line.runs {
                    for (j, p) in run.enumerated() {
                        let q = j + 1 < run.count ? run[j + 1] : p
                        for k in 0..<8 {
                            let t = Double(k) / 8
                            let x = p.x + (q.x - p.x) * t, y = p.y + (q.y - p.y) * t
                            if x >= bx - 2 && x <= bx + bw + 2 && y >= by - 2 && y <= by + bh + 2 { n += 1 }
                        }
                    }
                }
            }
            return n
        }
        var best = corners[0], bestCount = Int.max
        for corner in corners {
            let n = covered(corner)
            if n < bestCount { (best, bestCount) = (corner, n) }
        }
        let firstBaseline = best.1 + padding + (rowHeight + FigureContext.capHeight * size) / 2
        return Legend(x: best.0, y: best.1, width: bw, height: bh,
                      baselines: (0..<named.count).map { firstBaseline + Double($0) * rowHeight },
                      padding: padding, swatchWidth: swatch)
    }

    /// Page x of data value `x`.
    func px(_ x: Double) -> Double { plotX + (x - xTicks.lower) / (xTicks.upper - xTicks.lower) * plotWidth }

    /// Page y of data value `y`.
    func py(_ y: Double) -> Double { plotY + plotHeight - (y - yTicks.lower) / (yTicks.upper - yTicks.lower) * plotHeight }

    /// The series shown in the legend, in order.
    var legendLines: [Line] { lines.filter { !$0.name.isEmpty } }
}
