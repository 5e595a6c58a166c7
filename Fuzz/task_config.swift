// Fuzz target: a task file's metadata JSON (`sparse_tuning.config`): TaskConfig decoding, the checks the CLI
// applies before building a model, and the resume/task metadata parser.
@testable import SparseTuning

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let json = text(UnsafeRawBufferPointer(start: data, count: size))
    _ = try? TrainingCheckpoint.parseConfig(json, path: "fuzz", what: "metadata")
    if let task = try? TaskConfig.decode(json, file: "fuzz"), (try? task.vit.validate()) != nil,
       (try? task.tuning.validate(depth: task.vit.depth)) != nil {
        _ = task.vit.tokens
        _ = task.encoded()
    }
    return 0
}
