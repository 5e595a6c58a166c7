// Fuzz target: the .npy reader (header, dtypes, byte order, Fortran order), in memory.
import Foundation
@testable import SparseTuning

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let array = try? NPY.read(bytes: bytes, name: "fuzz.npy") {
        _ = array.tensor
        _ = array.int64Values
    }
    _ = try? NPYHeader(bytes, name: "fuzz.npy")
    return 0
}
