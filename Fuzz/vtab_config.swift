// Fuzz target: VTAB task configuration files (VTABTaskConfig.parse) and the recipes derived from them.
@testable import SparseTuning

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let json = text(UnsafeRawBufferPointer(start: data, count: size))
    if let config = try? VTABTaskConfig.parse(json, file: "fuzz.json") {
        for method in TuningMethod.allCases {
            _ = config.trainingOptions(for: method)
            _ = config.tuning(for: method)
        }
    }
    return 0
}
