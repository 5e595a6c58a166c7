// SVGText: the small helpers SVG output needs — XML escaping and compact, locale-independent numbers.

/// Helpers for writing SVG documents by hand.
enum SVGText {
    /// `text` with the five XML special characters escaped, for element content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// `v` with at most two decimals and no trailing zeros (`12`, `3.5`, `-0.25`); non-finite values become 0.
    static func number(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let hundredths = (v * 100).rounded()
        guard abs(hundredths) < 1e15 else { return String(Int(v.rounded())) }
        let n = Int(hundredths)
        let sign = n < 0 ? "-" : ""
        let a = abs(n), whole = a / 100, frac = a % 100
        if frac == 0 { return n == 0 ? "0" : sign + String(whole) }
        let f = frac % 10 == 0 ? String(frac / 10) : (frac < 10 ? "0" + String(frac) : String(frac))
        return sign + String(whole) + "." + f
    }

    /// An SVG `text` element with its cap-height top at `y` (so it matches the raster layout), anchored at `x`.
    static func text(_ content: String, x: Double, y: Double, scale: Int, alignment: TextAlignment = .left,
                     color: RGBColor = .ink, bold: Bool = false) -> String {
        let anchor: String
        switch alignment {
        case .left: anchor = "start"
        case .center: anchor = "middle"
        case .right: anchor = "end"
        }
        let baseline = y + Double(BitmapFont.ascent * scale)
        return "<text x=\"\(number(x))\" y=\"\(number(baseline))\" font-size=\"\(fontSize(scale))\" text-anchor=\"\(anchor)\""
            + (bold ? " font-weight=\"bold\"" : "") + (color == .ink ? "" : " fill=\"\(color.hex)\"")
            + ">\(escape(content))</text>"
    }

    /// The SVG font size whose capital letters are about as tall as ``BitmapFont`` glyphs at `scale`.
    static func fontSize(_ scale: Int) -> String { number(Double(BitmapFont.ascent * scale) / 0.72) }
}
