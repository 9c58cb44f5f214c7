#include "support/fixtures.h"

namespace rsd::test {

GridSpec tiny_grid() { return GridSpec({-4.0, 4.0, 0.5}, {-4.0, 4.0, 0.5}, {-2.0, 2.0, 4.0}); }

data::Box make_box(data::ObjectClass object_class, const Eigen::Vector3d& center,
                   const Eigen::Vector3d& size, double yaw, const Eigen::Vector2d& velocity) {
  data::Box box;
  box.object_class = object_class;
  box.center = center;
  box.size = size;
  box.yaw = yaw;
  box.velocity = velocity;
  return box;
}

}  // namespace rsd::test
