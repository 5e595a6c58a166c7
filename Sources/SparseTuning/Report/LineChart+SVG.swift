// LineChart as SVG: the same layout as the raster rendering, with real text elements, polylines and markers.

extension LineChart {
    /// The chart as a standalone SVG document of `width` × `height` pixels.
    public func svg(width: Int = 800, height: Int = 500) -> String {
        let w = max(1, width), h = max(1, height)
        return SVGText.document(width: w, height: h, body: svgElements(width: w, height: h, id: "plot"))
    }

    /// Writes ``svg(width:height:)`` to `path` atomically (temporary file + rename).
    /// - Throws: ``SparseTuningError`` naming `path` when it cannot be written.
    public func writeSVG(to path: String, width: Int = 800, height: Int = 500) throws {
        try AtomicFileWriter.write(svg(width: width, height: height), to: path)
    }

    /// The chart's SVG elements (no enclosing `svg` element), for embedding at the origin; `id` names its clip
    /// path and must be unique within the document.
    func svgElements(width: Int, height: Int, id: String) -> [String] {
        let l = ChartLayout(chart: self, width: width, height: height)
        let s = l.scale
        func f(_ v: Double) -> String { SVGText.number(v) }
        func fi(_ v: Int) -> String { String(v) }
        var out: [String] = []
        out.append("<rect x=\"0\" y=\"0\" width=\"\(l.width)\" height=\"\(l.height)\" fill=\"#ffffff\"/>")
        let bottom = l.plotY + l.plotHeight
        // Grid.
        var grid: [String] = []
        for v in l.xTicks.values { grid.append("M\(f(l.px(v) + 0.5)) \(l.plotY)V\(bottom)") }
        for v in l.yTicks.values { grid.append("M\(l.plotX) \(f(l.py(v) + 0.5))H\(l.plotX + l.plotWidth)") }
        out.append("<path d=\"\(grid.joined())\" stroke=\"\(RGBColor.grid.hex)\" stroke-width=\"1\" fill=\"none\"/>")
        // Series.
        let m = l.markerRadius + 2
        out.append("<clipPath id=\"\(id)\"><rect x=\"\(f(Double(l.plotX) - m))\" y=\"\(f(Double(l.plotY) - m))\" "
            + "width=\"\(f(Double(l.plotWidth) + 2 * m))\" height=\"\(f(Double(l.plotHeight) + 2 * m))\"/></clipPath>")
        out.append("<g clip-path=\"url(#\(id))\">")
        for line in l.lines {
            out.append("<g class=\"series\"><title>\(SVGText.escape(line.name))</title>")
            for run in line.runs where run.count >= 2 {
                let pts = run.map { "\(f($0.x)),\(f($0.y))" }.joined(separator: " ")
                out.append("<polyline points=\"\(pts)\" fill=\"none\" stroke=\"\(line.color.hex)\" "
                    + "stroke-width=\"\(f(l.lineWidth))\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>")
            }
            for run in line.runs where line.showMarkers || run.count == 1 {
                for p in run { out.append(line.marker.svg(x: p.x, y: p.y, radius: l.markerRadius, fill: line.color.hex)) }
            }
            out.append("</g>")
        }
        out.append("</g>")
        // Axes and ticks.
        let t = Double(l.axisThickness)
        let axisX = Double(l.plotX) - t / 2, axisY = Double(bottom) + t / 2
        var ticks = "M\(f(axisX)) \(l.plotY)V\(f(axisY))H\(l.plotX + l.plotWidth)"
        for v in l.xTicks.values { ticks += "M\(f(l.px(v) + t / 2)) \(f(axisY))v\(f(Double(l.tickLength) + t / 2))" }
        for v in l.yTicks.values { ticks += "M\(f(axisX)) \(f(l.py(v) + t / 2))h\(f(-Double(l.tickLength) - t / 2))" }
        out.append("<path d=\"\(ticks)\" stroke=\"\(RGBColor.ink.hex)\" stroke-width=\"\(f(t))\" fill=\"none\"/>")
        let capHeight = BitmapFont.ascent * s
        out.append("<g font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" fill=\"\(RGBColor.ink.hex)\">")
        for (v, label) in zip(l.xTicks.values, l.xTicks.labels) {
            out.append(SVGText.text(label, x: l.px(v), y: Double(bottom + l.axisThickness + l.tickLength + l.tickLabelGap),
                                    scale: s, alignment: .center))
        }
        for (v, label) in zip(l.yTicks.values, l.yTicks.labels) {
            out.append(SVGText.text(label, x: Double(l.plotX - l.axisThickness - l.tickLength - l.tickLabelGap),
                                    y: l.py(v) - Double(capHeight) / 2, scale: s, alignment: .right))
        }
        if !xLabel.isEmpty {
            out.append(SVGText.text(xLabel, x: l.centre(xLabel, scale: l.xLabelScale), y: Double(l.xLabelTop),
                                    scale: l.xLabelScale, alignment: .center))
        }
        if !yLabel.isEmpty {
            // Rotated a quarter turn anticlockwise about its centre; the cap-height top faces left.
            let cy = Double(l.plotY) + Double(l.plotHeight) / 2
            let x = Double(l.yLabelLeft + BitmapFont.ascent * l.yLabelScale)
            out.append("<text transform=\"rotate(-90 \(f(x)) \(f(cy)))\" x=\"\(f(x))\" y=\"\(f(cy))\" "
                + "font-size=\"\(SVGText.fontSize(l.yLabelScale))\" text-anchor=\"middle\">\(SVGText.escape(yLabel))</text>")
        }
        if !title.isEmpty {
            out.append(SVGText.text(title, x: l.centre(title, scale: l.titleScale), y: Double(l.titleTop),
                                    scale: l.titleScale, alignment: .center, bold: true))
        }
        // Legend.
        if let g = l.legend {
            out.append("<rect x=\"\(fi(g.x))\" y=\"\(fi(g.y))\" width=\"\(fi(g.width))\" height=\"\(fi(g.height))\" "
                + "fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"\(RGBColor(grey: 170).hex)\"/>")
            for (line, top) in zip(l.legendLines, g.rowTops) {
                let cy = Double(top) + Double(capHeight) / 2
                let x0 = Double(g.x + g.padding), x1 = x0 + Double(g.swatchWidth)
                out.append("<line x1=\"\(f(x0))\" y1=\"\(f(cy))\" x2=\"\(f(x1))\" y2=\"\(f(cy))\" stroke=\"\(line.color.hex)\" "
                    + "stroke-width=\"\(f(l.lineWidth))\"/>")
                out.append(line.marker.svg(x: (x0 + x1) / 2, y: cy, radius: l.markerRadius, fill: line.color.hex))
                out.append(SVGText.text(line.name, x: Double(g.x + 2 * g.padding + g.swatchWidth), y: Double(top), scale: s))
            }
        }
        out.append("</g>")
        return out
    }
}

extension SVGText {
    /// A standalone SVG document of `width` × `height` holding `body`'s elements.
    static func document(width: Int, height: Int, body: [String]) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\">\n" + body.joined(separator: "\n") + "\n</svg>\n"
    }
}
