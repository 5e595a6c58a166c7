// ChartLayout: where everything of a LineChart goes for a given size — margins, plot area, ticks, pixel
// coordinates of the series, legend corner — computed once and shared by the raster and the SVG renderers.

/// The geometry of one ``LineChart`` at one size.
struct ChartLayout {
    /// One series in pixel coordinates, split into runs at non-finite points.
    struct Line {
        var name: String
        var color: RGBColor
        var marker: MarkerShape
        var runs: [[(x: Double, y: Double)]]
        var showMarkers: Bool
    }

    /// The legend box and its rows.
    struct Legend {
        var x: Int, y: Int, width: Int, height: Int
        /// Per row: top of the text line.
        var rowTops: [Int]
        var swatchWidth: Int
        var padding: Int
    }

    let width: Int, height: Int
    /// Text scale of ``BitmapFont`` (and of the SVG font size).
    let scale: Int
    /// Plot area (the data rectangle), pixels.
    let plotX: Int, plotY: Int, plotWidth: Int, plotHeight: Int
    let xTicks: AxisTicks, yTicks: AxisTicks
    let lines: [Line]
    let legend: Legend?
    let lineWidth: Double
    let markerRadius: Double
    let tickLength: Int
    let axisThickness: Int
    /// Top of the title text, of the x-label text; left of the rotated y-label.
    let titleTop: Int, xLabelTop: Int, yLabelLeft: Int
    let tickLabelGap: Int
    /// Text scales of the title and the axis labels: ``scale``, or smaller when the text would not fit.
    let titleScale: Int, xLabelScale: Int, yLabelScale: Int

