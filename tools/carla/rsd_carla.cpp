// rsd_carla: the Python module of the Bench2Drive leaderboard agent (tools/carla/rsd_agent.py,
// docs/carla-agent.md). A thin layer over rsd::drive::CarlaDriver: images come in as arrays (the
// buffer protocol: numpy arrays as CARLA's sensors give them, H x W x 4 BGRA or H x W x 3 BGR,
// uint8), everything else as plain floats. Importing it loads librsd's libtorch, never Python's
// torch: the agent's process must not hold two libtorch copies.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rsd/drive/carla_driver.h"
#include "rsd/util/error.h"
#include "rsd/version.h"

namespace py = pybind11;

namespace {

using rsd::drive::CarlaCamera;
using rsd::drive::GeoReference;

// A camera image as owned BGR bytes, from any uint8 H x W x C (C = 3 or 4) buffer, any strides.
struct OwnedImage {
  std::vector<uint8_t> bgr;
  int width = 0, height = 0;
};

OwnedImage bgr_from_buffer(const std::string& camera, const py::buffer& buffer) {
  const py::buffer_info info = buffer.request();
  if (info.itemsize != 1 || (info.format != "B" && info.format != "b" && info.format != "c")) {
    throw rsd::DataError("camera " + camera + ": expected a uint8 image, got format '" + info.format + "'");
  }
  if (info.ndim != 3 || (info.shape[2] != 3 && info.shape[2] != 4)) {
    throw rsd::DataError("camera " + camera + ": expected an H x W x 4 (BGRA) or H x W x 3 (BGR) image");
  }
  OwnedImage image;
  image.height = static_cast<int>(info.shape[0]);
  image.width = static_cast<int>(info.shape[1]);
  image.bgr.resize(static_cast<std::size_t>(image.height) * image.width * 3);
  const auto* base = static_cast<const uint8_t*>(info.ptr);
  uint8_t* out = image.bgr.data();
  for (py::ssize_t y = 0; y < info.shape[0]; ++y) {
    for (py::ssize_t x = 0; x < info.shape[1]; ++x) {
      const uint8_t* pixel = base + y * info.strides[0] + x * info.strides[1];
      for (int c = 0; c < 3; ++c) *out++ = pixel[c * info.strides[2]];
    }
  }
  return image;
}

py::dict camera_dict(const CarlaCamera& c) {
  py::dict d;
  d["type"] = "sensor.camera.rgb";
  d["x"] = c.x;
  d["y"] = c.y;
  d["z"] = c.z;
  d["roll"] = c.roll;
  d["pitch"] = c.pitch;
  d["yaw"] = c.yaw;
  d["width"] = c.width;
  d["height"] = c.height;
  d["fov"] = c.fov;
  d["id"] = c.id;
  return d;
}

py::list sensor_dicts(const std::vector<CarlaCamera>& cameras) {
  py::list out;
  for (const CarlaCamera& c : cameras) out.append(camera_dict(c));
  return out;
}

py::list other_sensor_dicts() {
  py::list out;
  for (const rsd::drive::CarlaSensor& s : rsd::drive::bench2drive_other_sensors()) {
    py::dict d;
    d["type"] = s.type;
    if (s.reading_frequency > 0) {
      d["reading_frequency"] = s.reading_frequency;
    } else {
      d["x"] = s.x;
      d["y"] = s.y;
      d["z"] = s.z;
      d["roll"] = 0.0;
      d["pitch"] = 0.0;
      d["yaw"] = 0.0;
      d["sensor_tick"] = s.sensor_tick;
    }
    d["id"] = s.id;
    out.append(d);
  }
  return out;
}

Eigen::Vector3d vector3(const std::vector<double>& v, const char* what) {
  if (v.size() != 3) throw rsd::DataError(std::string(what) + ": expected 3 values, got " + std::to_string(v.size()));
  return {v[0], v[1], v[2]};
}

py::dict decision_dict(const rsd::drive::Decision& decision) {
  py::list waypoints;
  for (const Eigen::Vector2d& w : decision.waypoints) waypoints.append(py::make_tuple(w.x(), w.y()));
  py::dict control;
  control["throttle"] = decision.control.throttle;
  control["steer"] = decision.control.steer;
  control["brake"] = decision.control.brake;
  py::dict out;
  out["waypoints"] = waypoints;
  out["control"] = control;
  return out;
}

class Driver {
 public:
  Driver(const std::string& config, const std::string& checkpoint, const std::string& device, int threads,
         const std::vector<std::string>& overrides) {
    rsd::drive::CarlaDriverOptions options;
    options.config = config;
    options.checkpoint = checkpoint;
    options.device = device;
    options.threads = threads;
    options.overrides = overrides;
    py::gil_scoped_release release;
    driver_ = std::make_unique<rsd::drive::CarlaDriver>(options);
  }

