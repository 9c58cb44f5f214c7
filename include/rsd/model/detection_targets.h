// Training targets of the DetectionHead, built from ground-truth boxes on the BEV grid.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "rsd/geometry/grid_spec.h"
#include "rsd/model/gt_boxes.h"

namespace rsd::model {

struct DetectionTargetOptions {
  /// Minimum IoU a box shifted by the Gaussian radius keeps with the true box (CenterPoint's
  /// gaussian_overlap); smaller values give wider Gaussians.
  double min_overlap = 0.1;
  /// Smallest Gaussian radius, cells.
  int64_t min_radius = 2;
};

struct DetectionTargets {
  /// (B, K, Y, X) float in [0, 1]: per class, the max over its objects of a Gaussian centred on
  /// the object's centre cell (value exactly 1 there).
  torch::Tensor heatmap;
  /// (B, M) int64: flat index iy * X + ix of each object's centre cell (0 where mask is false).
  torch::Tensor indices;
  /// (B, M, box_code::kChannels) float: the regression target at that cell (detection_head.h).
  torch::Tensor regression;
  /// (B, M) bool: a real object whose centre lies inside the grid.
  torch::Tensor mask;
};

/// Objects are assigned to the cell holding their centre (floor, GridSpec::cell_of); objects
/// outside the grid's x-y extent are dropped (mask false). The Gaussian is the one of the teacher's
/// risk maps (rsd/geometry/gaussian_heatmap.h): radius gaussian_radius_cells(length x width,
/// min_overlap, min_radius), sigma = (2 * radius + 1) / 6, peak 1. Computed on the CPU; the result
/// is on the boxes' device.
DetectionTargets build_detection_targets(const GtBoxes& boxes, int64_t num_classes,
                                         const GridSpec& grid,
                                         const DetectionTargetOptions& options = {});

}  // namespace rsd::model
