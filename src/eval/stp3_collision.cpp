#include "rsd/eval/stp3_collision.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>

#include "rsd/util/error.h"

namespace rsd::eval {
namespace {

constexpr int64_t kCells = kStp3GridCells;
// The centre of the first cell, gen_dx_bx's bx (and bev_start_position): -50 + 0.5 / 2.
constexpr double kFirstCellCentre = -50.0 + kStp3CellSize / 2.0;
// OpenCV's polygon edges walk in 16.16 fixed point.
constexpr int64_t kFixedOne = int64_t{1} << 16;

// ---- Agent boxes: cv2.fillPoly --------------------------------------------------------------

struct Vertex {
  int64_t x = 0;  // column
  int64_t y = 0;  // row
};

// np.round: half to even.
double round_half_even(double value) {
  const double rounded = std::round(value);  // half away from zero
  if (std::abs(value - std::trunc(value)) == 0.5) return 2.0 * std::round(value / 2.0);
  return rounded;
}

int64_t floor_div(int64_t value, int64_t divisor) {
  const int64_t quotient = value / divisor;
  return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

bool off_grid(const Vertex& v) { return v.x < 0 || v.x >= kCells || v.y < 0 || v.y >= kCells; }

// Cuts the segment a-b to the grid with integer arithmetic, as OpenCV's clipLine does before it
// draws a line that leaves the image: the ends outside the top or bottom row first, then those
// outside a side column, each intersection truncated toward zero and computed from the segment as
// already cut. False when nothing of it is on the grid.
bool clip_to_grid(Vertex& a, Vertex& b) {
  constexpr int64_t last = kCells - 1;
  const auto column_code = [](const Vertex& v) { return int(v.x < 0) + int(v.x > last) * 2; };
  const auto outcode = [&](const Vertex& v) {
    return column_code(v) + int(v.y < 0) * 4 + int(v.y > last) * 8;
  };
  const auto along = [](int64_t distance, int64_t numerator, int64_t denominator) {
    return static_cast<int64_t>(static_cast<double>(distance) * static_cast<double>(numerator) /
                                static_cast<double>(denominator));
  };
  int code_a = outcode(a), code_b = outcode(b);
  if ((code_a & code_b) == 0 && (code_a | code_b) != 0) {
    if ((code_a & 12) != 0) {
      const int64_t row = code_a < 8 ? 0 : last;
      a.x += along(row - a.y, b.x - a.x, b.y - a.y);
      a.y = row;
      code_a = column_code(a);
    }
    if ((code_b & 12) != 0) {
      const int64_t row = code_b < 8 ? 0 : last;
      b.x += along(row - b.y, b.x - a.x, b.y - a.y);
      b.y = row;
      code_b = column_code(b);
    }
    if ((code_a & code_b) == 0 && (code_a | code_b) != 0) {
      if (code_a != 0) {
        const int64_t column = code_a == 1 ? 0 : last;
        a.y += along(column - a.x, b.y - a.y, b.x - a.x);
        a.x = column;
        code_a = 0;
      }
      if (code_b != 0) {
        const int64_t column = code_b == 1 ? 0 : last;
        b.y += along(column - b.x, b.y - a.y, b.x - a.x);
        b.x = column;
        code_b = 0;
      }
    }
  }
  return (code_a | code_b) == 0;
}

class Raster {
 public:
  explicit Raster(std::vector<uint8_t>& cells) : cells_(cells) {}

  void mark(int64_t x, int64_t y) {
    if (x >= 0 && x < kCells && y >= 0 && y < kCells) {
      cells_[static_cast<size_t>(y * kCells + x)] = 1;
    }
  }

  // OpenCV's 8-connected line (LineIterator, left to right): Bresenham over the clipped segment,
  // stepping the major axis every cell and the minor one while the error is negative.
  void line(Vertex a, Vertex b) {
    if ((off_grid(a) || off_grid(b)) && !clip_to_grid(a, b)) return;
    if (b.x < a.x) std::swap(a, b);
    const int64_t run = b.x - a.x, rise = std::llabs(b.y - a.y);
    const int64_t row_step = b.y < a.y ? -1 : 1;
    const bool steep = rise > run;
    const int64_t major = steep ? rise : run, minor = steep ? run : rise;
    int64_t error = major - 2 * minor;
    int64_t x = a.x, y = a.y;
    for (int64_t i = 0; i <= major; ++i) {
      mark(x, y);
      const bool diagonal = error < 0;
      error += diagonal ? 2 * major - 2 * minor : -2 * minor;
      if (steep) {
        y += row_step;
        if (diagonal) ++x;
      } else {
        ++x;
        if (diagonal) y += row_step;
      }
    }
  }

  // fillPoly (OpenCV 4.6, integer vertices, 8-connected): every edge drawn as a line, then each
  // row y of [top, bottom) filled between consecutive crossings of the edges that span it, from
  // the ceiling of the left crossing to the floor of the right one. Crossings advance by the
  // edge's slope in 16.16 fixed point, truncated toward zero, from its upper vertex.
  void polygon(const std::vector<Vertex>& vertices) {
    struct Edge {
      int64_t top, bottom;  // rows [top, bottom)
      int64_t x, slope;     // fixed point: crossing at row top, change per row
    };
    std::vector<Edge> edges;
    for (size_t i = 0; i < vertices.size(); ++i) {
      const Vertex& from = vertices[(i + vertices.size() - 1) % vertices.size()];
      const Vertex& to = vertices[i];
      line(from, to);
      if (from.y == to.y) continue;
      const Vertex& upper = from.y < to.y ? from : to;
      const Vertex& lower = from.y < to.y ? to : from;
      edges.push_back({upper.y, lower.y, upper.x * kFixedOne,
                       (to.x - from.x) * kFixedOne / (to.y - from.y)});
    }
    if (edges.size() < 2) return;
    int64_t top = std::numeric_limits<int64_t>::max(), bottom = std::numeric_limits<int64_t>::min();
    for (const Edge& edge : edges) {
      top = std::min(top, edge.top);
      bottom = std::max(bottom, edge.bottom);
    }
    std::vector<int64_t> crossings;
    for (int64_t y = std::max<int64_t>(top, 0); y < std::min(bottom, kCells); ++y) {
      crossings.clear();
      for (const Edge& edge : edges) {
        if (edge.top <= y && y < edge.bottom) {
          crossings.push_back(edge.x + (y - edge.top) * edge.slope);
        }
      }
      std::sort(crossings.begin(), crossings.end());
      for (size_t i = 0; i + 1 < crossings.size(); i += 2) {
        const int64_t first =
            std::max<int64_t>(floor_div(crossings[i] + kFixedOne - 1, kFixedOne), 0);
        const int64_t last = std::min(floor_div(crossings[i + 1], kFixedOne), kCells - 1);
        for (int64_t x = first; x <= last; ++x) mark(x, y);
      }
    }
  }

 private:
  std::vector<uint8_t>& cells_;
};

// ---- The ego: evaluate_single_coll and evaluate_coll ----------------------------------------

// numpy's astype(np.int32): truncation toward zero; NaN, infinities and values out of range give
// INT32_MIN on the x86 machines the reference runs on.
int64_t numpy_int32(double value) {
  if (!(value > -2147483649.0 && value < 2147483648.0)) return std::numeric_limits<int32_t>::min();
  return static_cast<int64_t>(std::trunc(value));
}

// torch's .long() of a float tensor: truncation toward zero; NaN and values out of range give
// INT64_MIN on x86.
int64_t torch_long(float value) {
  if (!(std::abs(value) < 9.2e18f)) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(std::trunc(value));
}

// The float32 the reference's trajectory tensors hold (beyond float's range: infinite).
float to_float(double value) {
  constexpr double kLargest = std::numeric_limits<float>::max();
  if (value > kLargest) return std::numeric_limits<float>::infinity();
  if (value < -kLargest) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(value);  // NaN stays NaN
}

int64_t clamp_to_grid(int64_t index) { return std::clamp<int64_t>(index, 0, kCells - 1); }

// The ego box's cells relative to the trajectory point, as skimage.draw.polygon returns them for
// the box in grid units: (rows along the forward axis, columns along the lateral one). No grid
// point lies on the box's edges (the bounds are 96.416..104.584 and 97.65..101.35 cells), so
// skimage's treatment of boundary points does not arise.
std::vector<std::pair<int64_t, int64_t>> ego_box_offsets() {
  const auto cells = [](double metres) { return (metres - kFirstCellCentre) / kStp3CellSize; };
  const auto first_row = static_cast<int64_t>(
      std::ceil(cells(-kStp3EgoLength / 2.0 + kStp3EgoForwardOffset)));
  const auto last_row = static_cast<int64_t>(
      std::floor(cells(kStp3EgoLength / 2.0 + kStp3EgoForwardOffset)));
  const auto first_col = static_cast<int64_t>(std::ceil(cells(-kStp3EgoWidth / 2.0)));
  const auto last_col = static_cast<int64_t>(std::floor(cells(kStp3EgoWidth / 2.0)));
  std::vector<std::pair<int64_t, int64_t>> offsets;
  for (int64_t r = first_row; r <= last_row; ++r) {
    for (int64_t c = first_col; c <= last_col; ++c) offsets.emplace_back(r, c);
  }
  return offsets;
}

const std::vector<std::pair<int64_t, int64_t>>& ego_box() {
  static const std::vector<std::pair<int64_t, int64_t>> offsets = ego_box_offsets();
  return offsets;
}

}  // namespace

Stp3Occupancy::Stp3Occupancy() : cells_(static_cast<size_t>(kCells * kCells), 0) {}

void Stp3Occupancy::add(const Footprint& agent) {
  std::vector<Vertex> vertices;
  for (const Eigen::Vector2d& corner : footprint_corners(agent)) {
    // LiDAR frame (x right, y forward, origin at the LiDAR), then _get_poly_region_in_image's
    // image coordinates: column from x, row from -y.
    const double lidar_x = -corner.y();
    const double lidar_y = corner.x() - kStp3LidarX;
    const double column = (lidar_x - kFirstCellCentre + kStp3CellSize / 2.0) / kStp3CellSize;
    const double row = (-lidar_y - kFirstCellCentre + kStp3CellSize / 2.0) / kStp3CellSize;
    // Far beyond the grid (annotations reach 75 m) the exact vertex no longer matters; the bound
    // keeps the fixed-point arithmetic in range.
    constexpr double kFar = 1e6;
    if (!std::isfinite(column) || !std::isfinite(row)) return;
    vertices.push_back({static_cast<int64_t>(round_half_even(std::clamp(column, -kFar, kFar))),
                        static_cast<int64_t>(round_half_even(std::clamp(row, -kFar, kFar)))});
  }
  Raster(cells_).polygon(vertices);
}

bool Stp3Occupancy::occupied(int64_t row, int64_t col) const {
  if (row < 0 || row >= kCells || col < 0 || col >= kCells) return false;
  return cells_[static_cast<size_t>(row * kCells + col)] != 0;
}

int64_t Stp3Occupancy::occupied_cells() const {
  return static_cast<int64_t>(std::count(cells_.begin(), cells_.end(), uint8_t{1}));
}

Stp3Cells stp3_cells(const Eigen::Vector2d& point) {
  // The reference's trajectories are float32 tensors in the LiDAR frame (x right, y forward).
  const float lidar_x = to_float(-point.y());
  const float lidar_y = to_float(point.x());
  Stp3Cells cells;
  // evaluate_single_coll: (y, x) / dx + the box's cells; rows counted from the far edge.
  for (const auto& [row_offset, col_offset] : ego_box()) {
    const double forward =
        static_cast<double>(lidar_y) / kStp3CellSize + static_cast<double>(row_offset);
    const double lateral =
        static_cast<double>(lidar_x) / kStp3CellSize + static_cast<double>(col_offset);
    cells.box.emplace_back(clamp_to_grid(numpy_int32(static_cast<double>(kCells) - forward)),
                           clamp_to_grid(numpy_int32(lateral)));
  }
  // evaluate_coll: xi = ((-bx[0]/2 - y) / dx).long(), yi = ((-bx[1]/2 + x) / dx).long(), float32.
  const float half_offset = static_cast<float>(-kFirstCellCentre) / 2.0f;
  const auto cell = static_cast<float>(kStp3CellSize);
  cells.centre_row = torch_long((half_offset - lidar_y) / cell);
  cells.centre_col = torch_long((half_offset + lidar_x) / cell);
  cells.centre_inside = cells.centre_row >= 0 && cells.centre_row < kCells &&
                        cells.centre_col >= 0 && cells.centre_col < kCells;
  return cells;
}

std::vector<bool> stp3_box_collisions(const std::vector<Eigen::Vector2d>& trajectory,
                                      const std::vector<Stp3Occupancy>& occupancy) {
  RSD_CHECK_EQ(trajectory.size(), occupancy.size(), "one occupancy grid per trajectory point");
  std::vector<bool> collisions(trajectory.size(), false);
  for (size_t k = 0; k < trajectory.size(); ++k) {
    for (const auto& [row, col] : stp3_cells(trajectory[k]).box) {
      if (occupancy[k].occupied(row, col)) {
        collisions[k] = true;
        break;
      }
    }
  }
  return collisions;
}

Stp3Collisions stp3_collisions(const std::vector<Eigen::Vector2d>& predicted,
                               const std::vector<Eigen::Vector2d>& target,
                               const std::vector<Stp3Occupancy>& occupancy) {
  RSD_CHECK_EQ(predicted.size(), target.size(),
               "predicted and target trajectories differ in length");
  Stp3Collisions result;
  result.gt_box_col = stp3_box_collisions(target, occupancy);
  const std::vector<bool> box = stp3_box_collisions(predicted, occupancy);
  for (size_t k = 0; k < predicted.size(); ++k) {
    const bool counted = !result.gt_box_col[k];
    const Stp3Cells cells = stp3_cells(predicted[k]);
    result.obj_col.push_back(counted && cells.centre_inside &&
                             occupancy[k].occupied(cells.centre_row, cells.centre_col));
    result.obj_box_col.push_back(counted && box[k]);
  }
  return result;
}

}  // namespace rsd::eval