  std::vector<std::string> camera_names() const {
    std::vector<std::string> names;
    for (const CarlaCamera& c : driver_->cameras()) names.push_back(c.id);
    return names;
  }

  py::dict step(const py::dict& images, int index, std::optional<std::vector<double>> gnss,
                std::optional<std::vector<double>> location, double compass, const std::vector<double>& accelerometer,
                const std::vector<double>& gyroscope, double speed, const std::map<std::string, double>& applied,
                int road_option, std::optional<std::vector<double>> target) {
    rsd::drive::CarlaTick tick;
    tick.index = index;
    if (gnss) tick.gnss = vector3(*gnss, "gnss");
    if (location) tick.location = vector3(*location, "location");
    tick.compass = compass;
    tick.accelerometer = vector3(accelerometer, "accelerometer");
    tick.gyroscope = vector3(gyroscope, "gyroscope");
    tick.speed = speed;
    const auto value = [&](const char* key) {
      const auto it = applied.find(key);
      return it == applied.end() ? 0.0 : it->second;
    };
    tick.applied = {value("throttle"), value("steer"), value("brake")};
    tick.road_option = road_option;
    if (target) {
      if (target->size() < 2) throw rsd::DataError("target: expected x, y");
      tick.target = Eigen::Vector2d((*target)[0], (*target)[1]);
    }
    std::vector<OwnedImage> owned;
    for (const CarlaCamera& camera : driver_->cameras()) {
      if (!images.contains(camera.id)) throw rsd::DataError("no image for camera " + camera.id);
      owned.push_back(bgr_from_buffer(camera.id, images[py::str(camera.id)].cast<py::buffer>()));
    }
    std::vector<rsd::data::BgrImage> views;
    for (const OwnedImage& image : owned) views.push_back({image.width, image.height, image.bgr.data()});
    rsd::drive::Decision decision;
    {
      py::gil_scoped_release release;
      decision = driver_->step(tick, views);
    }
    return decision_dict(decision);
  }

  rsd::drive::CarlaDriver& driver() { return *driver_; }

 private:
  std::unique_ptr<rsd::drive::CarlaDriver> driver_;
};

}  // namespace

