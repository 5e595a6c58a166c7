// Fuzz target: a whole safetensors file (mapped from a scratch file): open, every tensor converted to fp32,
// and the checkpoint inspection the `inspect` command prints.
import Foundation
@testable import SparseTuning

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    withScratchFile(UnsafeRawBufferPointer(start: data, count: size), suffix: ".safetensors") { path in
        if let file = try? SafetensorsFile.open(path) {
            _ = try? file.loadAll()
        }
        _ = try? Checkpoint.load(path)
    }
    return 0
}