    init(chart: LineChart, width w: Int, height h: Int) {
        width = max(1, w)
        height = max(1, h)
        let s = max(1, min(width / 400, height / 160))
        scale = s
        let pad = 6 * s, gap = 4 * s
        tickLength = 3 * s
        tickLabelGap = gap
        axisThickness = s
        lineWidth = Double(s) + 0.5
        markerRadius = 2.5 * Double(s)
        let capHeight = BitmapFont.ascent * s, lineHeight = BitmapFont.lineHeight * s

        // Data ranges over every finite point.
        var xs: [Double] = [], ys: [Double] = []
        for series in chart.series {
            for p in series.points where p.x.isFinite && p.y.isFinite {
                xs.append(p.x)
                ys.append(p.y)
            }
        }
        xTicks = AxisTicks(min: xs.min() ?? 0, max: xs.max() ?? 1, target: max(2, min(10, width / (80 * s))))
        yTicks = AxisTicks(min: ys.min() ?? 0, max: ys.max() ?? 1, target: max(2, min(10, height / (35 * s))))

        // Margins.
        titleTop = pad
        let top = chart.title.isEmpty ? pad + capHeight : pad + lineHeight + pad + capHeight / 2
        let yTickWidth = yTicks.labels.map { BitmapFont.width(of: $0, scale: s) }.max() ?? 0
        yLabelLeft = pad
        let left = pad + (chart.yLabel.isEmpty ? 0 : BitmapFont.glyphHeight * s + gap) + yTickWidth + gap + tickLength
        let lastXLabel = BitmapFont.width(of: xTicks.labels.last ?? "", scale: s)
        let right = max(pad + gap, lastXLabel / 2 + pad)
        let bottom = tickLength + gap + lineHeight + (chart.xLabel.isEmpty ? 0 : lineHeight + gap) + pad
        plotX = min(left, width - 1)
        plotY = min(top, height - 1)
        plotWidth = max(1, width - left - right)
        plotHeight = max(1, height - top - bottom)
        xLabelTop = plotY + plotHeight + tickLength + gap + lineHeight + gap
        func fit(_ text: String, _ room: Int) -> Int {
            var k = s
            while k > 1 && BitmapFont.width(of: text, scale: k) > room { k -= 1 }
            return k
        }
        titleScale = fit(chart.title, width - 2 * pad)
        xLabelScale = fit(chart.xLabel, width - 2 * pad)
        yLabelScale = fit(chart.yLabel, height - 2 * pad)

        // Series in pixel coordinates.
        let x0 = Double(plotX), y0 = Double(plotY), pw = Double(plotWidth), ph = Double(plotHeight)
        let xt = xTicks, yt = yTicks
        func px(_ x: Double) -> Double { x0 + (x - xt.lower) / (xt.upper - xt.lower) * pw }
        func py(_ y: Double) -> Double { y0 + ph - (y - yt.lower) / (yt.upper - yt.lower) * ph }
        var lines: [Line] = []
        for (i, series) in chart.series.enumerated() {
            var runs: [[(x: Double, y: Double)]] = [], run: [(x: Double, y: Double)] = []
            for p in series.points {
                if p.x.isFinite && p.y.isFinite {
                    run.append((px(p.x), py(p.y)))
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

        // Legend in the plot corner covering the fewest data points.
        let named = lines.filter { !$0.name.isEmpty }
        if named.isEmpty {
            legend = nil
        } else {
            let padding = 4 * s, swatch = 16 * s, rowHeight = 11 * s
            let textWidth = named.map { BitmapFont.width(of: $0.name, scale: s) }.max() ?? 0
            let bw = padding + swatch + padding + textWidth + padding
            let bh = padding + (named.count - 1) * rowHeight + capHeight + padding
            let inset = 2 * gap
            let corners = [(plotX + plotWidth - inset - bw, plotY + inset), (plotX + inset, plotY + inset),
                           (plotX + plotWidth - inset - bw, plotY + plotHeight - inset - bh),
                           (plotX + inset, plotY + plotHeight - inset - bh)]
            func covered(_ c: (Int, Int)) -> Int {
                let (bx, by) = (Double(c.0), Double(c.1))
                var n = 0
                for line in lines {
                    for run in line.runs {
                        for (j, p) in run.enumerated() {
                            let q = j + 1 < run.count ? run[j + 1] : p
                            for k in 0..<8 {
                                let t = Double(k) / 8
                                let x = p.x + (q.x - p.x) * t, y = p.y + (q.y - p.y) * t
                                if x >= bx - 2 && x <= bx + Double(bw) + 2 && y >= by - 2 && y <= by + Double(bh) + 2 { n += 1 }
                            }
                        }
                    }
                }
                return n
            }
            var best = corners[0], bestCount = Int.max
            for c in corners {
                let n = covered(c)
                if n < bestCount { (best, bestCount) = (c, n) }
            }
            legend = Legend(x: best.0, y: best.1, width: bw, height: bh,
                            rowTops: (0..<named.count).map { best.1 + padding + $0 * rowHeight },
                            swatchWidth: swatch, padding: padding)
        }
    }

    /// Pixel x of data value `x`.
    func px(_ x: Double) -> Double {
        Double(plotX) + (x - xTicks.lower) / (xTicks.upper - xTicks.lower) * Double(plotWidth)
    }

    /// Pixel y of data value `y`.
    func py(_ y: Double) -> Double {
        Double(plotY + plotHeight) - (y - yTicks.lower) / (yTicks.upper - yTicks.lower) * Double(plotHeight)
    }

    /// The left edge of `text` centred over the plot area, shifted to stay inside the chart when it is wider.
    func centered(_ text: String, scale: Int) -> Int {
        let w = BitmapFont.width(of: text, scale: scale)
        let x = plotX + plotWidth / 2 - w / 2
        return max(0, min(x, width - w))
    }

    /// The horizontal centre of `text` placed as ``centered(_:scale:)`` places it.
    func centre(_ text: String, scale: Int) -> Double {
        Double(centered(text, scale: scale)) + Double(BitmapFont.width(of: text, scale: scale)) / 2
    }

    /// The series shown in the legend, in order.
    var legendLines: [Line] { lines.filter { !$0.name.isEmpty } }
}
