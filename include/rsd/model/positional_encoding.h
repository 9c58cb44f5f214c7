// Positions of BEV cells, for attention over BEV features.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "rsd/geometry/grid_spec.h"

namespace rsd::model {

/// The centres of a rows x cols subdivision of the grid's x-y extent, (2, rows, cols): channel 0
/// holds x, channel 1 holds y (metres, ego frame). With (rows, cols) = (ny, nx) these are the grid
/// cells' centres; a coarser or finer BEV tensor over the same extent gets its own cells' centres.
torch::Tensor bev_cell_centres(const GridSpec& grid, int64_t rows, int64_t cols,
                               const torch::TensorOptions& options = {});

/// DETR's sinusoidal encoding of those centres, (channels, rows, cols): the first half of the
/// channels encodes x, the second half y; each half alternates sin and cos at wavelengths from
/// the grid extent down to extent / temperature^(1 - 4/channels). channels must be a multiple of 4.
torch::Tensor bev_positional_encoding(const GridSpec& grid, int64_t rows, int64_t cols,
                                      int64_t channels, const torch::TensorOptions& options = {},
                                      double temperature = 10000.0);

}  // namespace rsd::model
