// Resize: PIL-exact bicubic resampling and torchvision's centre crop / shorter-side resize on RGBImage.

extension RGBImage {
    /// Bicubic resize reproducing PIL's `Image.resize((width, height), Image.BICUBIC)` on RGB
    /// images bit for bit (Pillow 13): cubic convolution with a = −0.5, support widened by the
    /// downscale factor (antialiasing), coefficients normalised and rounded to 22-bit fixed
    /// point, two separable passes each rounding and clipping to 8 bits. A pass whose size does
    /// not change is skipped (it would be the identity).
    ///
    /// Pass order follows Pillow 13: vertical first when the height shrinks by more than twice
    /// as many pixels as the width (`H − h > 0` and `H − h > 2 (W − w)`), horizontal first
    /// otherwise. Pillow 12 and older always go horizontal first, so for the vertical-first
    /// cases they differ from this (and from Pillow 13) by a few grey levels.
    public func resized(width outWidth: Int, height outHeight: Int) -> RGBImage {
        precondition(outWidth > 0 && outHeight > 0, "resize to an empty size \(outWidth)×\(outHeight)")
        precondition(width > 0 && height > 0, "resize of an empty \(width)×\(height) image")
        switch (outWidth != width, outHeight != height) {
        case (false, false):
            return self
        case (true, false):
            return horizontalPass(rows: 0..<height, to: outWidth)
        case (false, true):
            return verticalPass(BicubicCoefficients(inSize: height, outSize: outHeight), rowOffset: 0)
        case (true, true):
            let vertical = BicubicCoefficients(inSize: height, outSize: outHeight)
            let shrinkY = height - outHeight, shrinkX = width - outWidth
            if shrinkY > 0 && shrinkY > 2 * shrinkX {
                return verticalPass(vertical, rowOffset: 0).horizontalPass(rows: 0..<outHeight, to: outWidth)
            }
            // Horizontal pass over only the source rows the vertical pass reads.
            let firstRow = vertical.start[0]
            let lastRow = vertical.start[outHeight - 1] + vertical.count[outHeight - 1]
            return horizontalPass(rows: firstRow..<lastRow, to: outWidth).verticalPass(vertical, rowOffset: firstRow)
        }
    }

