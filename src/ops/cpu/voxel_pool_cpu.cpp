#include "ops/cpu/voxel_pool_cpu.h"

#include <ATen/Parallel.h>
#include <c10/core/CPUAllocator.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "ops/cpu/voxel_pool_cpu_kernels.h"
#include "rsd/util/error.h"

namespace rsd::ops::cpu {
namespace {

// ----- kernel variants -----------------------------------------------------------------------

struct Variant {
  const char* name;
  const KernelSet* (*kernels)();
  bool (*supported)();
};

#if RSD_CPU_X86_VARIANTS
bool cpu_has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("fma");
}
bool cpu_has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#endif
bool always() { return true; }

// Fastest first.
const std::vector<Variant>& variants() {
  static const std::vector<Variant> all{
#if RSD_CPU_X86_VARIANTS
      {"avx512", &kernels_avx512, &cpu_has_avx512},
      {"avx2", &kernels_avx2, &cpu_has_avx2},
#endif
      {"baseline", &kernels_baseline, &always}};
  return all;
}

const KernelSet* fastest_kernels() {
  for (const auto& variant : variants()) {
    if (variant.supported()) return variant.kernels();
  }
  return kernels_baseline();
}

std::atomic<const KernelSet*> selected_kernels{nullptr};

const KernelSet& kernels() {
  const KernelSet* set = selected_kernels.load(std::memory_order_acquire);
  if (set == nullptr) {
    set = fastest_kernels();
    selected_kernels.store(set, std::memory_order_release);
  }
  return *set;
}

template <typename T>
const KernelTable<T>& table();
template <>
const KernelTable<float>& table<float>() {
  return kernels().f32;
}
template <>
const KernelTable<double>& table<double>() {
  return kernels().f64;
}

// ----- work partitions -----------------------------------------------------------------------

int64_t thread_parts(int64_t items) {
  return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), items));
}

/// Splits [0, count) into `parts` ranges of about equal cost, where prefix_cost(i) is the
/// (non-decreasing) cost of items [0, i).
template <typename PrefixCost>
std::vector<int64_t> balanced_bounds(int64_t count, int64_t parts, const PrefixCost& prefix_cost) {
  std::vector<int64_t> bounds(static_cast<std::size_t>(parts + 1), count);
  bounds[0] = 0;
  const int64_t total = prefix_cost(count);
  for (int64_t part = 1; part < parts; ++part) {
    const int64_t target = static_cast<int64_t>(
        static_cast<double>(total) * static_cast<double>(part) / static_cast<double>(parts));
    int64_t low = bounds[static_cast<std::size_t>(part - 1)];
    int64_t high = count;
    while (low < high) {  // first i with prefix_cost(i) >= target
      const int64_t middle = low + (high - low) / 2;
      if (prefix_cost(middle) < target) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    bounds[static_cast<std::size_t>(part)] = low;
  }
  return bounds;
}

std::vector<int64_t> even_bounds(int64_t count, int64_t parts) {
  return balanced_bounds(count, parts, [](int64_t i) { return i; });
}

}  // namespace

// ----- kernel variants (public) --------------------------------------------------------------

std::vector<std::string> available_variants() {
  std::vector<std::string> names;
  for (const auto& variant : variants()) {
    if (variant.supported()) names.emplace_back(variant.name);
  }
  return names;
}

void select_variant(const std::string& name) {
  if (name == "auto") {
    selected_kernels.store(fastest_kernels(), std::memory_order_release);
    return;
  }
  std::string known;
  for (const auto& variant : variants()) {
    if (name == variant.name) {
      RSD_CHECK(variant.supported(), "voxel_pool: this CPU cannot run the '", name,
                "' kernels (cpuid)");
      selected_kernels.store(variant.kernels(), std::memory_order_release);
      return;
    }
    known += std::string(known.empty() ? "" : ", ") + variant.name;
  }
  throw Error("voxel_pool: unknown CPU kernel variant '" + name + "' (known: auto, " + known + ")");
}

std::string selected_variant() { return kernels().f32.name; }

namespace {

// As few passes as the widest backward tile allows, split evenly in whole vectors (C = 80 floats
// with AVX-512: 48 + 32, not 64 + 16), which also keeps the gradient tile small.
template <typename T>
int64_t pass_width(const KernelTable<T>& kernels, int64_t channels) {
  const int64_t widest = kernels.backward_tile;
  const int64_t passes = std::max<int64_t>(1, (channels + widest - 1) / widest);
  const int64_t even = (channels + passes - 1) / passes;
  const int64_t vector = kernels.vector_width;
  return std::min(widest, (even + vector - 1) / vector * vector);
}

}  // namespace

