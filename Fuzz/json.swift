// Fuzz target: the JSON parser (JSONValue) and the JSON result files the tool reads back with JSONDecoder
// (VTAB run results, sweep points, run plans).
import Foundation
@testable import SparseTuning

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let value = try? JSONValue.parse(bytes) {
        _ = value.serialized
    }
    let blob = Data(bytes)
    _ = try? JSONDecoder().decode(VTABRunResult.self, from: blob)
    _ = try? JSONDecoder().decode(SweepPoint.self, from: blob)
    _ = try? JSONDecoder().decode(VTABExperiment.RunPlan.self, from: blob)
    return 0
}