PYBIND11_MODULE(rsd_carla, m) {
  m.doc() = "librsd's CARLA driver for Bench2Drive's leaderboard agent (tools/carla/rsd_agent.py)";
  m.attr("__version__") = RSD_VERSION_STRING;

  // librsd's errors arrive as these Python exceptions (their message names the file, key or camera).
  // Translators are tried newest first: the subclasses before their base.
  auto& error = py::register_exception<rsd::Error>(m, "Error", PyExc_RuntimeError);
  py::register_exception<rsd::ConfigError>(m, "ConfigError", error.ptr());
  py::register_exception<rsd::DataError>(m, "DataError", error.ptr());
  py::register_exception<rsd::CheckpointError>(m, "CheckpointError", error.ptr());

  py::class_<GeoReference>(m, "GeoReference", "a map's geo reference: latitude, longitude, altitude of its origin")
      .def(py::init([](double latitude, double longitude, double altitude) {
             return GeoReference{latitude, longitude, altitude};
           }),
           py::arg("latitude") = 42.0, py::arg("longitude") = 2.0, py::arg("altitude") = 0.0)
      .def_readwrite("latitude", &GeoReference::latitude)
      .def_readwrite("longitude", &GeoReference::longitude)
      .def_readwrite("altitude", &GeoReference::altitude)
      .def("__repr__", [](const GeoReference& g) {
        return "GeoReference(" + std::to_string(g.latitude) + ", " + std::to_string(g.longitude) + ", " +
               std::to_string(g.altitude) + ")";
      });

  m.def("bench2drive_cameras", [] { return sensor_dicts(rsd::drive::bench2drive_cameras()); },
        "Bench2DriveZoo's six cameras as sensors() entries");
  m.def("bench2drive_other_sensors", &other_sensor_dicts, "IMU, GPS and SPEED as sensors() entries");
  m.def("world_to_gnss",
        [](const GeoReference& reference, const std::vector<double>& location) {
          const Eigen::Vector3d g = rsd::drive::world_to_gnss(reference, vector3(location, "location"));
          return py::make_tuple(g.x(), g.y(), g.z());
        },
        py::arg("reference"), py::arg("location"), "CARLA world (x, y, z) -> (lat, lon, alt), as CARLA's GNSS");
  m.def("gnss_to_world",
        [](const GeoReference& reference, const std::vector<double>& gnss) {
          const Eigen::Vector3d w = rsd::drive::gnss_to_world(reference, vector3(gnss, "gnss"));
          return py::make_tuple(w.x(), w.y(), w.z());
        },
        py::arg("reference"), py::arg("gnss"), "(lat, lon, alt) -> CARLA world (x, y, z): the exact inverse");
  m.def("geo_reference_from",
        [](const std::vector<double>& location, const std::vector<double>& gnss) {
          return rsd::drive::geo_reference_from(vector3(location, "location"), vector3(gnss, "gnss"));
        },
        py::arg("location"), py::arg("gnss"), "the geo reference under which location reads as gnss");

  py::class_<Driver>(m, "Driver", "a checkpoint driving from CARLA's sensor values")
      .def(py::init<const std::string&, const std::string&, const std::string&, int, const std::vector<std::string>&>(),
           py::arg("config"), py::arg("checkpoint"), py::arg("device") = "", py::arg("threads") = 0,
           py::arg("overrides") = std::vector<std::string>{})
      .def_property_readonly("camera_names", &Driver::camera_names, "the model's cameras (data.cameras)")
      .def_property_readonly("cameras", [](Driver& d) { return sensor_dicts(d.driver().cameras()); },
                             "the model's cameras as sensors() entries")
      .def_property_readonly("device", [](Driver& d) { return d.driver().device(); })
      .def_property_readonly("checkpoint_step", [](Driver& d) { return d.driver().checkpoint_step(); })
      .def_property_readonly("image_size", [](Driver& d) {
        return py::make_tuple(d.driver().image_width(), d.driver().image_height());
      })
      .def_property(
          "geo_reference", [](Driver& d) { return d.driver().geo_reference(); },
          [](Driver& d, const GeoReference& g) { d.driver().set_geo_reference(g); })
      .def("reset", [](Driver& d) { d.driver().reset(); }, "forget the controller's history (a new route)")
      .def("step", &Driver::step, py::arg("images"), py::arg("index"), py::arg("gnss") = py::none(),
           py::arg("location") = py::none(), py::arg("compass"), py::arg("accelerometer"), py::arg("gyroscope"),
           py::arg("speed"), py::arg("applied") = std::map<std::string, double>{}, py::arg("road_option") = 4,
           py::arg("target") = py::none(),
           "one tick: images {camera: array}, GNSS (lat, lon, alt) or location (x, y, z), IMU compass, "
           "accelerometer, gyroscope, speed, the control applied since the last tick {throttle, steer, brake}, "
           "the route's RoadOption and next target point (CARLA world x, y) -> "
           "{'waypoints': [(x, y), ...] (ego frame, x forward, y left), 'control': {throttle, steer, brake}}");
}
