#include "rsd/model/positional_encoding.h"

#include <cmath>

#include "rsd/util/error.h"

namespace rsd::model {
namespace {

// Centres of `cells` equal cells over [axis.min, axis.max), in metres.
torch::Tensor axis_centres(const GridAxis& axis, int64_t cells, const torch::TensorOptions& options) {
  const double step = (axis.max - axis.min) / static_cast<double>(cells);
  return torch::arange(cells, options) * step + (axis.min + 0.5 * step);
}

// (channels/2, cells) sin/cos features of positions normalised to [0, 2*pi) over the axis extent.
torch::Tensor encode_axis(const torch::Tensor& centres, const GridAxis& axis, int64_t features,
                          double temperature) {
  const auto options = centres.options();
  const torch::Tensor phase = (centres - axis.min) * (2.0 * M_PI / (axis.max - axis.min));
  const torch::Tensor pair = torch::floor(torch::arange(features, options) / 2.0);
  const torch::Tensor inverse_wavelength =
      torch::pow(temperature, -2.0 * pair / static_cast<double>(features));
  const torch::Tensor angles = inverse_wavelength.unsqueeze(1) * phase.unsqueeze(0);  // (F, cells)
  const torch::Tensor even = (torch::arange(features, options.dtype(torch::kLong)) % 2 == 0)
                                 .unsqueeze(1);
  return torch::where(even, torch::sin(angles), torch::cos(angles));
}

}  // namespace

torch::Tensor bev_cell_centres(const GridSpec& grid, int64_t rows, int64_t cols,
                               const torch::TensorOptions& options) {
  RSD_CHECK(rows > 0 && cols > 0, "BEV size ", rows, " x ", cols);
  const auto real = options.dtype(torch::kFloat);
  const torch::Tensor xs = axis_centres(grid.x(), cols, real);
  const torch::Tensor ys = axis_centres(grid.y(), rows, real);
  return torch::stack({xs.unsqueeze(0).expand({rows, cols}), ys.unsqueeze(1).expand({rows, cols})})
      .to(options);
}

torch::Tensor bev_positional_encoding(const GridSpec& grid, int64_t rows, int64_t cols,
                                      int64_t channels, const torch::TensorOptions& options,
                                      double temperature) {
  RSD_CHECK(channels > 0 && channels % 4 == 0, "positional encoding channels ", channels,
            " must be a positive multiple of 4");
  RSD_CHECK(rows > 0 && cols > 0, "BEV size ", rows, " x ", cols);
  const auto real = options.dtype(torch::kFloat);
  const int64_t half = channels / 2;
  const torch::Tensor x_features =
      encode_axis(axis_centres(grid.x(), cols, real), grid.x(), half, temperature);  // (half, X)
  const torch::Tensor y_features =
      encode_axis(axis_centres(grid.y(), rows, real), grid.y(), half, temperature);  // (half, Y)
  return torch::cat({x_features.unsqueeze(1).expand({half, rows, cols}),
                     y_features.unsqueeze(2).expand({half, rows, cols})})
      .to(options);
}

}  // namespace rsd::model
