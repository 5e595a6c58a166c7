// The `sparse-tune` command: subcommand registry and the one place errors become `error: …` and exit 1.
import ArgumentParser
import Foundation
import SparseTuning
import SparseTuningMPI

@main
struct SparseTune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sparse-tune",
        abstract: "Vision Transformers with Sparse-Tuning on the CPU: inference, FLOPs, benchmarks.",
        version: SparseTuningVersion.string,
        subcommands: [DemoCommand.self, TrainCommand.self, EvalCommand.self, ForwardCommand.self, PredictCommand.self, SegmentCommand.self, GradCommand.self, InspectCommand.self, FlopsCommand.self, BenchCommand.self, PlotCommand.self, VisualizeCommand.self, VTABCommand.self, SweepCommand.self, ServeCommand.self]
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            if MPICollective.launchedByMPI && !(command is TrainCommand || command is VTABCommand || command is SweepCommand) {
                throw SparseTuningError("under mpirun only `train` (data-parallel), `vtab` and `sweep` (runs shared by the ranks) "
                    + "run; run other commands without mpirun (docs/DISTRIBUTED.md)")
            }
            try command.run()
        } catch let error as SparseTuningError {
            fail(error.message)
        } catch let error as CocoaError {
            fail(error.localizedDescription)
        } catch {
            exit(withError: error)
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        Foundation.exit(1)
    }
}

/// Writes a progress or status line to stderr (stdout stays machine-readable); in a data-parallel run each line
/// names its rank.
func note(_ message: String) {
    FileHandle.standardError.write(Data((rankPrefix + message + "\n").utf8))
}

/// `[rank r/N] ` in a data-parallel run, else empty (set once by `train`).
nonisolated(unsafe) var rankPrefix = ""
