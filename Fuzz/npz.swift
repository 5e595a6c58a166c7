// Fuzz target: the .npz reader (ZIP archive via ZIPFoundation, stored and deflated members, member headers).
@testable import SparseTuning

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    withScratchFile(UnsafeRawBufferPointer(start: data, count: size), suffix: ".npz") { path in
        _ = try? NPZ.headers(path: path)
        if let arrays = try? NPZ.read(path: path) {
            for array in arrays.values { _ = array.tensor }
        }
    }
    return 0
}
