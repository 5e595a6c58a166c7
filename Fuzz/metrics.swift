// Fuzz target: metrics logs (JSON Lines, MetricsLog.read), read from a scratch file.
@testable import SparseTuning

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    withScratchFile(UnsafeRawBufferPointer(start: data, count: size), suffix: ".jsonl") { path in
        if let records = try? MetricsLog.read(path) {
            for record in records { _ = try? record.jsonLine() }
        }
    }
    return 0
}
