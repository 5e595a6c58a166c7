// Fuzz target: image decoding from bytes (ImageDecoder: JPEG through libjpeg-turbo, PNG through libpng).
// scripts/fuzz.sh builds it twice, as `jpeg` and `png`, seeded with JPEG or PNG files respectively.
import Foundation
@testable import SparseTuning

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    if let image = try? ImageDecoder.decode(bytes, name: "fuzz-image") {
        _ = image.width * image.height
    }
    return 0
}
