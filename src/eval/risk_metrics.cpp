#include "rsd/eval/risk_metrics.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <numeric>

#include "rsd/util/error.h"

namespace rsd::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Object indices by descending value, ties by index; NaN values (outside the grid) rank last.
std::vector<std::size_t> ranking(const std::vector<double>& values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) {
    const double a = std::isnan(values[i]) ? -std::numeric_limits<double>::infinity() : values[i];
    const double b = std::isnan(values[j]) ? -std::numeric_limits<double>::infinity() : values[j];
    return a > b;
  });
  return order;
}

// (B, 1, Y, X) or (B, Y, X) -> (B, Y, X) double on the CPU.
torch::Tensor frame_maps(const torch::Tensor& maps, const char* what) {
  RSD_CHECK(maps.dim() == 3 || (maps.dim() == 4 && maps.size(1) == 1), what,
            " maps must be (B, 1, Y, X) or (B, Y, X), got ", maps.sizes());
  const torch::Tensor cpu = maps.detach().to(torch::kCPU, torch::kDouble);
  return maps.dim() == 4 ? cpu.squeeze(1) : cpu;
}

}  // namespace

std::vector<double> map_values_at(const torch::Tensor& map, const GridSpec& grid,
                                  const std::vector<Eigen::Vector2d>& centers) {
  RSD_CHECK(map.dim() == 2 && map.size(0) == grid.ny() && map.size(1) == grid.nx(),
            "a risk map on grid ", grid.to_string(), " must be (", grid.ny(), ", ", grid.nx(),
            "), got ", map.sizes());
  const torch::Tensor cpu = map.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const auto cells = cpu.accessor<double, 2>();
  std::vector<double> values;
  values.reserve(centers.size());
  for (const Eigen::Vector2d& center : centers) {
    const int64_t ix = grid.x().cell_of(center.x());
    const int64_t iy = grid.y().cell_of(center.y());
    values.push_back(ix >= 0 && iy >= 0 ? cells[iy][ix] : kNaN);
  }
  return values;
}

double top_k_agreement(const std::vector<double>& a, const std::vector<double>& b, int64_t top_k) {
  RSD_CHECK_EQ(a.size(), b.size(), "both rankings must score the same objects");
  RSD_CHECK(top_k >= 1, "top_k must be at least 1, got ", top_k);
  if (a.empty()) return kNaN;
  const auto k = std::min(static_cast<std::size_t>(top_k), a.size());
  std::vector<std::size_t> top_a = ranking(a);
  std::vector<std::size_t> top_b = ranking(b);
  top_a.resize(k);
  top_b.resize(k);
  std::sort(top_a.begin(), top_a.end());
  std::sort(top_b.begin(), top_b.end());
  std::vector<std::size_t> common;
  std::set_intersection(top_a.begin(), top_a.end(), top_b.begin(), top_b.end(),
                        std::back_inserter(common));
  return static_cast<double>(common.size()) / static_cast<double>(k);
}

RiskAccumulator::RiskAccumulator(RiskMetricsOptions options, GridSpec grid)
    : options_(options), grid_(grid), histogram_(options.histogram_bins) {
  if (!(options_.threshold >= 0.0 && options_.threshold < 1.0)) {
    throw ConfigError("eval.risk_threshold must lie in [0, 1), got " +
                      std::to_string(options_.threshold));
  }
  if (options_.top_k < 1) {
    throw ConfigError("eval.top_k must be at least 1, got " + std::to_string(options_.top_k));
  }
}

void RiskAccumulator::add_batch(const torch::Tensor& student, const torch::Tensor& teacher,
                                const torch::Tensor& labelled,
                                const std::vector<std::vector<Eigen::Vector2d>>& object_centers) {
  const torch::Tensor student_maps = frame_maps(student, "student");
  const torch::Tensor teacher_maps = frame_maps(teacher, "teacher");
  RSD_CHECK(student_maps.sizes() == teacher_maps.sizes(), "student maps ", student.sizes(),
            " and teacher maps ", teacher.sizes(), " differ in shape");
  const int64_t batch = student_maps.size(0);
  RSD_CHECK(labelled.dim() == 1 && labelled.size(0) == batch, "labelled must be (", batch,
            "), got ", labelled.sizes());
  RSD_CHECK_EQ(static_cast<int64_t>(object_centers.size()), batch, "one object list per frame");
  const torch::Tensor has_label = labelled.detach().to(torch::kCPU, torch::kBool);
  for (int64_t b = 0; b < batch; ++b) {
    if (!has_label[b].item<bool>()) continue;
    const torch::Tensor s = student_maps[b];
    const torch::Tensor t = teacher_maps[b];
    ++frames_;
    l1_sum_ += (s - t).abs().mean().item<double>();

    // KL(teacher || student) of the maps normalised to distributions over cells; cells where the
    // teacher has no mass contribute nothing, and a teacher map without mass has no distribution.
    const double teacher_mass = t.sum().item<double>();
    if (teacher_mass > 0.0) {
      const torch::Tensor p = t / teacher_mass;
      const torch::Tensor shifted = s + options_.epsilon;
      const torch::Tensor q = shifted / shifted.sum();
      const torch::Tensor support = p > 0;
      kl_sum_ +=
          (p.masked_select(support) * (p.masked_select(support) / q.masked_select(support)).log())
              .sum()
              .item<double>();
      ++kl_frames_;
    }

    histogram_.add(s, t > options_.threshold);

    const std::vector<double> teacher_values = map_values_at(t, grid_, object_centers[b]);
    double strongest = 0.0;
    for (const double value : teacher_values) {
      if (!std::isnan(value)) strongest = std::max(strongest, value);
    }
    // A frame whose objects all carry zero teacher risk has no ranking to agree with.
    if (strongest > 0.0) {
      top_k_sum_ += top_k_agreement(map_values_at(s, grid_, object_centers[b]), teacher_values,
                                    options_.top_k);
      ++top_k_frames_;
    }
  }
}

MetricSet RiskAccumulator::metrics() const {
  const auto mean = [](double sum, int64_t count) {
    return count > 0 ? sum / static_cast<double>(count) : kNaN;
  };
  MetricSet metrics;
  metrics.set("risk/frames", static_cast<double>(frames_));
  metrics.set("risk/l1", mean(l1_sum_, frames_));
  metrics.set("risk/kl", mean(kl_sum_, kl_frames_));
  metrics.set("risk/kl_frames", static_cast<double>(kl_frames_));
  metrics.set("risk/auroc", histogram_.auroc());
  metrics.set("risk/positive_cells", static_cast<double>(histogram_.positives()));
  metrics.set("risk/topk", static_cast<double>(options_.top_k));
  metrics.set("risk/topk_agreement", mean(top_k_sum_, top_k_frames_));
  metrics.set("risk/topk_frames", static_cast<double>(top_k_frames_));
  return metrics;
}

}  // namespace rsd::eval
