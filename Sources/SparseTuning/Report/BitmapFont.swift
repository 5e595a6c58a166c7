// BitmapFont: a built-in 5×7 pixel font (printable ASCII plus a few symbols, with descenders) defined as data,
// and text drawing on a Canvas at integer scales, horizontal or rotated a quarter turn for vertical axis labels.

/// A fixed-width 5 × 7 bitmap font with two descender rows, drawn in 6 × 10 pixel cells (times the scale).
///
/// Glyphs cover ASCII 32…126 and `Σ κ × → … · − ≤ ≥ ° μ ± ∝`; any other character is drawn as `?`.
public enum BitmapFont {
    /// Glyph width in pixels (at scale 1).
    public static let glyphWidth = 5
    /// Rows above the baseline (cap height) at scale 1.
    public static let ascent = 7
    /// Glyph rows including descenders at scale 1.
    public static let glyphHeight = 9
    /// Horizontal advance per character at scale 1.
    public static let advance = 6
    /// Distance between baselines at scale 1.
    public static let lineHeight = 10

    /// Each glyph as rows (top to bottom) of `#` (ink) and `.` (paper); rows 7 and 8 lie below the baseline.
    /// Drawn for this package.
    static let glyphSource: [(Character, String)] = [
        (" ", ""),
        ("!", "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#.."),
        ("\"", ".#.#. .#.#. .#.#."),
        ("#", ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#."),
        ("$", "..#.. .#### #.#.. .###. ..#.# ####. ..#.."),
        ("%", "##... ##..# ...#. ..#.. .#... #..## ...##"),
        ("&", ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#"),
        ("'", "..#.. ..#.. ..#.."),
        ("(", "...#. ..#.. .#... .#... .#... ..#.. ...#."),
        (")", ".#... ..#.. ...#. ...#. ...#. ..#.. .#..."),
        ("*", "..... ..#.. #.#.# .###. #.#.# ..#.. ....."),
        ("+", "..... ..#.. ..#.. ##### ..#.. ..#.. ....."),
        (",", "..... ..... ..... ..... ..... ..... .##.. ..#.. .#..."),
        ("-", "..... ..... ..... .###. ..... ..... ....."),
        (".", "..... ..... ..... ..... ..... .##.. .##.."),
        ("/", "..... ....# ...#. ..#.. .#... #.... ....."),
        ("0", ".###. #...# #..## #.#.# ##..# #...# .###."),
        ("1", "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###."),
        ("2", ".###. #...# ....# ...#. ..#.. .#... #####"),
        ("3", "##### ...#. ..#.. ...#. ....# #...# .###."),
        ("4", "...#. ..##. .#.#. #..#. ##### ...#. ...#."),
        ("5", "##### #.... ####. ....# ....# #...# .###."),
        ("6", "..##. .#... #.... ####. #...# #...# .###."),
        ("7", "##### ....# ...#. ..#.. .#... .#... .#..."),
        ("8", ".###. #...# #...# .###. #...# #...# .###."),
        ("9", ".###. #...# #...# .#### ....# ...#. .##.."),
        (":", "..... .##.. .##.. ..... .##.. .##.. ....."),
        (";", "..... .##.. .##.. ..... .##.. .##.. ..#.. .#..."),
        ("<", "...#. ..#.. .#... #.... .#... ..#.. ...#."),
        ("=", "..... ..... ##### ..... ##### ..... ....."),
        (">", ".#... ..#.. ...#. ....# ...#. ..#.. .#..."),
        ("?", ".###. #...# ....# ...#. ..#.. ..... ..#.."),
        ("@", ".###. #...# ....# .##.# #.#.# #.#.# .###."),
        ("A", ".###. #...# #...# ##### #...# #...# #...#"),
        ("B", "####. #...# #...# ####. #...# #...# ####."),
        ("C", ".###. #...# #.... #.... #.... #...# .###."),
        ("D", "###.. #..#. #...# #...# #...# #..#. ###.."),
        ("E", "##### #.... #.... ####. #.... #.... #####"),
        ("F", "##### #.... #.... ####. #.... #.... #...."),
        ("G", ".###. #...# #.... #.### #...# #...# .####"),
        ("H", "#...# #...# #...# ##### #...# #...# #...#"),
        ("I", ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###."),
        ("J", "..### ...#. ...#. ...#. ...#. #..#. .##.."),
        ("K", "#...# #..#. #.#.. ##... #.#.. #..#. #...#"),
        ("L", "#.... #.... #.... #.... #.... #.... #####"),
        ("M", "#...# ##.## #.#.# #.#.# #...# #...# #...#"),
        ("N", "#...# #...# ##..# #.#.# #..## #...# #...#"),
        ("O", ".###. #...# #...# #...# #...# #...# .###."),
        ("P", "####. #...# #...# ####. #.... #.... #...."),
        ("Q", ".###. #...# #...# #...# #.#.# #..#. .##.#"),
        ("R", "####. #...# #...# ####. #.#.. #..#. #...#"),
        ("S", ".#### #.... #.... .###. ....# ....# ####."),
        ("T", "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#.."),
        ("U", "#...# #...# #...# #...# #...# #...# .###."),
        ("V", "#...# #...# #...# #...# #...# .#.#. ..#.."),
        ("W", "#...# #...# #...# #.#.# #.#.# #.#.# .#.#."),
        ("X", "#...# #...# .#.#. ..#.. .#.#. #...# #...#"),
        ("Y", "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#.."),
        ("Z", "##### ....# ...#. ..#.. .#... #.... #####"),
        ("[", ".###. .#... .#... .#... .#... .#... .###."),
        ("\\", "..... #.... .#... ..#.. ...#. ....# ....."),
        ("]", ".###. ...#. ...#. ...#. ...#. ...#. .###."),
        ("^", "..#.. .#.#. #...#"),
        ("_", "..... ..... ..... ..... ..... ..... ..... #####"),
        ("`", ".#... ..#.. ....."),
        ("a", "..... ..... .###. ....# .#### #...# .####"),
        ("b", "#.... #.... #.##. ##..# #...# #...# ####."),
        ("c", "..... ..... .###. #.... #.... #...# .###."),
        ("d", "....# ....# .##.# #..## #...# #...# .####"),
        ("e", "..... ..... .###. #...# ##### #.... .###."),
        ("f", "..##. .#..# .#... ###.. .#... .#... .#..."),
        ("g", "..... ..... .#### #...# #...# .#### ....# #...# .###."),
        ("h", "#.... #.... #.##. ##..# #...# #...# #...#"),
        ("i", "..#.. ..... .##.. ..#.. ..#.. ..#.. .###."),
        ("j", "...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##.."),
        ("k", "#.... #.... #..#. #.#.. ##... #.#.. #..#."),
        ("l", ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###."),
        ("m", "..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#"),
        ("n", "..... ..... #.##. ##..# #...# #...# #...#"),
        ("o", "..... ..... .###. #...# #...# #...# .###."),
        ("p", "..... ..... ####. #...# #...# ####. #.... #.... #...."),
        ("q", "..... ..... .#### #...# #...# .#### ....# ....# ....#"),
        ("r", "..... ..... #.##. ##..# #.... #.... #...."),
        ("s", "..... ..... .#### #.... .###. ....# ####."),
        ("t", ".#... .#... ###.. .#... .#... .#..# ..##."),
        ("u", "..... ..... #...# #...# #...# #..## .##.#"),
        ("v", "..... ..... #...# #...# #...# .#.#. ..#.."),
        ("w", "..... ..... #...# #...# #.#.# #.#.# .#.#."),
        ("x", "..... ..... #...# .#.#. ..#.. .#.#. #...#"),
        ("y", "..... ..... #...# #...# #...# .#### ....# #...# .###."),
        ("z", "..... ..... ##### ...#. ..#.. .#... #####"),
        ("{", "...#. ..#.. ..#.. .#... ..#.. ..#.. ...#."),
        ("|", "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.."),
        ("}", ".#... ..#.. ..#.. ...#. ..#.. ..#.. .#..."),
        ("~", "..... ..... .#... #.#.# ...#. ..... ....."),
        ("Σ", "##### #.... .#... ..#.. .#... #.... #####"),
        ("κ", "..... ..... #..#. #.#.. ##... #.#.. #..#."),
        ("×", "..... #...# .#.#. ..#.. .#.#. #...# ....."),
        ("→", "..... ..#.. ...#. ##### ...#. ..#.. ....."),
        ("…", "..... ..... ..... ..... ..... ..... #.#.#"),
        ("·", "..... ..... ..... ..#.. ..... ..... ....."),
        ("−", "..... ..... ..... ##### ..... ..... ....."),
        ("≤", "...#. ..#.. .#... ..#.. ...#. ..... #####"),
        ("≥", ".#... ..#.. ...#. ..#.. .#... ..... #####"),
        ("°", ".##.. #..#. .##.."),
        ("μ", "..... ..... #...# #...# #...# ##..# #.##. #.... #...."),
        ("±", "..#.. ..#.. ##### ..#.. ..#.. ..... #####"),
        ("∝", "..... ..... .#.## #.#.. #.#.. .#.## ....."),
    ]

    /// Glyph bitmaps: per character, one `UInt8` per row (bit 4 = leftmost column), `glyphHeight` rows.
    static let glyphs: [Character: [UInt8]] = {
        var table: [Character: [UInt8]] = [:]
        for (ch, text) in glyphSource {
            var rows = [UInt8](repeating: 0, count: glyphHeight)
            for (r, row) in text.split(separator: " ").enumerated() where r < glyphHeight {
                precondition(row.count == glyphWidth, "glyph '\(ch)' row \(r) is \(row.count) wide")
                for (c, cell) in row.enumerated() where cell == "#" { rows[r] |= UInt8(1 << (glyphWidth - 1 - c)) }
            }
            table[ch] = rows
        }
        return table
    }()

    /// Whether `character` has its own glyph (others are drawn as `?`).
    public static func hasGlyph(_ character: Character) -> Bool { glyphs[character] != nil }

    /// The rows of `character`'s glyph.
    static func rows(_ character: Character) -> [UInt8] { glyphs[character] ?? glyphs["?"]! }

    /// The width in pixels of `text` on one line at `scale` (no trailing gap).
    public static func width(of text: String, scale: Int = 1) -> Int {
        let n = text.count
        return n == 0 ? 0 : (n * advance - (advance - glyphWidth)) * max(1, scale)
    }

    /// The height in pixels of one line of text at `scale`, descenders included.
    public static func height(scale: Int = 1) -> Int { glyphHeight * max(1, scale) }
}

/// Where a text's anchor point lies horizontally.
public enum TextAlignment: Sendable {
    /// The anchor is the text's left edge.
    case left
    /// The anchor is the text's horizontal centre.
    case center
    /// The anchor is the text's right edge.
    case right
}

extension Canvas {
    /// Draws `text` in ``BitmapFont`` at `scale`, with the top of its cap height at `y` and its anchor (left edge,
    /// centre or right edge per `alignment`) at `x`.
    public mutating func text(_ text: String, x: Int, y: Int, scale: Int = 1, color: RGBColor = .ink,
                              alignment: TextAlignment = .left) {
        let s = max(1, scale)
        let w = BitmapFont.width(of: text, scale: s)
        var left = x
        switch alignment {
        case .left: break
        case .center: left = x - w / 2
        case .right: left = x - w
        }
        for (i, ch) in text.enumerated() {
            let gx = left + i * BitmapFont.advance * s
            for (r, bits) in BitmapFont.rows(ch).enumerated() where bits != 0 {
                for c in 0..<BitmapFont.glyphWidth where bits & UInt8(1 << (BitmapFont.glyphWidth - 1 - c)) != 0 {
                    fill(x: gx + c * s, y: y + r * s, width: s, height: s, color: color)
                }
            }
        }
    }

    /// Draws `text` rotated a quarter turn anticlockwise (reading bottom to top), centred vertically on `centerY`,
    /// with the top of its cap height (now its left side) at `x`.
    public mutating func verticalText(_ text: String, x: Int, centerY: Int, scale: Int = 1, color: RGBColor = .ink) {
        let s = max(1, scale)
        let w = BitmapFont.width(of: text, scale: s)
        let bottom = centerY + w / 2  // the text starts at the bottom
        for (i, ch) in text.enumerated() {
            let along = i * BitmapFont.advance * s
            for (r, bits) in BitmapFont.rows(ch).enumerated() where bits != 0 {
                for c in 0..<BitmapFont.glyphWidth where bits & UInt8(1 << (BitmapFont.glyphWidth - 1 - c)) != 0 {
                    // Glyph (column c, row r) → canvas: x grows with the row, y shrinks with the column.
                    fill(x: x + r * s, y: bottom - along - (c + 1) * s, width: s, height: s, color: color)
                }
            }
        }
    }
}
