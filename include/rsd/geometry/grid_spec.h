// The BEV grid: one GridSpec shared by voxel pooling, the heads, the training targets and the risk
// cache, so that a cache built for one grid is refused for another.
//
// Frame: the right-handed ego frame (x forward, y left, z up; metres). A BEV tensor is laid out
// (B, C, Y, X): row iy covers y in [y.min + iy*step, y.min + (iy+1)*step), column ix covers x
// likewise. Row 0 is therefore the ego's right-most strip (y = y.min); pictures flip rows for display.
// Points are assigned to cells with floor() (not the truncation toward zero of LSS/BEVDet, which
// puts points up to one cell outside the grid into its border cells).
#pragma once

#include <cstdint>
#include <string>

namespace rsd {

/// One axis: [min, max) split into cells of `step` metres.
struct GridAxis {
  double min = 0.0;
  double max = 0.0;
  double step = 1.0;

  int64_t cells() const;
  /// The cell holding `value`, or -1 outside [min, max).
  int64_t cell_of(double value) const;
  /// The centre of cell `index`.
  double center(int64_t index) const { return min + (static_cast<double>(index) + 0.5) * step; }
  bool operator==(const GridAxis& other) const {
    return min == other.min && max == other.max && step == other.step;
  }
};

class GridSpec {
 public:
  /// Throws rsd::ConfigError when an axis is empty, has a non-positive step, or its extent is not
  /// a whole number of steps.
  GridSpec(GridAxis x, GridAxis y, GridAxis z);

  const GridAxis& x() const { return x_; }
  const GridAxis& y() const { return y_; }
  const GridAxis& z() const { return z_; }
  int64_t nx() const { return x_.cells(); }
  int64_t ny() const { return y_.cells(); }
  int64_t nz() const { return z_.cells(); }
  int64_t cells() const { return nx() * ny() * nz(); }

  /// Flat cell index z*(ny*nx) + y*nx + x of an ego-frame point, or -1 outside the grid.
  int64_t flat_cell(double x, double y, double z) const;

  bool operator==(const GridSpec& other) const {
    return x_ == other.x_ && y_ == other.y_ && z_ == other.z_;
  }
  bool operator!=(const GridSpec& other) const { return !(*this == other); }

  /// "x[-32,32,0.5] y[-32,32,0.5] z[-5,3,8]", for messages and cache headers.
  std::string to_string() const;

 private:
  GridAxis x_, y_, z_;
};

}  // namespace rsd
