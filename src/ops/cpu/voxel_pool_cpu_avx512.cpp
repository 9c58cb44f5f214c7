// The CPU kernels for AVX-512 (F, VL, BW, DQ; compiled with those flags and 512-bit vectors; run
// only where cpuid reports them).
#define RSD_CPU_VARIANT avx512
#define RSD_CPU_VECTOR_BYTES 64
#include "ops/cpu/voxel_pool_cpu_kernels.inl"