int64_t backward_pass_width(bool double_precision, int64_t channels) {
  return double_precision ? pass_width(kernels().f64, channels) : pass_width(kernels().f32, channels);
}

// ----- index build ---------------------------------------------------------------------------

// One histogram of cells per range of points (ranges of the frustum in order), allocated through
// the CPU allocator so that memory accounting sees it.
struct CellCountingSort::Histograms {
  int64_t ranges = 0;
  std::vector<int64_t> point_bounds;  // ranges + 1
  c10::DataPtr storage;
  int32_t* row(int64_t range, int64_t cells) {
    return static_cast<int32_t*>(storage.get()) + range * cells;
  }
};

template <typename Scalar>
CellCountingSort::CellCountingSort(const Scalar* points, const FrustumShape& shape,
                                   const detail::GridParams& grid, int32_t* cell_of,
                                   int64_t ranges)
    : shape_(shape), cell_of_(cell_of), histograms_(std::make_unique<Histograms>()) {
  const int64_t cells_per_sample = grid.cells[0] * grid.cells[1] * grid.cells[2];
  total_cells_ = shape.batch * cells_per_sample;
  const int64_t total_points = shape.points();
  RSD_CHECK(total_points < (int64_t{1} << 31) && total_cells_ < (int64_t{1} << 31),
            "voxel_pool index: ", total_points, " frustum points and ", total_cells_,
            " cells exceed the int32 indices");
  // One range per thread, fewer when the histograms would grow large (many threads, many cells).
  constexpr int64_t kMaxHistogramEntries = int64_t{1} << 23;
  if (ranges <= 0) {
    ranges = std::max<int64_t>(
        1, std::min<int64_t>({thread_parts(total_points / 4096 + 1),
                              kMaxHistogramEntries / std::max<int64_t>(total_cells_, 1)}));
  }
  auto& h = *histograms_;
  h.ranges = ranges;
  h.point_bounds = even_bounds(total_points, ranges);
  h.storage = c10::GetCPUAllocator()->allocate(
      static_cast<std::size_t>(std::max<int64_t>(ranges * total_cells_, 1)) * sizeof(int32_t));
  const int64_t points_per_sample = shape.cameras * shape.depth_bins * shape.pixels;
  std::vector<int64_t> kept(static_cast<std::size_t>(ranges), 0);

  at::parallel_for(0, ranges, 1, [&](int64_t range_begin, int64_t range_end) {
    for (int64_t range = range_begin; range < range_end; ++range) {
      int32_t* counts = h.row(range, total_cells_);
      std::memset(counts, 0, static_cast<std::size_t>(total_cells_) * sizeof(int32_t));
      const int64_t begin = h.point_bounds[static_cast<std::size_t>(range)];
      const int64_t end = h.point_bounds[static_cast<std::size_t>(range + 1)];
      int64_t sample = points_per_sample > 0 ? begin / points_per_sample : 0;
      int64_t next_sample_start = (sample + 1) * points_per_sample;
      int64_t range_kept = 0;
      for (int64_t point = begin; point < end; ++point) {
        if (point == next_sample_start) {
          ++sample;
          next_sample_start += points_per_sample;
        }
        const int64_t in_sample = detail::point_cell(points + point * 3, grid);
        int32_t cell = -1;
        if (in_sample >= 0) {
          cell = static_cast<int32_t>(sample * cells_per_sample + in_sample);
          ++counts[cell];
          ++range_kept;
        }
        cell_of[point] = cell;
      }
      kept[static_cast<std::size_t>(range)] = range_kept;
    }
  });
  for (const int64_t count : kept) kept_ += count;
}

CellCountingSort::~CellCountingSort() = default;

