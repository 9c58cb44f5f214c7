#include "rsd/geometry/grid_spec.h"

#include <cmath>
#include <sstream>

#include "geometry/grid_cell.h"
#include "rsd/util/error.h"

namespace rsd {
namespace {

void validate(const GridAxis& axis, const char* name) {
  const auto fail = [&](const std::string& why) {
    std::ostringstream text;
    text << "BEV grid axis " << name << " [" << axis.min << ", " << axis.max << ", " << axis.step
         << "]: " << why;
    throw ConfigError(text.str());
  };
  if (!(axis.step > 0.0) || !std::isfinite(axis.step)) fail("the step must be positive");
  if (!(axis.max > axis.min)) fail("max must be greater than min");
  const double cells = (axis.max - axis.min) / axis.step;
  if (std::abs(cells - std::round(cells)) > 1e-6 * std::max(1.0, cells)) {
    fail("max - min must be a whole number of steps");
  }
}

}  // namespace

int64_t GridAxis::cells() const { return std::llround((max - min) / step); }

int64_t GridAxis::cell_of(double value) const {
  return axis_cell_index(value, min, max, step, cells());
}

GridSpec::GridSpec(GridAxis x, GridAxis y, GridAxis z) : x_(x), y_(y), z_(z) {
  validate(x_, "x");
  validate(y_, "y");
  validate(z_, "z");
}

int64_t GridSpec::flat_cell(double x, double y, double z) const {
  return flat_cell_index(x_.cell_of(x), y_.cell_of(y), z_.cell_of(z), nx(), ny());
}

std::string GridSpec::to_string() const {
  std::ostringstream text;
  const auto axis = [&](const char* name, const GridAxis& a) {
    text << name << "[" << a.min << "," << a.max << "," << a.step << "]";
  };
  axis("x", x_);
  text << " ";
  axis("y", y_);
  text << " ";
  axis("z", z_);
  return text.str();
}

}  // namespace rsd
