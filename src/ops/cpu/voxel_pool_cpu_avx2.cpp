// The CPU kernels for AVX2 + FMA (compiled with -mavx2 -mfma; run only where cpuid reports both).
#define RSD_CPU_VARIANT avx2
#define RSD_CPU_VECTOR_BYTES 32
#include "ops/cpu/voxel_pool_cpu_kernels.inl"
