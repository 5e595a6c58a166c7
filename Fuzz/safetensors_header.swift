// Fuzz target: the safetensors header parser and validator (SafetensorsHeader), in memory.
@testable import SparseTuning

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let header = try? SafetensorsHeader(file: bytes, path: "fuzz.safetensors") {
        for entry in header.entries { _ = entry.dataRange.count + entry.elementCount }
    }
    return 0
}