    /// The centred `width × height` region, as torchvision's `CenterCrop`: the top-left corner
    /// is `round((size − crop) / 2)` (ties to even, like Python's `round`); along an axis where
    /// the crop is larger than the image, the image is centred on black (`(crop − size) / 2`
    /// pixels before it, rounded down).
    public func centerCropped(width cropWidth: Int, height cropHeight: Int) -> RGBImage {
        precondition(cropWidth > 0 && cropHeight > 0, "crop to an empty size \(cropWidth)×\(cropHeight)")
        func origin(_ size: Int, _ crop: Int) -> Int {
            crop > size ? -((crop - size) / 2) : Int((Double(size - crop) / 2).rounded(.toNearestOrEven))
        }
        let left = origin(width, cropWidth), top = origin(height, cropHeight)
        var out = [UInt8](repeating: 0, count: cropWidth * cropHeight * 3)
        // Columns of the crop that fall inside the image.
        let x0 = max(0, -left), x1 = min(cropWidth, width - left)
        out.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                for y in 0..<cropHeight where x0 < x1 {
                    let sy = y + top
                    guard sy >= 0 && sy < height else { continue }
                    let from = (sy * width + x0 + left) * 3
                    let to = (y * cropWidth + x0) * 3
                    (dst.baseAddress! + to).update(from: src.baseAddress! + from, count: (x1 - x0) * 3)
                }
            }
        }
        return RGBImage(width: cropWidth, height: cropHeight, pixels: out)
    }

    /// Bicubic resize keeping the aspect ratio so the shorter side becomes `size`, as
    /// torchvision's `Resize(size)` with an integer size: the longer side becomes
    /// `floor(size × long / short)`.
    public func resizedShorterSide(to size: Int) -> RGBImage {
        precondition(size > 0, "shorter side \(size) must be positive")
        let short = min(width, height), long = max(width, height)
        let newLong = Int(Double(size * long) / Double(short))
        return width <= height ? resized(width: size, height: newLong) : resized(width: newLong, height: size)
    }

    /// PIL's horizontal 8-bit pass over the given source rows.
    private func horizontalPass(rows: Range<Int>, to outWidth: Int) -> RGBImage {
        let coefficients = BicubicCoefficients(inSize: width, outSize: outWidth)
        var out = [UInt8](repeating: 0, count: outWidth * rows.count * 3)
        out.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                coefficients.weights.withUnsafeBufferPointer { weights in
                    for (y, sy) in rows.enumerated() {
                        let srcRow = src.baseAddress! + sy * width * 3
                        let dstRow = dst.baseAddress! + y * outWidth * 3
                        for x in 0..<outWidth {
                            let k = weights.baseAddress! + x * coefficients.stride
                            let p = srcRow + coefficients.start[x] * 3
                            var r = BicubicCoefficients.half, g = r, b = r
                            for i in 0..<coefficients.count[x] {
                                let w = Int(k[i])
                                r += Int(p[3 * i]) * w
                                g += Int(p[3 * i + 1]) * w
                                b += Int(p[3 * i + 2]) * w
                            }
                            dstRow[3 * x] = BicubicCoefficients.clip(r)
                            dstRow[3 * x + 1] = BicubicCoefficients.clip(g)
                            dstRow[3 * x + 2] = BicubicCoefficients.clip(b)
                        }
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: rows.count, pixels: out)
    }

    /// PIL's vertical 8-bit pass; source row `start − rowOffset` holds image row `start`.
    private func verticalPass(_ coefficients: BicubicCoefficients, rowOffset: Int) -> RGBImage {
        let outHeight = coefficients.start.count
        let rowLength = width * 3
        var out = [UInt8](repeating: 0, count: rowLength * outHeight)
        var accumulator = [Int](repeating: 0, count: rowLength)
        out.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                accumulator.withUnsafeMutableBufferPointer { acc in
                    for y in 0..<outHeight {
                        acc.update(repeating: BicubicCoefficients.half)
                        for i in 0..<coefficients.count[y] {
                            let w = Int(coefficients.weights[y * coefficients.stride + i])
                            let row = src.baseAddress! + (coefficients.start[y] - rowOffset + i) * rowLength
                            for j in 0..<rowLength { acc[j] += Int(row[j]) * w }
                        }
                        let dstRow = dst.baseAddress! + y * rowLength
                        for j in 0..<rowLength { dstRow[j] = BicubicCoefficients.clip(acc[j]) }
                    }
                }
            }
        }
        return RGBImage(width: width, height: outHeight, pixels: out)
    }
}

/// PIL's bicubic filter taps for one axis (`precompute_coeffs` + `normalize_coeffs_8bpc`).
private struct BicubicCoefficients {
    /// Fixed-point fraction bits (PIL's PRECISION_BITS = 32 − 8 − 2).
    static let precisionBits = 22
    /// Rounding offset every accumulator starts from.
    static let half = 1 << (precisionBits - 1)

    /// First input index of each output position.
    var start: [Int] = []
    /// Number of input taps of each output position.
    var count: [Int] = []
    /// Fixed-point weights, `stride` per output position (only the first `count` used).
    var weights: [Int32] = []
    /// Weights reserved per output position.
    let stride: Int

    init(inSize: Int, outSize: Int) {
        let taps = CubicTaps.antialiased(inSize: inSize, outSize: outSize).taps
        stride = taps.map(\.count).max() ?? 1
        weights = [Int32](repeating: 0, count: outSize * stride)
        for (out, row) in taps.enumerated() {
            for (i, tap) in row.enumerated() {
                let scaled = tap.weight * Double(1 << Self.precisionBits)
                weights[out * stride + i] = Int32(tap.weight < 0 ? -0.5 + scaled : 0.5 + scaled)
            }
            start.append(row.first?.index ?? 0)
            count.append(row.count)
        }
    }

    /// Fixed-point accumulator to a byte, rounding already included: `acc >> 22` clamped.
    @inline(__always)
    static func clip(_ acc: Int) -> UInt8 {
        UInt8(clamping: acc >> precisionBits)
    }
}
