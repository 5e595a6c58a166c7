// FFmpegRGBConverter: decoded frames (any pixel format) to RGBImage at their native size with libswscale, set up
// as ffmpeg's own `-pix_fmt rgb24` conversion so the bytes equal `ffmpeg -i X -f rawvideo -pix_fmt rgb24`.
import CFFmpeg

/// Converts frames to 8-bit RGB the way the ffmpeg CLI does.
///
/// The CLI converts through its scale filter with `flags=bicubic` (the CLI's default `sws_flags`; at the native
/// size the interpolation kernel is unused, so only the flag set matters: no ACCURATE_RND, no FULL_CHR_H_INT),
/// and that filter overrides the YUV→RGB matrix with the frame's colorspace (BT.601 when unspecified) and the
/// input range with the frame's color_range when the frame states one. Both are done here, per frame.
final class FFmpegRGBConverter {
    /// The libswscale flags (the ffmpeg CLI's default).
    static let flags = SWS_BICUBIC
    private let path: String
    private var context: OpaquePointer?  // SwsContext, reused while the frames' size and format stay the same

    init(path: String) { self.path = path }

    deinit { sws_freeContext(context) }

    /// The RGB image of `frame`.
    ///
    /// - Throws: when its size is above ``ImageDecoder/maxPixels`` or libswscale cannot convert its format.
    func convert(_ frame: UnsafeMutablePointer<AVFrame>) throws -> RGBImage {
        let width = Int(frame.pointee.width), height = Int(frame.pointee.height)
        guard width > 0, height > 0, width * height <= ImageDecoder.maxPixels else {
            throw SparseTuningError("cannot read video '\(path)': a frame is \(width)×\(height) pixels, outside 1 "
                + "to \(ImageDecoder.maxPixels / 1_000_000) megapixels")
        }
        let source = AVPixelFormat(rawValue: frame.pointee.format)
        context = sws_getCachedContext(context, Int32(width), Int32(height), source, Int32(width), Int32(height),
                                       AV_PIX_FMT_RGB24, Self.flags, nil, nil, nil)
        guard let context else {
            let name = av_get_pix_fmt_name(source).map { String(cString: $0) } ?? "\(frame.pointee.format)"
            throw SparseTuningError("cannot read video '\(path)': cannot convert pixel format \(name) to RGB")
        }
        matchColorspace(of: frame, context)
        var pixels = [UInt8](repeating: 0, count: height * width * 3)  // (height, width, 3)
        let rows = pixels.withUnsafeMutableBufferPointer { out -> Int32 in
            var destination: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
            var destinationStrides: [Int32] = [Int32(width * 3), 0, 0, 0]
            return withUnsafePointer(to: &frame.pointee.data) { planes in
                withUnsafePointer(to: &frame.pointee.linesize) { strides in
                    planes.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: Int(AV_NUM_DATA_POINTERS)) {
                        source in
                        strides.withMemoryRebound(to: Int32.self, capacity: Int(AV_NUM_DATA_POINTERS)) { sourceStrides in
                            sws_scale(context, source, sourceStrides, 0, Int32(height), &destination, &destinationStrides)
                        }
                    }
                }
            }
        }
        guard rows == Int32(height) else {
            throw SparseTuningError("cannot read video '\(path)': converting a frame to RGB failed")
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The YUV→RGB matrix of the frame's colorspace, and its range when stated, as ffmpeg's scale filter sets them.
    private func matchColorspace(of frame: UnsafeMutablePointer<AVFrame>, _ context: OpaquePointer) {
        var inverse: UnsafeMutablePointer<Int32>?, table: UnsafeMutablePointer<Int32>?
        var sourceFull: Int32 = 0, destinationFull: Int32 = 0
        var brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
        guard sws_getColorspaceDetails(context, &inverse, &sourceFull, &table, &destinationFull,
                                       &brightness, &contrast, &saturation) >= 0 else { return }
        let coefficients = sws_getCoefficients(Int32(frame.pointee.colorspace.rawValue))
        if frame.pointee.color_range != AVCOL_RANGE_UNSPECIFIED {
            sourceFull = frame.pointee.color_range == AVCOL_RANGE_JPEG ? 1 : 0
        }
        _ = sws_setColorspaceDetails(context, coefficients, sourceFull, coefficients, destinationFull,
                                     brightness, contrast, saturation)
    }
}
