// The copy bandwidth of this machine, measured in the same run as the ops it is compared with.
#pragma once

#include <cstddef>

namespace rsd::bench {

/// Registers "copy/memcpy" (one thread) and "copy/parallel" (at::parallel_for over all intra-op
/// threads) over `bytes`-sized buffers. Their counter "bytes_per_second" counts bytes read plus
/// bytes written, the same convention as the effective bandwidth of the ops.
void register_copy_benchmarks(std::size_t bytes);

}  // namespace rsd::bench
