// oneDNN C API (Debian libdnnl-dev, OpenMP runtime) plus the libgomp entry points used to size the thread team
// and to run the Swift kernels' parallel loops on the same OpenMP threads as oneDNN (no oversubscription).
#include <oneapi/dnnl/dnnl.h>
void omp_set_num_threads(int n);
int omp_get_max_threads(void);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
/* GCC's ABI for `#pragma omp parallel num_threads(n)`: runs fn(data) on n threads and waits. */
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
/* glibc's malloc_trim (the matmul peak probe gives its buffers back before the model runs). */
#include <malloc.h>
