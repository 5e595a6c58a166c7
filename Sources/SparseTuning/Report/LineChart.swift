// LineChart: a multi-series line chart — the data model, and its raster rendering (RGBImage / PNG).
// The SVG rendering is in LineChart+SVG.swift; both follow the same ChartLayout.

/// A line chart of one or more named series of (x, y) points, with nice 1-2-5 axis ticks, grid, axis labels,
/// a title, markers at the points and a legend with colour swatches.
///
/// Render it as a raster (``render(width:height:)``, ``writePNG(to:width:height:)``) or as SVG with real text
/// (``svg(width:height:)``, ``writeSVG(to:width:height:)``). Non-finite points are skipped and break their
/// line; an empty chart, a single point or a constant series still gives sensible axes.
///
/// ```swift
/// let chart = LineChart(title: "loss", xLabel: "epoch", yLabel: "loss",
///                       series: [.init(name: "train", points: [(1, 2.3), (2, 1.7), (3, 1.2)])])
/// try chart.writePNG(to: "loss.png")
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

    /// The chart as an RGB image of `width` × `height` pixels (each at least 1). Text is drawn with
    /// ``BitmapFont`` at a scale that grows with the size (2 from 800 × 320 up).
    public func render(width: Int = 800, height: Int = 500) -> RGBImage {
        var canvas = Canvas(width: width, height: height)
        draw(on: &canvas, layout: ChartLayout(chart: self, width: width, height: height))
        return canvas.image
    }

    /// Writes ``render(width:height:)`` to `path` as a PNG, atomically.
    /// - Throws: ``SparseTuningError`` naming `path` when it cannot be written.
    public func writePNG(to path: String, width: Int = 800, height: Int = 500) throws {
        try PNGEncoder.write(render(width: width, height: height), to: path)
    }

    /// Draws the chart on `canvas` following `layout`.
    func draw(on canvas: inout Canvas, layout l: ChartLayout) {
        let s = l.scale
        let bottom = l.plotY + l.plotHeight
        // Grid.
        for v in l.xTicks.values {
            let x = Int(l.px(v).rounded(.down))
            canvas.fill(x: x, y: l.plotY, width: 1, height: l.plotHeight, color: .grid)
        }
        for v in l.yTicks.values {
            let y = Int(l.py(v).rounded(.down))
            canvas.fill(x: l.plotX, y: y, width: l.plotWidth, height: 1, color: .grid)
        }
        // Series, clipped to the plot area (plus room for markers on its edges).
        let m = Int(l.markerRadius.rounded(.up)) + 2
        canvas.setClip(x: l.plotX - m, y: l.plotY - m, width: l.plotWidth + 2 * m, height: l.plotHeight + 2 * m)
        for line in l.lines {
            for run in line.runs { canvas.polyline(run, color: line.color, lineWidth: l.lineWidth) }
        }
        for line in l.lines {
            // Markers at every point, or only at isolated points when they would crowd the line.
            for run in line.runs where line.showMarkers || run.count == 1 {
                for p in run { canvas.marker(line.marker, x: p.x, y: p.y, size: l.markerRadius, color: line.color) }
            }
        }
        canvas.resetClip()
        // Axes, ticks and tick labels.
        let t = l.axisThickness
        canvas.fill(x: l.plotX - t, y: l.plotY, width: t, height: l.plotHeight + t, color: .ink)
        canvas.fill(x: l.plotX - t, y: bottom, width: l.plotWidth + t, height: t, color: .ink)
        let capHeight = BitmapFont.ascent * s
        for (v, label) in zip(l.xTicks.values, l.xTicks.labels) {
            let x = Int(l.px(v).rounded(.down))
            canvas.fill(x: x, y: bottom + t, width: t, height: l.tickLength, color: .ink)
            canvas.text(label, x: x, y: bottom + t + l.tickLength + l.tickLabelGap, scale: s, alignment: .center)
        }
        for (v, label) in zip(l.yTicks.values, l.yTicks.labels) {
            let y = Int(l.py(v).rounded(.down))
            canvas.fill(x: l.plotX - t - l.tickLength, y: y, width: l.tickLength, height: t, color: .ink)
            canvas.text(label, x: l.plotX - t - l.tickLength - l.tickLabelGap, y: y - capHeight / 2, scale: s,
                        alignment: .right)
        }
        // Labels and title.
        if !xLabel.isEmpty {
            canvas.text(xLabel, x: l.centered(xLabel, scale: l.xLabelScale), y: l.xLabelTop, scale: l.xLabelScale)
        }
        if !yLabel.isEmpty {
            canvas.verticalText(yLabel, x: l.yLabelLeft, centerY: l.plotY + l.plotHeight / 2, scale: l.yLabelScale)
        }
        if !title.isEmpty {
            // Bold: the glyphs struck twice, one pixel apart.
            let x = l.centered(title, scale: l.titleScale)
            canvas.text(title, x: x, y: l.titleTop, scale: l.titleScale)
            canvas.text(title, x: x + 1, y: l.titleTop, scale: l.titleScale)
        }
        // Legend.
        if let g = l.legend {
            canvas.fill(x: g.x, y: g.y, width: g.width, height: g.height, color: .white, alpha: 0.9)
            canvas.strokeRect(x: g.x, y: g.y, width: g.width, height: g.height, color: RGBColor(grey: 170))
            for (line, top) in zip(l.legendLines, g.rowTops) {
                let cy = Double(top) + Double(capHeight) / 2
                let x0 = Double(g.x + g.padding), x1 = x0 + Double(g.swatchWidth)
                canvas.line(from: (x0, cy), to: (x1, cy), color: line.color, lineWidth: l.lineWidth)
                canvas.marker(line.marker, x: (x0 + x1) / 2, y: cy, size: l.markerRadius, color: line.color)
                canvas.text(line.name, x: g.x + 2 * g.padding + g.swatchWidth, y: top, scale: s)
            }
        }
    }
}
