#include "rsd/data/bev_augmentation.h"

#include <Eigen/LU>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "data/random_draws.h"
#include "rsd/util/error.h"

namespace rsd::data {
namespace {

constexpr double kPi = 3.14159265358979323846;

double wrap_angle(double angle) {
  angle = std::remainder(angle, 2.0 * kPi);  // [-pi, pi]
  return angle <= -kPi ? angle + 2.0 * kPi : angle;
}

// Cell centres of one axis, (cells), in double on the map's device.
torch::Tensor axis_centres(const GridAxis& axis, const torch::TensorOptions& f64) {
  return torch::arange(axis.cells(), f64) * axis.step + (axis.min + 0.5 * axis.step);
}

// The bilinear part: each output cell centre q samples the map at A^-1 q.
torch::Tensor bilinear_resample(const torch::Tensor& map, const GridSpec& grid,
                                const Eigen::Matrix2d& to_source) {
  const auto f64 = map.options().dtype(torch::kDouble);
  const torch::Tensor x = axis_centres(grid.x(), f64).view({1, -1});
  const torch::Tensor y = axis_centres(grid.y(), f64).view({-1, 1});
  const torch::Tensor source_x = to_source(0, 0) * x + to_source(0, 1) * y;  // (Y, X)
  const torch::Tensor source_y = to_source(1, 0) * x + to_source(1, 1) * y;
  // grid_sample with align_corners = false: -1 and +1 are the outer edges of the border cells.
  const double width = grid.x().max - grid.x().min, height = grid.y().max - grid.y().min;
  const torch::Tensor sampling =
      torch::stack({2.0 * (source_x - grid.x().min) / width - 1.0,
                    2.0 * (source_y - grid.y().min) / height - 1.0},
                   -1)
          .unsqueeze(0)
          .to(map.scalar_type());
  return at::grid_sampler(map.view({1, 1, grid.ny(), grid.nx()}), sampling, /*bilinear*/ 0,
                          /*zeros*/ 0, /*align_corners=*/false)
      .view({grid.ny(), grid.nx()});
}

// Writes every local maximum of `map` into `out` at the cell of its moved centre (keeping the
// larger value where several land in one cell).
void keep_peaks(const torch::Tensor& map, const GridSpec& grid, const Eigen::Matrix2d& to_target,
                torch::Tensor& out) {
  const torch::Tensor neighbourhood_max =
      torch::max_pool2d(map.unsqueeze(0), {3, 3}, {1, 1}, {1, 1}).squeeze(0);
  const torch::Tensor peak_cells =
      torch::nonzero((map > 0) & (map >= neighbourhood_max)).to(torch::kCPU);  // (K, 2) iy, ix
  const auto cells = peak_cells.accessor<int64_t, 2>();
  std::vector<int64_t> targets, sources;
  for (int64_t k = 0; k < cells.size(0); ++k) {
    const int64_t iy = cells[k][0], ix = cells[k][1];
    const Eigen::Vector2d moved = to_target * Eigen::Vector2d(grid.x().center(ix), grid.y().center(iy));
    const int64_t tx = grid.x().cell_of(moved.x()), ty = grid.y().cell_of(moved.y());
    if (tx < 0 || ty < 0) continue;
    targets.push_back(ty * grid.nx() + tx);
    sources.push_back(iy * grid.nx() + ix);
  }
  if (targets.empty()) return;
  const auto index = [&](const std::vector<int64_t>& flat) {
    return torch::tensor(flat, torch::kInt64).to(map.device());
  };
  out.view(-1).scatter_reduce_(0, index(targets), map.reshape(-1).index_select(0, index(sources)),
                               "amax");
}

}  // namespace

BevAugmentation BevAugmentation::sample(const BevAugmentOptions& options, std::mt19937_64& rng) {
  BevAugmentation augmentation;
  const double angle_deg = detail::uniform(rng, -options.rotate_deg, options.rotate_deg);
  const double scale = detail::uniform(rng, options.scale_min, options.scale_max);
  const bool flip = detail::coin(rng);
  augmentation.angle = angle_deg * kPi / 180.0;
  augmentation.scale = scale;
  augmentation.flip_y = options.flip && flip;
  return augmentation;
}

Eigen::Matrix4d BevAugmentation::matrix() const {
  Eigen::Matrix4d m = Eigen::Matrix4d::Identity();
  const double c = std::cos(angle), s = std::sin(angle);
  const double mirror = flip_y ? -1.0 : 1.0;
  m(0, 0) = scale * c;
  m(0, 1) = -scale * s * mirror;
  m(1, 0) = scale * s;
  m(1, 1) = scale * c * mirror;
  m(2, 2) = scale;
  return m;
}

Eigen::Vector3d BevAugmentation::point(const Eigen::Vector3d& p) const {
  return matrix().topLeftCorner<3, 3>() * p;
}

Eigen::Vector3d BevAugmentation::vector(const Eigen::Vector3d& v) const { return point(v); }

Eigen::Vector2d BevAugmentation::vector(const Eigen::Vector2d& v) const {
  return matrix().topLeftCorner<2, 2>() * v;
}

double BevAugmentation::yaw(double yaw) const {
  return wrap_angle((flip_y ? -yaw : yaw) + angle);
}

Box BevAugmentation::box(const Box& box) const {
  Box out = box;
  out.center = point(box.center);
  out.size = box.size * scale;
  out.yaw = yaw(box.yaw);
  out.velocity = vector(box.velocity);
  return out;
}

EgoStatus BevAugmentation::ego_status(const EgoStatus& status) const {
  EgoStatus out = status;
  out.speed = status.speed * scale;
  out.acceleration = vector(status.acceleration);
  // A pseudo-vector: rotations act as on vectors, the mirror F as -F; scaling leaves angles alone.
  Eigen::Vector3d w = status.angular_velocity;
  if (flip_y) w = Eigen::Vector3d(-w.x(), w.y(), -w.z());
  const double c = std::cos(angle), s = std::sin(angle);
  out.angular_velocity = Eigen::Vector3d(c * w.x() - s * w.y(), s * w.x() + c * w.y(), w.z());
  if (flip_y) out.steer = -status.steer;
  return out;
}

Command BevAugmentation::command(Command command) const {
  if (!flip_y) return command;
  switch (command) {
    case Command::turn_left: return Command::turn_right;
    case Command::turn_right: return Command::turn_left;
    case Command::change_lane_left: return Command::change_lane_right;
    case Command::change_lane_right: return Command::change_lane_left;
    default: return command;
  }
}

torch::Tensor BevAugmentation::heatmap(const torch::Tensor& map, const GridSpec& grid) const {
  RSD_CHECK(map.dim() == 2 && map.size(0) == grid.ny() && map.size(1) == grid.nx(),
            "BEV augmentation: the heatmap must be (Y, X) = (", grid.ny(), ", ", grid.nx(),
            ") for grid ", grid.to_string(), ", got ", map.sizes());
  if (is_identity()) return map;
  const Eigen::Matrix2d to_target = matrix().topLeftCorner<2, 2>();
  const torch::Tensor source = map.contiguous();
  torch::Tensor out = bilinear_resample(source, grid, to_target.inverse());
  keep_peaks(source, grid, to_target, out);
  return out;
}

}  // namespace rsd::data
