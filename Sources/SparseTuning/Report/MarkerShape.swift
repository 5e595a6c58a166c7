// MarkerShape: the filled shapes that mark a chart series' data points, one per series in turn.

/// The marker shapes of chart series.
public enum MarkerShape: Int, Sendable, CaseIterable {
    /// A filled disc.
    case circle
    /// A filled axis-aligned square.
    case square
    /// An equilateral triangle, apex up.
    case triangle
    /// A square standing on a corner.
    case diamond
    /// An equilateral triangle, apex down.
    case invertedTriangle

    /// The shape of series `index`.
    public static func series(_ index: Int) -> MarkerShape { allCases[index % allCases.count] }

    /// Fills the shape of circumradius `radius` centred on (`x`, `y`) in `color`.
    func draw(in ctx: FigureContext, x: Double, y: Double, radius r: Double, color: RGBColor) {
        switch self {
        case .circle:
            ctx.circle(x: x, y: y, radius: r)
        case .square:
            let h = 0.8 * r
            ctx.polygon([(x - h, y - h), (x + h, y - h), (x + h, y + h), (x - h, y + h)])
        case .diamond:
            let h = 1.1 * r
            ctx.polygon([(x, y - h), (x + h, y), (x, y + h), (x - h, y)])
        case .triangle, .invertedTriangle:
            let s: Double = self == .triangle ? 1 : -1
            ctx.polygon([(x, y - s * r), (x + 0.866 * r, y + s * 0.5 * r), (x - 0.866 * r, y + s * 0.5 * r)])
        }
        ctx.fill(color)
    }
}
