#include "rsd/drive/route_runner.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <chrono>
#include <optional>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "rsd/data/frame_reader.h"
#include "rsd/util/error.h"

namespace rsd::drive {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

data::synth::ClosedLoopWorld::RiskMap risk_map(const Decision& decision, int tick) {
  data::synth::ClosedLoopWorld::RiskMap map;
  map.tick = tick;
  const GridSpec& grid = *decision.risk_grid;
  map.nx = static_cast<int>(grid.nx());
  map.ny = static_cast<int>(grid.ny());
  map.x_min = grid.x().min;
  map.y_min = grid.y().min;
  map.cell = grid.x().step;
  const torch::Tensor values = decision.risk.to(torch::kFloat32).contiguous();
  map.values.assign(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
  return map;
}

// The image as a JPEG of `quality` decodes (what a recorded clip would give the model).
void jpeg_round_trip(data::synth::RenderedCamera& camera, int quality) {
  cv::Mat image(camera.height, camera.width, CV_8UC3, camera.bgr.data());
  std::vector<uchar> bytes;
  if (!cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, quality})) throw Error("cannot JPEG-encode " + camera.name);
  const cv::Mat decoded = cv::imdecode(bytes, cv::IMREAD_COLOR);
  if (decoded.rows != camera.height || decoded.cols != camera.width || !decoded.isContinuous()) {
    throw Error("cannot JPEG-decode " + camera.name);
  }
  std::copy(decoded.data, decoded.data + camera.bgr.size(), camera.bgr.begin());
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw Error("cannot write " + path.string());
}

// One tick as recorded for replays (RouteRunOptions::record_dir).
void record_tick(const std::filesystem::path& folder, int tick, const std::string& annotation,
                 const std::vector<data::synth::RenderedCamera>& images, const Decision& decision) {
  char stem[16];
  std::snprintf(stem, sizeof(stem), "%05d", tick);
  write_text(folder / (std::string(stem) + ".json"), annotation);
  for (const auto& camera : images) {
    const cv::Mat image(camera.height, camera.width, CV_8UC3, const_cast<uint8_t*>(camera.bgr.data()));
    const std::string path = (folder / (std::string(stem) + "_" + camera.name + ".png")).string();
    if (!cv::imwrite(path, image)) throw Error("cannot write " + path);
  }
  std::string waypoints;
  char number[64];
  for (const Eigen::Vector2d& w : decision.waypoints) {
    std::snprintf(number, sizeof(number), "%s[%.17g, %.17g]", waypoints.empty() ? "" : ", ", w.x(), w.y());
    waypoints += number;
  }
  char control[160];
  std::snprintf(control, sizeof(control), "{\"throttle\": %.17g, \"steer\": %.17g, \"brake\": %.17g}",
                decision.control.throttle, decision.control.steer, decision.control.brake);
  write_text(folder / (std::string(stem) + "_decision.json"),
             "{\"waypoints\": [" + waypoints + "], \"control\": " + control + "}\n");
}

}  // namespace

RouteRun drive_route(const data::synth::RouteSpec& route, DrivingAgent& agent, const RouteRunOptions& options) {
  try {
    data::synth::ClosedLoopWorld world(route, options.world);
    const std::vector<std::string> cameras = options.cameras.empty() ? data::default_camera_names() : options.cameras;
    data::FrameReaderOptions reader_options;
    reader_options.derive_velocity_from_motion = false;  // no neighbouring files: the model needs none
    const data::FrameReader reader(cameras, reader_options);
    data::ClipInfo clip;
    clip.name = world.clip_name();
    clip.path = "closed-loop/" + clip.name;
    agent.reset();
    std::optional<data::synth::ImageWindow> window;
    if (options.input_width > 0 && options.input_height > 0) {
      const Eigen::Matrix3d placement = data::network_placement(options.world.image_width, options.world.image_height,
                                                                options.input_width, options.input_height);
      window = data::synth::ImageWindow{static_cast<int>(options.input_width), static_cast<int>(options.input_height),
                                        placement(0, 0), placement(1, 1), placement(0, 2), placement(1, 2)};
    }
    RouteRun run;
    std::vector<data::synth::ClosedLoopWorld::RiskMap> risk;
    if (!options.record_dir.empty()) std::filesystem::create_directories(options.record_dir);
    while (!world.finished()) {
      const int tick = world.tick();
      auto start = Clock::now();
      const std::string annotation = world.annotation();
      const data::Frame frame =
          reader.parse(annotation, clip, tick, route.name() + " tick " + std::to_string(tick) + " (closed-loop annotation)");
      run.timing.simulate += seconds_since(start);
      Observation observation;
      observation.frame = &frame;
      observation.tick = tick;
      observation.world = &world;
      std::vector<data::synth::RenderedCamera> rendered;
      if (agent.needs_images()) {
        start = Clock::now();
        rendered = world.render(cameras, window ? &*window : nullptr);
        if (options.jpeg_quality > 0) {
          for (auto& camera : rendered) jpeg_round_trip(camera, options.jpeg_quality);
        }
        observation.image_source = window ? data::ImageSource::placed : data::ImageSource::stored;
        for (const auto& camera : rendered) observation.images.push_back({camera.width, camera.height, camera.bgr.data()});
        run.timing.render += seconds_since(start);
      }
      start = Clock::now();
      const Decision decision = agent.decide(observation);
      run.timing.agent += seconds_since(start);
      if (!options.strip_path.empty() && decision.risk.defined() && decision.risk_grid) risk.push_back(risk_map(decision, tick));
      if (!options.record_dir.empty()) record_tick(options.record_dir, tick, annotation, rendered, decision);
      start = Clock::now();
      world.step({decision.control.throttle, decision.control.steer, decision.control.brake}, decision.waypoints);
      run.timing.simulate += seconds_since(start);
      ++run.timing.ticks;
    }
    if (!options.strip_path.empty()) world.write_strip(options.strip_path, risk, options.strip_panels);
    run.outcome = world.outcome();
    run.score = score_route(run.outcome);
    return run;
  } catch (const ConfigError& error) {
    throw ConfigError("route " + route.name() + ": " + error.what());
  } catch (const DataError& error) {
    throw DataError("route " + route.name() + ": " + error.what());
  } catch (const Error& error) {
    throw Error("route " + route.name() + ": " + error.what());
  }
}

}  // namespace rsd::drive
