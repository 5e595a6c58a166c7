// oneDNN C API (Debian libdnnl-dev, OpenMP runtime) plus the two libgomp calls used to set the thread count.
#include <oneapi/dnnl/dnnl.h>
void omp_set_num_threads(int n);
int omp_get_max_threads(void);
