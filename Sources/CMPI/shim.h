// Open MPI's C API for Swift: the handles MPI defines as macros (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM …) are not
// importable, so they are exposed as inline functions.
#include <mpi.h>

static inline MPI_Comm st_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype st_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype st_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype st_mpi_char(void) { return MPI_CHAR; }
static inline MPI_Op st_mpi_sum(void) { return MPI_SUM; }
static inline void *st_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler st_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
