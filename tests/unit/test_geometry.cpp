// GridSpec: cell assignment at the borders, validation, and reading from config.
#include <gtest/gtest.h>

#include <cmath>

#include "rsd/geometry/grid_spec.h"
#include "rsd/util/error.h"

namespace {

using rsd::GridAxis;
using rsd::GridSpec;

TEST(GridSpec, CellsUseFloorAndHalfOpenRanges) {
  const GridAxis axis{-2.0, 2.0, 0.5};
  EXPECT_EQ(axis.cells(), 8);
  EXPECT_EQ(axis.cell_of(-2.0), 0);
  EXPECT_EQ(axis.cell_of(-1.75), 0);
  EXPECT_EQ(axis.cell_of(-0.01), 3);  // floor, not truncation toward zero
  EXPECT_EQ(axis.cell_of(0.0), 4);
  EXPECT_EQ(axis.cell_of(1.999), 7);
  EXPECT_EQ(axis.cell_of(2.0), -1);
  EXPECT_EQ(axis.cell_of(-2.001), -1);
  EXPECT_EQ(axis.cell_of(std::nan("")), -1);
  EXPECT_DOUBLE_EQ(axis.center(0), -1.75);
}

TEST(GridSpec, FlatCellIsZMajorThenYThenX) {
  const GridSpec grid({0, 4, 1}, {0, 3, 1}, {0, 2, 1});
  EXPECT_EQ(grid.cells(), 24);
  EXPECT_EQ(grid.flat_cell(0.5, 0.5, 0.5), 0);
  EXPECT_EQ(grid.flat_cell(1.5, 0.5, 0.5), 1);        // x is the fastest
  EXPECT_EQ(grid.flat_cell(0.5, 1.5, 0.5), 4);        // then y
  EXPECT_EQ(grid.flat_cell(0.5, 0.5, 1.5), 12);       // then z
  EXPECT_EQ(grid.flat_cell(3.5, 2.5, 1.5), 23);
  EXPECT_EQ(grid.flat_cell(4.0, 0.5, 0.5), -1);
}

TEST(GridSpec, RefusesBadAxesWithTheAxisNamed) {
  EXPECT_THROW(GridSpec({0, 1, 0}, {0, 1, 1}, {0, 1, 1}), rsd::ConfigError);
  EXPECT_THROW(GridSpec({1, 0, 1}, {0, 1, 1}, {0, 1, 1}), rsd::ConfigError);
  try {
    GridSpec({0, 1, 1}, {0, 1, 0.3}, {0, 1, 1});
    FAIL() << "expected a ConfigError";
  } catch (const rsd::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("axis y"), std::string::npos) << e.what();
  }
}

}  // namespace