void CellCountingSort::scatter(int32_t* cell_ptr, int32_t* point_depth, int32_t* point_feat,
                               int32_t* pixel_kept_prefix) {
  auto& h = *histograms_;
  const int64_t ranges = h.ranges;
  const int64_t cells = total_cells_;

  // Prefix sum over (cell, range): cell_ptr[c] = points in cells before c; each histogram entry
  // becomes the write cursor of its range in that cell. Parallel over blocks of cells.
  const int64_t blocks = thread_parts(cells / 4096 + 1);
  const std::vector<int64_t> cell_bounds = even_bounds(cells, blocks);
  std::vector<int64_t> block_start(static_cast<std::size_t>(blocks + 1), 0);
  at::parallel_for(0, blocks, 1, [&](int64_t block_begin, int64_t block_end) {
    for (int64_t block = block_begin; block < block_end; ++block) {
      int64_t total = 0;
      for (int64_t range = 0; range < ranges; ++range) {
        const int32_t* counts = h.row(range, cells);
        for (int64_t cell = cell_bounds[static_cast<std::size_t>(block)];
             cell < cell_bounds[static_cast<std::size_t>(block + 1)]; ++cell) {
          total += counts[cell];
        }
      }
      block_start[static_cast<std::size_t>(block + 1)] = total;
    }
  });
  for (int64_t block = 0; block < blocks; ++block) {
    block_start[static_cast<std::size_t>(block + 1)] += block_start[static_cast<std::size_t>(block)];
  }
  at::parallel_for(0, blocks, 1, [&](int64_t block_begin, int64_t block_end) {
    for (int64_t block = block_begin; block < block_end; ++block) {
      int64_t running = block_start[static_cast<std::size_t>(block)];
      for (int64_t cell = cell_bounds[static_cast<std::size_t>(block)];
           cell < cell_bounds[static_cast<std::size_t>(block + 1)]; ++cell) {
        cell_ptr[cell] = static_cast<int32_t>(running);
        for (int64_t range = 0; range < ranges; ++range) {
          int32_t& entry = h.row(range, cells)[cell];
          const int32_t count = entry;
          entry = static_cast<int32_t>(running);
          running += count;
        }
      }
    }
  });
  cell_ptr[cells] = static_cast<int32_t>(kept_);

  // Stable scatter: each range walks its points in frustum order.
  const int64_t depth_bins = shape_.depth_bins;
  const int64_t pixels = shape_.pixels;
  const int32_t* cell_of = cell_of_;
  at::parallel_for(0, ranges, 1, [&](int64_t range_begin, int64_t range_end) {
    for (int64_t range = range_begin; range < range_end; ++range) {
      int32_t* cursor = h.row(range, cells);
      const int64_t begin = h.point_bounds[static_cast<std::size_t>(range)];
      const int64_t end = h.point_bounds[static_cast<std::size_t>(range + 1)];
      if (begin >= end) continue;
      // point = (camera * D + d) * pixels + pixel_in_image, walked incrementally.
      int64_t pixel_in_image = begin % pixels;
      int64_t d = (begin / pixels) % depth_bins;
      int64_t camera = begin / (pixels * depth_bins);
      for (int64_t point = begin; point < end; ++point) {
        const int32_t cell = cell_of[point];
        if (cell >= 0) {
          const int32_t slot = cursor[cell]++;
          point_depth[slot] = static_cast<int32_t>(point);
          point_feat[slot] = static_cast<int32_t>(camera * pixels + pixel_in_image);
        }
        if (++pixel_in_image == pixels) {
          pixel_in_image = 0;
          if (++d == depth_bins) {
            d = 0;
            ++camera;
          }
        }
      }
    }
  });

  // Kept points per pixel (parallel over camera images, each walked bin by bin), then a prefix.
  const int64_t images = shape_.batch * shape_.cameras;
  pixel_kept_prefix[0] = 0;
  at::parallel_for(0, images, 1, [&](int64_t image_begin, int64_t image_end) {
    for (int64_t image = image_begin; image < image_end; ++image) {
      int32_t* counts = pixel_kept_prefix + 1 + image * pixels;
      std::fill(counts, counts + pixels, 0);
      for (int64_t bin = 0; bin < depth_bins; ++bin) {
        const int32_t* row = cell_of + (image * depth_bins + bin) * pixels;
        for (int64_t i = 0; i < pixels; ++i) counts[i] += row[i] >= 0 ? 1 : 0;
      }
    }
  });
  for (int64_t pixel = 0; pixel < images * pixels; ++pixel) {
    pixel_kept_prefix[pixel + 1] += pixel_kept_prefix[pixel];
  }
  h.storage.clear();
}

template CellCountingSort::CellCountingSort(const float*, const FrustumShape&,
                                            const detail::GridParams&, int32_t*, int64_t);
