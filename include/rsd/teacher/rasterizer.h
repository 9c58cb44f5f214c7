// Per-object risk -> one BEV risk map on the configured grid. Each judged object is drawn around
// its box centre, scaled by its score, and overlapping objects combine by max, so the map's value
// at an object's centre cell is exactly its score.
//   gaussian   CenterNet/CenterPoint heat-map: a Gaussian with sigma = (2r + 1) / 6 around the
//              centre cell, r = max(min_radius, floor(gaussian_radius(length, width in cells,
//              min_overlap))), drawn within r cells: rsd/geometry/gaussian_heatmap.h, the
//              Gaussian of the detection targets, so a score-1 object draws their heatmap.
//   footprint  every cell whose centre lies inside the rotated box footprint gets the score (the
//              centre cell always, so objects smaller than a cell are not lost).
// Objects whose centre lies outside the grid, and scores of 0, draw nothing.
#pragma once

#include <torch/types.h>

#include <vector>

#include "rsd/data/frame.h"
#include "rsd/geometry/grid_spec.h"
#include "rsd/teacher/risk_teacher.h"

namespace rsd::teacher {

enum class RasterizeMode { gaussian, footprint };

struct RasterizeOptions {
  RasterizeMode mode = RasterizeMode::gaussian;
  int min_radius = 2;         // cells (CenterPoint uses 2)
  double min_overlap = 0.1;   // CenterNet's IoU bound for the radius (CenterPoint's BEV value)
};

class RiskRasterizer {
 public:
  RiskRasterizer(GridSpec grid, RasterizeOptions options = {});

  /// float (Y, X) = (grid.ny(), grid.nx()) in [0, 1], ego frame of the boxes' frame, row iy <-> y.
  /// `risks` name boxes by id (ObjectRisk::object_id); risks of ids not among `boxes` throw
  /// rsd::Error (callers resolve ids first).
  torch::Tensor rasterize(const std::vector<data::Box>& boxes,
                          const std::vector<ObjectRisk>& risks) const;

  /// The radius (cells) used for a box of length x width metres in gaussian mode.
  int radius_cells(double length, double width) const;

  const GridSpec& grid() const { return grid_; }

 private:
  void draw_gaussian(torch::Tensor& map, const data::Box& box, float score) const;
  void draw_footprint(torch::Tensor& map, const data::Box& box, float score) const;

  GridSpec grid_;
  RasterizeOptions options_;
};

}  // namespace rsd::teacher
