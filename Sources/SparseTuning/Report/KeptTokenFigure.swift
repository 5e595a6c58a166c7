// KeptTokenFigure: the picture of EViT token sparsification on one image — the input, then one panel per
// sparsifying block with the patches dropped so far greyed out, those dropped by that block tinted by their
// fusion weight, and captions with the kept counts and the fused token's weight; one drawing routine for every
// figure format.
import Foundation

/// A row of panels showing which patches of an image survive each sparsifying block.
///
/// Panel 0 is the input image; panel i shows the image after the i-th sparsifying block: patches still present as
/// their own token keep their colours, patches dropped by earlier blocks are desaturated and darkened, and patches
/// dropped by this block are desaturated and tinted magenta by their fusion weight s_j (from light at the block's
/// smallest weight to strong at its largest; a plain tint without fusion). Captions give `block l: k/n kept`, the
/// fused token's total weight `Σw` and how many patches it sums, what became of earlier fused tokens, and how many
/// patches remain.
public struct KeptTokenFigure: Sendable {
    /// The image as the model saw it (after resizing), `gridWidth × patch` by `gridHeight × patch` pixels.
    public var image: RGBImage
    /// Patch side in pixels.
    public var patch: Int
    /// The patches behind every token (``SparsificationTrace/patchCount`` must equal the grid's patch count).
    public var trace: SparsificationTrace
    /// A line above the panels (e.g. the file name and settings); empty for none.
    public var title: String

    /// A figure of `trace` over `image` cut into `patch` × `patch` patches.
    /// - Throws: ``SparseTuningError`` when the image is not a whole number of patches or the trace is for a
    ///   different number of patches.
    public init(image: RGBImage, patch: Int, trace: SparsificationTrace, title: String = "") throws {
        guard patch > 0, image.width >= patch, image.height >= patch,
              image.width % patch == 0, image.height % patch == 0 else {
            throw SparseTuningError("a \(image.width)×\(image.height) image is not a whole number of \(patch)×\(patch) patches")
        }
        let count = (image.width / patch) * (image.height / patch)
        guard count == trace.patchCount else {
            throw SparseTuningError("the trace is for \(trace.patchCount) patches, the image has \(count) of \(patch)×\(patch)")
        }
        self.image = image
        self.patch = patch
        self.trace = trace
        self.title = title
    }

    /// Patch columns.
    public var gridWidth: Int { image.width / patch }
    /// Patch rows.
    public var gridHeight: Int { image.height / patch }

    // MARK: Captions

    /// The caption lines of panel `index` (0 = the input image, i = stage i − 1).
    public func captions(panel index: Int) -> [String] {
        if index == 0 {
            return ["input \(image.width)×\(image.height)", "\(trace.patchCount) patches of \(patch)×\(patch)"]
        }
        let st = trace.stages[index - 1]
        var lines = ["block \(st.block): \(st.keptCount)/\(st.tokensIn - st.prefix) kept"]
        let fusedExtra = st.droppedFusedTokens.isEmpty ? "" : " + fused"
        if st.fused {
            lines.append("fused: Σw = \(Self.weight(st.fusedWeight)) over \(st.droppedPatches.count) patches\(fusedExtra)")
        } else {
            lines.append("dropped: \(st.droppedPatches.count) patches\(fusedExtra), no fusion")
        }
        for k in st.keptFusedTokens { lines.append("fused token of block \(k.block) kept (rank \(k.rank))") }
        for b in st.droppedFusedTokens { lines.append("fused token of block \(b) dropped") }
        lines.append("patches left: \(st.remainingPatches.count)/\(trace.patchCount)")
        return lines
    }

    static func weight(_ w: Float) -> String { String(format: w < 0.001 && w > 0 ? "%.1e" : "%.3f", Double(w)) }

    // MARK: Layout

    /// Integer enlargement of the image so that small inputs stay visible (at least 192 pixels wide).
    var displayScale: Int { max(1, Int((192.0 / Double(max(image.width, image.height))).rounded(.up))) }
    static let margin = 10
    static let gap = 12
    /// Font sizes of the captions and legend, and of the title.
    static let captionSize = 11.0
    static let titleSize = 12.0
    /// Distance between caption baselines.
    static let lineHeight = 15
    static let legendText = ["kept", "dropped earlier", "dropped here (stronger tint: larger fusion weight s_j)"]
    /// Legend swatch side and the room between a swatch and its text, and after the text.
    static let swatch = 10, swatchGap = 4, legendGap = 16

    /// Width of every panel: the displayed image or the longest caption, whichever is wider.
    var panelWidth: Int {
        let captionWidth = FigureContext.measuring { ctx in
            (0...trace.stages.count).flatMap { captions(panel: $0) }.map { ctx.textWidth($0, size: Self.captionSize) }.max() ?? 0
        }
        return max(image.width * displayScale, Int(captionWidth.rounded(.up)))
    }

    var captionLineCount: Int { (0...trace.stages.count).map { captions(panel: $0).count }.max() ?? 0 }
    var titleHeight: Int { title.isEmpty ? 0 : Self.lineHeight + 6 }

    /// Top-left corner of panel `index`'s column (its image is centred in it).
    func panelOrigin(_ index: Int) -> (x: Int, y: Int) {
        (Self.margin + index * (panelWidth + Self.gap), Self.margin + titleHeight)
    }