template CellCountingSort::CellCountingSort(const double*, const FrustumShape&,
                                            const detail::GridParams&, int32_t*, int64_t);

// ----- pooling -------------------------------------------------------------------------------

template <typename T>
void pool_forward(const detail::PoolIndexView& index, const T* depth, const T* feat,
                  int64_t channels, T* out) {
  if (index.cells == 0 || channels == 0) return;
  const KernelTable<T>& kernels = table<T>();
  // Cost of a cell range: its points plus one per cell (each cell writes its C outputs).
  const int64_t parts = thread_parts(index.cells);
  const std::vector<int64_t> bounds = balanced_bounds(
      index.cells, parts, [&](int64_t cell) { return int64_t{index.cell_ptr[cell]} + cell; });
  at::parallel_for(0, parts, 1, [&](int64_t part_begin, int64_t part_end) {
    std::vector<T> stage(static_cast<std::size_t>(channels * kForwardBlock));
    for (int64_t part = part_begin; part < part_end; ++part) {
      kernels.forward_cells(index, depth, feat, channels, bounds[static_cast<std::size_t>(part)],
                            bounds[static_cast<std::size_t>(part + 1)], stage.data(), out);
    }
  });
}

template <typename T>
void pool_backward(const detail::PoolIndexView& index, const int32_t* pixel_kept_prefix,
                   const T* depth, const T* feat, int64_t channels, const T* grad,
                   bool grad_channel_last, T* grad_tile, T* depth_grad, T* feat_grad) {
  if (index.total_pixels == 0 || channels == 0) return;
  const KernelTable<T>& kernels = table<T>();
  // Cost of a pixel range: its kept points plus the walk over all D bins (cheap per bin).
  const int64_t per_pixel = index.depth_bins / 8 + 1;
  const int64_t pixel_parts = thread_parts(index.total_pixels);
  const std::vector<int64_t> pixel_bounds =
      balanced_bounds(index.total_pixels, pixel_parts, [&](int64_t pixel) {
        return int64_t{pixel_kept_prefix[pixel]} + pixel * per_pixel;
      });
  const int64_t cell_parts = thread_parts(index.cells);
  const std::vector<int64_t> cell_bounds = even_bounds(index.cells, cell_parts);

  // One pass per channel tile: gather that tile of the gradient into channel-last rows (cells x
  // tile, so that a point's gradient row is contiguous), then every pixel's backward for it.
  const int64_t tile = pass_width(kernels, channels);
  for (int64_t c0 = 0; c0 < channels; c0 += tile) {
    const int64_t width = std::min(tile, channels - c0);
    const T* grad_col = grad + c0;
    int64_t grad_stride = channels;
    if (!grad_channel_last) {
      at::parallel_for(0, cell_parts, 1, [&](int64_t part_begin, int64_t part_end) {
        for (int64_t part = part_begin; part < part_end; ++part) {
          kernels.gather_grad_tile(grad, channels, index.plane, c0, width,
                                   cell_bounds[static_cast<std::size_t>(part)],
                                   cell_bounds[static_cast<std::size_t>(part + 1)], grad_tile);
        }
      });
      grad_col = grad_tile;
      grad_stride = width;
    }
    at::parallel_for(0, pixel_parts, 1, [&](int64_t part_begin, int64_t part_end) {
      for (int64_t part = part_begin; part < part_end; ++part) {
        kernels.backward_pixels(index, depth, feat, channels, grad_col, grad_stride, c0, width,
                                c0 == 0, pixel_bounds[static_cast<std::size_t>(part)],
                                pixel_bounds[static_cast<std::size_t>(part + 1)], depth_grad,
                                feat_grad);
      }
    });
  }
}

template void pool_forward<float>(const detail::PoolIndexView&, const float*, const float*,
                                  int64_t, float*);
template void pool_forward<double>(const detail::PoolIndexView&, const double*, const double*,
                                   int64_t, double*);
template void pool_backward<float>(const detail::PoolIndexView&, const int32_t*, const float*,
                                   const float*, int64_t, const float*, bool, float*, float*,
                                   float*);
template void pool_backward<double>(const detail::PoolIndexView&, const int32_t*, const double*,
                                    const double*, int64_t, const double*, bool, double*, double*,
                                    double*);

}  // namespace rsd::ops::cpu
