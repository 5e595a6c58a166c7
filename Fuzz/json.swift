// Fuzz target: JSONCoding's decoding (any JSON value as a JSONTree, compared and re-encoded) and the JSON result
// files the tool reads back (VTAB run results, sweep points, run plans), with their error messages.
import Foundation
@testable import SparseTuning

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let blob = Data(bytes: data, count: size)
    if let tree = try? JSONCoding.decode(JSONTree.self, from: blob, source: "fuzz") {
        _ = tree.text
        _ = tree.leaves
        _ = tree.differences(from: .object([:]))
    }
    _ = try? JSONCoding.decode(VTABRunResult.self, from: blob, source: "fuzz")
    _ = try? JSONCoding.decode(SweepPoint.self, from: blob, source: "fuzz")
    _ = try? JSONCoding.decode(VTABExperiment.RunPlan.self, from: blob, source: "fuzz")
    return 0
}
