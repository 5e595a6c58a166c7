// LineChart: a multi-series line chart — the data model and its one drawing routine (title, light grid, axes with
// nice ticks, series lines with markers, legend), written as PNG, SVG or PDF through Figure.

/// A line chart of one or more named series of (x, y) points, with nice 1-2-5 axis ticks, a light grid, axis
/// labels, a title, markers at the points and a legend with colour swatches.
///
/// Non-finite points are skipped and break their line; an empty chart, a single point or a constant series still
/// gives sensible axes.
///
/// ```swift
/// let chart = LineChart(title: "loss", xLabel: "epoch", yLabel: "loss",
///                       series: [.init(name: "train", points: [(1, 2.3), (2, 1.7), (3, 1.2)])])
/// try chart.figure().write(to: "loss.pdf")
/// ```
public struct LineChart: Sendable {
    /// One named line of the chart.
    public struct Series: Sendable {
        /// The legend name (an empty name leaves the series out of the legend).
        public var name: String
        /// The points, joined in the given order.
        public var points: [(x: Double, y: Double)]
        /// A series called `name` through `points`.
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    /// The chart title.
    public var title: String
    /// The horizontal axis label.
    public var xLabel: String
    /// The vertical axis label.
    public var yLabel: String
    /// The lines, drawn in order with the colours of ``RGBColor/series(_:)`` and markers of ``MarkerShape/series(_:)``.
    public var series: [Series]

    /// A chart titled `title` with axis labels `xLabel` / `yLabel` over `series`.
    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    /// The chart on a `width` × `height` page (each at least 1), ready to write in any ``FigureFormat``.
    public func figure(width: Int = 800, height: Int = 500) -> Figure {
        let w = max(1, width), h = max(1, height)
        return Figure(width: w, height: h) { ctx in draw(in: ctx, width: w, height: h) }
    }

    /// The layout of the chart on a `width` × `height` page.
    func layout(width: Int, height: Int) -> ChartLayout {
        FigureContext.measuring { ChartLayout(chart: self, width: width, height: height, measure: $0) }
    }

    /// Draws the chart with its top-left corner at the origin of `ctx`, filling `width` × `height`.
    func draw(in ctx: FigureContext, width: Int, height: Int) {
        let l = ChartLayout(chart: self, width: width, height: height, measure: ctx)
        let size = l.fontSize
        let bottom = l.plotY + l.plotHeight, right = l.plotX + l.plotWidth
        ctx.fillRect(x: 0, y: 0, width: l.width, height: l.height, color: .white)
        // Grid, one unit wide on whole pixels.
        for v in l.xTicks.values {
            let x = l.px(v).rounded(.down) + 0.5
            ctx.polyline([(x, l.plotY), (x, bottom)], color: .grid, lineWidth: 1)
        }
        for v in l.yTicks.values {
            let y = l.py(v).rounded(.down) + 0.5
            ctx.polyline([(l.plotX, y), (right, y)], color: .grid, lineWidth: 1)
        }
        // Axes (left and bottom), outward ticks and their labels; under the data, so points on an axis show.
        // Crisp one-unit lines: the pixel column left of the plot, the pixel row at its bottom edge.
        let axisX = l.plotX.rounded(.down) - 0.5, axisY = bottom.rounded(.down) + 0.5
        ctx.polyline([(axisX, l.plotY), (axisX, axisY), (right, axisY)], color: .ink, lineWidth: 1)
        let cap = FigureContext.capHeight * size
        for (v, label) in zip(l.xTicks.values, l.xTicks.labels) {
            let x = l.px(v).rounded(.down) + 0.5
            ctx.polyline([(x, axisY), (x, axisY + l.tickLength)], color: .ink, lineWidth: 1)
            ctx.text(label, x: x, y: axisY + l.tickLength + l.gap + cap, size: size, anchor: .middle)
        }
        for (v, label) in zip(l.yTicks.values, l.yTicks.labels) {
            let y = l.py(v).rounded(.down) + 0.5
            ctx.polyline([(axisX - l.tickLength, y), (axisX, y)], color: .ink, lineWidth: 1)
            ctx.text(label, x: axisX - l.tickLength - l.gap, y: y + cap / 2, size: size, anchor: .end)
        }
        // Series, clipped to the plot area plus room for markers on its edges.
        ctx.saved {
            let m = l.markerRadius + 2
            ctx.clip(x: l.plotX - m, y: l.plotY - m, width: l.plotWidth + 2 * m, height: l.plotHeight + 2 * m)
            for line in l.lines {
                for run in line.runs { ctx.polyline(run, color: line.color, lineWidth: l.lineWidth) }
            }
            for line in l.lines {
                for run in line.runs where line.showMarkers || run.count == 1 {
                    for p in run { line.marker.draw(in: ctx, x: p.x, y: p.y, radius: l.markerRadius, color: line.color) }
                }
            }
        }
        // Axis labels and title, centred on the plot area but kept on the page.
        func centre(_ text: String, size: Double, bold: Bool = false) -> Double {
            let half = ctx.textWidth(text, size: size, bold: bold) / 2
            return max(half, min(l.plotX + l.plotWidth / 2, l.width - half))
        }
        ctx.text(xLabel, x: centre(xLabel, size: l.xLabelSize), y: l.xLabelBaseline, size: l.xLabelSize, anchor: .middle)
        ctx.text(yLabel, x: l.yLabelX + FigureContext.capHeight * l.yLabelSize, y: l.plotY + l.plotHeight / 2,
                 size: l.yLabelSize, anchor: .middle, vertical: true)
        ctx.text(title, x: centre(title, size: l.titleSize, bold: true), y: l.titleBaseline, size: l.titleSize,
                 bold: true, anchor: .middle)
        // Legend.
        if let g = l.legend {
            ctx.fillRect(x: g.x, y: g.y, width: g.width, height: g.height, color: .white, alpha: 0.9)
            ctx.strokeRect(x: g.x + 0.5, y: g.y + 0.5, width: g.width - 1, height: g.height - 1, color: RGBColor(grey: 170))
            for (line, baseline) in zip(l.legendLines, g.baselines) {
                let cy = baseline - cap / 2
                let x0 = g.x + g.padding, x1 = x0 + g.swatchWidth
                ctx.polyline([(x0, cy), (x1, cy)], color: line.color, lineWidth: l.lineWidth)
                line.marker.draw(in: ctx, x: (x0 + x1) / 2, y: cy, radius: l.markerRadius, color: line.color)
                ctx.text(line.name, x: x1 + g.padding, y: baseline, size: size)
            }
        }
    }
}
