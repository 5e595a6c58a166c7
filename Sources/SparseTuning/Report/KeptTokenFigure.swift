// KeptTokenFigure: the picture of EViT token sparsification on one image — the input, then one panel per
// sparsifying block with the patches dropped so far greyed out, those dropped by that block tinted by their
// fusion weight, and captions with the kept counts and the fused token's weight.
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
        var lines = ["block \(st.block): \(st.keptCount)/\(st.tokensIn - 1) kept"]
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
    static let textScale = 1
    var lineHeight: Int { BitmapFont.lineHeight * Self.textScale + 2 }

    /// Width of every panel: the displayed image or the longest caption, whichever is wider.
    var panelWidth: Int {
        let captionWidth = (0...trace.stages.count).flatMap { captions(panel: $0) }
            .map { BitmapFont.width(of: $0, scale: Self.textScale) }.max() ?? 0
        return max(image.width * displayScale, captionWidth)
    }

    var captionLineCount: Int { (0...trace.stages.count).map { captions(panel: $0).count }.max() ?? 0 }
    var titleHeight: Int { title.isEmpty ? 0 : lineHeight + 6 }
    static let legendText = ["kept", "dropped earlier", "dropped here (stronger tint: larger fusion weight s_j)"]

    /// Top-left corner of panel `index`'s image.
    func panelOrigin(_ index: Int) -> (x: Int, y: Int) {
        (Self.margin + index * (panelWidth + Self.gap), Self.margin + titleHeight)
    }

    /// Size of the rendered figure.
    public var size: (width: Int, height: Int) {
        let panels = trace.stages.count + 1
        let width = 2 * Self.margin + panels * panelWidth + (panels - 1) * Self.gap
        let height = Self.margin + titleHeight + image.height * displayScale + 6 + captionLineCount * lineHeight
            + 6 + lineHeight + Self.margin
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

    /// The whole figure.
    public func render() -> RGBImage {
        let (w, h) = size
        var canvas = Canvas(width: w, height: h)
        if !title.isEmpty {
            canvas.text(title, x: Self.margin, y: Self.margin, scale: Self.textScale)
            canvas.text(title, x: Self.margin + 1, y: Self.margin, scale: Self.textScale)
        }
        let d = displayScale
        let shown = image.height * d
        for index in 0...trace.stages.count {
            let (x0, y0) = panelOrigin(index)
            let left = x0 + (panelWidth - image.width * d) / 2
            canvas.draw(panelImage(index), x: left, y: y0, scale: d)
            // Patch grid, faint, on the processed panels.
            if index > 0 && patch * d >= 6 {
                for gx in 1..<gridWidth {
                    canvas.fill(x: left + gx * patch * d, y: y0, width: 1, height: shown, color: .white, alpha: 0.18)
                }
                for gy in 1..<gridHeight {
                    canvas.fill(x: left, y: y0 + gy * patch * d, width: image.width * d, height: 1, color: .white, alpha: 0.18)
                }
            }
            for (i, line) in captions(panel: index).enumerated() {
                canvas.text(line, x: x0, y: y0 + shown + 6 + i * lineHeight, scale: Self.textScale,
                            color: i == 0 ? .ink : RGBColor(grey: 70))
            }
        }
        // Legend: swatches of the three treatments of a mid-grey-blue patch.
        var x = Self.margin
        let y = h - Self.margin - lineHeight + 2
        let sample = RGBColor(70, 130, 200)
        for (label, state) in zip(Self.legendText, [PatchState.kept, .droppedEarlier, .droppedHere(tint: 0.4)]) {
            canvas.fill(x: x, y: y - 1, width: 10, height: 9, color: Self.shade(sample, state))
            canvas.text(label, x: x + 14, y: y, scale: Self.textScale, color: RGBColor(grey: 70))
            x += 14 + BitmapFont.width(of: label, scale: Self.textScale) + 16
        }
        return canvas.image
    }

    /// Writes ``render()`` to `path` as a PNG, atomically.
    /// - Throws: ``SparseTuningError`` naming `path` when it cannot be written.
    public func writePNG(to path: String) throws {
        try PNGEncoder.write(render(), to: path)
    }
}