    /// Size of the figure: the panels side by side, or the title or legend line when either is wider.
    public var size: (width: Int, height: Int) {
        let panels = trace.stages.count + 1
        let (titleWidth, legendWidth) = FigureContext.measuring { ctx in
            (ctx.textWidth(title, size: Self.titleSize, bold: true),
             Self.legendText.map { Double(Self.swatch + Self.swatchGap + Self.legendGap) + ctx.textWidth($0, size: Self.captionSize) }
                .reduce(0, +))
        }
        let width = max(2 * Self.margin + panels * panelWidth + (panels - 1) * Self.gap,
                        2 * Self.margin + Int(max(titleWidth, legendWidth).rounded(.up)))
        let height = Self.margin + titleHeight + image.height * displayScale + 6 + captionLineCount * Self.lineHeight
            + 6 + Self.lineHeight + Self.margin
        return (width, height)
    }

    // MARK: Rendering

    /// The colour treatment of one patch in one panel.
    enum PatchState: Equatable {
        case kept
        case droppedEarlier
        /// Dropped by this panel's block; `tint` in 0…1.
        case droppedHere(tint: Float)
    }

    /// Per patch, its state in panel `index`.
    func states(panel index: Int) -> [PatchState] {
        var states = [PatchState](repeating: .kept, count: trace.patchCount)
        guard index > 0 else { return states }
        for stage in trace.stages[..<(index - 1)] {
            for p in stage.droppedPatches { states[p] = .droppedEarlier }
        }
        let st = trace.stages[index - 1]
        // The tint spans the block's range of fusion weights: lightest at the smallest s_j, strongest at the largest.
        let lo = st.droppedPatchWeights.min() ?? 0, hi = st.droppedPatchWeights.max() ?? 0
        for (i, p) in st.droppedPatches.enumerated() {
            var tint: Float = 0.25
            if st.fused, i < st.droppedPatchWeights.count {
                let w = hi > lo ? (st.droppedPatchWeights[i] - lo) / (hi - lo) : 0.5
                tint = 0.08 + 0.42 * w
            }
            states[p] = .droppedHere(tint: tint)
        }
        return states
    }

    /// The fusion-weight tint colour.
    static let tint = RGBColor(235, 30, 140)

    /// `c` as the given state shows it.
    static func shade(_ c: RGBColor, _ state: PatchState) -> RGBColor {
        let luma = c.brightness
        switch state {
        case .kept: return c
        case .droppedEarlier:
            return RGBColor(grey: UInt8(max(0, min(255, 30 + 0.4 * luma))))
        case .droppedHere(let t):
            let grey = RGBColor(grey: UInt8(max(0, min(255, 45 + 0.55 * luma))))
            return grey.mixed(with: tint, t)
        }
    }

    /// The image of panel `index` at the model's resolution.
    func panelImage(_ index: Int) -> RGBImage {
        let st = states(panel: index)
        var px = image.pixels
        let gw = gridWidth
        for y in 0..<image.height {
            for x in 0..<image.width {
                let state = st[(y / patch) * gw + x / patch]
                if state == .kept { continue }
                let i = (y * image.width + x) * 3
                let c = Self.shade(RGBColor(px[i], px[i + 1], px[i + 2]), state)
                px[i] = c.r
                px[i + 1] = c.g
                px[i + 2] = c.b
            }
        }
        return RGBImage(width: image.width, height: image.height, pixels: px)
    }

    /// The figure, ready to write in any ``FigureFormat``.
    public func figure() -> Figure {
        let (w, h) = size
        return Figure(width: w, height: h) { ctx in try draw(in: ctx, width: w, height: h) }
    }

    /// Draws the figure on a `width` × `height` page.
    func draw(in ctx: FigureContext, width w: Int, height h: Int) throws {
        let cap = FigureContext.capHeight * Self.captionSize
        ctx.fillRect(x: 0, y: 0, width: Double(w), height: Double(h), color: .white)
        ctx.text(title, x: Double(Self.margin), y: Double(Self.margin) + FigureContext.capHeight * Self.titleSize,
                 size: Self.titleSize, bold: true)
        let d = displayScale, shown = image.height * d, pw = panelWidth
        for index in 0...trace.stages.count {
            let (x0, y0) = panelOrigin(index)
            let left = x0 + (pw - image.width * d) / 2
            try ctx.image(panelImage(index), x: Double(left), y: Double(y0), scale: Double(d))
            // Patch grid, faint, on the processed panels.
            if index > 0 && patch * d >= 6 {
                for gx in 1..<gridWidth {
                    ctx.fillRect(x: Double(left + gx * patch * d), y: Double(y0), width: 1, height: Double(shown),
                                 color: .white, alpha: 0.18)
                }
                for gy in 1..<gridHeight {
                    ctx.fillRect(x: Double(left), y: Double(y0 + gy * patch * d), width: Double(image.width * d), height: 1,
                                 color: .white, alpha: 0.18)
                }
            }
            for (i, line) in captions(panel: index).enumerated() {
                ctx.text(line, x: Double(x0), y: Double(y0 + shown + 6 + i * Self.lineHeight) + cap, size: Self.captionSize,
                         color: i == 0 ? .ink : RGBColor(grey: 70))
            }
        }
        // Legend: swatches of the three treatments of a mid-grey-blue patch.
        var x = Double(Self.margin)
        let baseline = Double(h - Self.margin - Self.lineHeight) + cap + 2
        let sample = RGBColor(70, 130, 200)
        for (label, state) in zip(Self.legendText, [PatchState.kept, .droppedEarlier, .droppedHere(tint: 0.4)]) {
            let side = Double(Self.swatch)
            ctx.fillRect(x: x, y: baseline + 1 - side, width: side, height: side, color: Self.shade(sample, state))
            x += side + Double(Self.swatchGap)
            ctx.text(label, x: x, y: baseline, size: Self.captionSize, color: RGBColor(grey: 70))
            x += ctx.textWidth(label, size: Self.captionSize) + Double(Self.legendGap)
        }
    }
}
