// The CPU kernels for any CPU (x86-64: SSE2's 16-byte vectors).
#define RSD_CPU_VARIANT baseline
#define RSD_CPU_VECTOR_BYTES 16
#include "ops/cpu/voxel_pool_cpu_kernels.inl"
