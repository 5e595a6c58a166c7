// SlidingWindowInference: mmseg's EncoderDecoder.slide_inference and whole_inference over a logits closure, and the
// post-processing of logits to a prediction (bilinear resize to the original size, argmax over classes).

/// Window size and stride of sliding-window inference (mmseg's `test_cfg=dict(mode='slide', crop_size, stride)`).
public struct SlidingWindow: Sendable, Equatable {
    public let cropHeight: Int, cropWidth: Int
    public let strideHeight: Int, strideWidth: Int

    public init(crop: (height: Int, width: Int), stride: (height: Int, width: Int)) throws {
        guard crop.height > 0, crop.width > 0, stride.height > 0, stride.width > 0 else {
            throw SparseTuningError("sliding window needs a positive crop and stride (got crop \(crop.width)×\(crop.height), "
                                    + "stride \(stride.width)×\(stride.height))")
        }
        cropHeight = crop.height
        cropWidth = crop.width
        strideHeight = stride.height
        strideWidth = stride.width
    }

    /// mmseg's ADE20K setting for a crop of `size` (512 → stride 341: ⌊size·2/3⌋).
    public static func square(_ size: Int, stride: Int? = nil) throws -> SlidingWindow {
        let s = stride ?? size * 2 / 3
        return try SlidingWindow(crop: (size, size), stride: (s, s))
    }

    /// The windows over an H×W image, row by row: (y1, y2, x1, x2) half-open, as mmseg computes them —
    /// grids = max(H − crop + stride − 1, 0) / stride + 1; y1 = i·stride, y2 = min(y1 + crop, H), y1 = max(y2 − crop, 0).
    public func windows(height: Int, width: Int) -> [(y1: Int, y2: Int, x1: Int, x2: Int)] {
        let hGrids = max(height - cropHeight + strideHeight - 1, 0) / strideHeight + 1
        let wGrids = max(width - cropWidth + strideWidth - 1, 0) / strideWidth + 1
        var out: [(y1: Int, y2: Int, x1: Int, x2: Int)] = []
        for h in 0..<hGrids {
            for w in 0..<wGrids {
                let y2 = min(h * strideHeight + cropHeight, height), x2 = min(w * strideWidth + cropWidth, width)
                out.append((max(y2 - cropHeight, 0), y2, max(x2 - cropWidth, 0), x2))
            }
        }
        return out
    }
}

/// Inference of a segmentation model given as a closure from images to logits.
public enum SegmentationInference {
    /// mmseg's `slide_inference`: `logits` is called on each window (B, 3, h, w) of `image` (B, 3, H, W) and must
    /// return (B, K, h, w) (the model's logits already upsampled to the window); the window logits are summed into
    /// a (B, K, H, W) buffer and divided by the number of windows covering each pixel.
    ///
    /// - Throws: the closure's error, or ``SparseTuningError`` when it returns a wrong shape.
    public static func slide(_ image: Tensor, window: SlidingWindow,
                             logits: (Tensor) throws -> Tensor) throws -> Tensor {
        precondition(image.shape.count == 4, "slide inference expects (B, C, H, W), got \(image.shape)")
        let (b, c, height, width) = (image.shape[0], image.shape[1], image.shape[2], image.shape[3])
        var sum: Tensor?  // (B, K, H, W)
        var count = [Float](repeating: 0, count: height * width)  // (H, W)
        for (y1, y2, x1, x2) in window.windows(height: height, width: width) {
            let (h, w) = (y2 - y1, x2 - x1)
            let crop = Tensor(uninitialized: [b, c, h, w])  // (B, C, h, w)
            for plane in 0..<(b * c) {
                for y in 0..<h {
                    (crop.data + (plane * h + y) * w)
                        .update(from: image.data + (plane * height + y1 + y) * width + x1, count: w)
                }
            }
            let out = try logits(crop)  // (B, K, h, w)
            guard out.shape.count == 4, out.shape[0] == b, out.shape[2] == h, out.shape[3] == w,
                  sum == nil || out.shape[1] == sum!.shape[1] else {
                throw SparseTuningError("window logits have shape \(out.shape); expected (\(b), K, \(h), \(w))")
            }
            if sum == nil { sum = Tensor(zeros: [b, out.shape[1], height, width]) }
            let k = out.shape[1]
            for plane in 0..<(b * k) {
                for y in 0..<h {
                    let dst = sum!.data + (plane * height + y1 + y) * width + x1, src = out.data + (plane * h + y) * w
                    for x in 0..<w { dst[x] += src[x] }
                }
            }
            for y in y1..<y2 { for x in x1..<x2 { count[y * width + x] += 1 } }
        }
        let result = sum!
        let planes = result.count / max(height * width, 1)
        for plane in 0..<planes {
            let p = result.data + plane * height * width
            for i in 0..<(height * width) { p[i] /= count[i] }
        }
        return result
    }

    /// mmseg's `whole_inference`: one call of `logits` on the whole image (B, 3, H, W) → (B, K, H, W).
    public static func whole(_ image: Tensor, logits: (Tensor) throws -> Tensor) throws -> Tensor {
        try logits(image)
    }

    /// mmseg's `postprocess_result`: `logits` (B, K, h, w) resized bilinearly (align_corners false) to the original
    /// `height × width` (skipped when equal), then the arg-max class per pixel (first maximum on ties, as torch).
    public static func predict(_ logits: Tensor, height: Int, width: Int) -> [LabelMap] {
        precondition(logits.shape.count == 4 && logits.shape[1] <= 256, "predict expects (B, K ≤ 256, h, w)")
        let resized = logits.shape[2] == height && logits.shape[3] == width
            ? logits : bilinearResize(logits, height: height, width: width)  // (B, K, H, W)
        let (b, k, plane) = (logits.shape[0], logits.shape[1], height * width)
        return (0..<b).map { n in
            var best = [Float](repeating: -.infinity, count: plane)
            var labels = [UInt8](repeating: 0, count: plane)  // (H, W)
            for c in 0..<k {
                let p = resized.data + (n * k + c) * plane
                for i in 0..<plane where p[i] > best[i] || (c == 0) {
                    best[i] = p[i]
                    labels[i] = UInt8(c)
                }
            }
            return LabelMap(width: width, height: height, labels: labels)
        }
    }
}
