// `Collective` over Open MPI (MPI_COMM_WORLD): used by the command line when it was started by mpirun
// (docs/DISTRIBUTED.md). MPI is initialised once per process, only when the launcher's environment says so; a
// failed call becomes an error naming the operation and the rank.
import CMPI
import Foundation
import SparseTuning

/// The processes started by `mpirun`, as a ``Collective``.
public final class MPICollective: Collective, @unchecked Sendable {
    public let rank: Int
    public let size: Int

    /// The world of this process when an MPI launcher started it (Open MPI's or PMI's environment), else nil — no
    /// MPI call is made then, so a process started without mpirun never touches MPI.
    public static func fromEnvironment() throws -> MPICollective? {
        guard launchedByMPI else { return nil }
        return try MPICollective()
    }

    /// Whether an MPI launcher (Open MPI's mpirun, or a PMI/PMIx one) started this process.
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMI_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    private init() throws {
        var provided: Int32 = 0
        var argc: Int32 = 0
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        var initialised: Int32 = 0
        MPI_Initialized(&initialised)
        if initialised == 0 {
            let rc = MPI_Init_thread(&argc, &argv, Int32(MPI_THREAD_FUNNELED), &provided)
            guard rc == MPI_SUCCESS else { throw SparseTuningError("MPI_Init_thread failed (code \(rc))") }
            atexit { var done: Int32 = 0; MPI_Finalized(&done); if done == 0 { MPI_Finalize() } }
        }
        MPI_Comm_set_errhandler(st_mpi_comm_world(), st_mpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(st_mpi_comm_world(), &r)
        MPI_Comm_size(st_mpi_comm_world(), &s)
        rank = Int(r)
        size = Int(s)
    }

    private func check(_ rc: Int32, _ what: String) throws {
        guard rc != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(rc, &text, &length)
        throw SparseTuningError("rank \(rank) of \(size): \(what) failed: \(String(cString: text)) (another rank may have died)")
    }

    public func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        var done = 0
        while done < count {  // MPI counts are 32-bit
            let n = min(count - done, Int(Int32.max))
            try check(MPI_Allreduce(st_mpi_in_place(), buffer + done, Int32(n), st_mpi_float(), st_mpi_sum(), st_mpi_comm_world()),
                      "MPI_Allreduce of \(n) floats")
            done += n
        }
    }

    public func allreduceSum(_ values: inout [Double]) throws {
        let n = Int32(values.count)
        try values.withUnsafeMutableBufferPointer { b in
            try check(MPI_Allreduce(st_mpi_in_place(), b.baseAddress, n, st_mpi_double(), st_mpi_sum(), st_mpi_comm_world()),
                      "MPI_Allreduce of \(n) doubles")
        }
    }

    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) throws {
        var done = 0
        while done < count {
            let n = min(count - done, Int(Int32.max))
            try check(MPI_Bcast(buffer + done, Int32(n), st_mpi_float(), Int32(root), st_mpi_comm_world()), "MPI_Bcast of \(n) floats")
            done += n
        }
    }
}
