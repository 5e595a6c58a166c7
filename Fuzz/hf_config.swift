// Fuzz target: config.json of Hugging Face ViT checkpoints (HuggingFaceViTConfig.parse) and the model shape
// derived from it.
import Foundation
@testable import SparseTuning

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let config = try? HuggingFaceViTConfig.parse(Data(bytes: data, count: size), file: "config.json") {
        let vit = config.vitConfig(classes: 10)
        if (try? vit.validate()) != nil { _ = vit.tokens }
    }
    return 0
}
