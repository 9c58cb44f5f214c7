#include "bench/copy_bandwidth.h"

#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <vector>

namespace rsd::bench {
namespace {

struct Buffers {
  explicit Buffers(std::size_t bytes) : size(bytes), source(bytes, 1), target(bytes, 0) {}
  std::size_t size;
  std::vector<char> source;  // filled, so that every page is really mapped before timing
  std::vector<char> target;
};

void count_bytes(benchmark::State& state, std::size_t bytes) {
  const double moved = 2.0 * static_cast<double>(bytes);  // read + write
  state.counters["bytes_per_second"] =
      benchmark::Counter(moved, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

void register_copy_benchmarks(std::size_t bytes) {
  auto buffers = std::make_shared<Buffers>(bytes);
  benchmark::RegisterBenchmark("copy/memcpy", [buffers](benchmark::State& state) {
    for (auto _ : state) {
      std::memcpy(buffers->target.data(), buffers->source.data(), buffers->size);
      benchmark::ClobberMemory();
    }
    count_bytes(state, buffers->size);
  })->UseRealTime()->Unit(benchmark::kMillisecond);

  benchmark::RegisterBenchmark("copy/parallel", [buffers](benchmark::State& state) {
    constexpr int64_t kChunk = 1 << 20;
    const auto size = static_cast<int64_t>(buffers->size);
    for (auto _ : state) {
      at::parallel_for(0, (size + kChunk - 1) / kChunk, 1, [&](int64_t begin, int64_t end) {
        const int64_t from = begin * kChunk;
        const int64_t to = std::min(size, end * kChunk);
        std::memcpy(buffers->target.data() + from, buffers->source.data() + from,
                    static_cast<std::size_t>(to - from));
      });
      benchmark::ClobberMemory();
    }
    count_bytes(state, buffers->size);
  })->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace rsd::bench
