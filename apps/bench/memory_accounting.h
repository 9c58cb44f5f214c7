// Peak memory of a piece of work, counted at libtorch's CPU allocator.
#pragma once

#include <cstdint>
#include <functional>

namespace rsd::bench {

/// Peak bytes allocated through libtorch's CPU allocator above those live before `body` ran, while
/// it ran (its outputs included). Every tensor and every scratch buffer an op takes from the CPU
/// allocator is seen; memory an op takes with plain malloc is not.
/// Ops that take raw buffers from the allocator (oneDNN convolutions) refuse the counting wrapper:
/// measure those with peak_rss_extra_bytes.
int64_t peak_extra_bytes(const std::function<void()>& body);

/// Peak resident memory of this process above its resident memory before `body` ran, while it ran
/// (Linux: /proc/self/status VmHWM after resetting it through /proc/self/clear_refs). Sees every
/// allocation, libtorch's or not. -1 when the kernel refuses the reset.
int64_t peak_rss_extra_bytes(const std::function<void()>& body);

}  // namespace rsd::bench
