#include "bench/drive_bench.h"

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <memory>

#include "bench/bench_model.h"
#include "rsd/data/frame_reader.h"
#include "rsd/data/synth/closed_loop.h"
#include "rsd/drive/model_agent.h"
#include "rsd/pipeline/model_config.h"

namespace rsd::bench {
namespace {

// A route kept running: when it ends, the next one starts.
struct Drive {
  data::synth::RouteSpec route;
  data::synth::ClosedLoopOptions options;
  std::unique_ptr<data::synth::ClosedLoopWorld> world;
  std::unique_ptr<drive::DrivingAgent> expert = drive::make_expert_agent();
  data::FrameReader reader{data::default_camera_names(), [] {
                             data::FrameReaderOptions o;
                             o.derive_velocity_from_motion = false;
                             return o;
                           }()};
  data::ClipInfo clip;

  data::synth::ClosedLoopWorld& current() {
    if (!world || world->finished()) {
      world = std::make_unique<data::synth::ClosedLoopWorld>(route, options);
      clip.name = world->clip_name();
      clip.path = "closed-loop/" + clip.name;
      expert->reset();
    }
    return *world;
  }
  data::Frame frame() { return reader.parse(current().annotation(), clip, current().tick(), "bench"); }
};

}  // namespace

void add_drive_flags(CLI::App& command, DriveBenchOptions& options) {
  command.add_option("--config", options.config, "config whose model sizes are used (random weights)")->capture_default_str();
  command.add_option("--scenario", options.scenario, "scenario type of the route")->capture_default_str();
  command.add_option("--width", options.image_width, "rendered camera width (rsd_drive --render)")->capture_default_str();
  command.add_option("--height", options.image_height, "rendered camera height")->capture_default_str();
}

int run_drive_bench(const Settings& settings, const DriveBenchOptions& options) {
  const Config config = load_bench_config(options.config);
  torch::manual_seed(0);
  model::E2EModel model(pipeline::e2e_model_options_from(config));
  const int64_t input_width = model->options().lift.image_width(), input_height = model->options().lift.image_height();
  auto agent = std::make_shared<drive::ModelAgent>(model, drive::ModelAgentOptions{});
  auto state = std::make_shared<Drive>();
  state->route = data::synth::make_route_set(1, 2026, 150, {options.scenario}).front();
  state->options.image_width = options.image_width;
  state->options.image_height = options.image_height;
  const std::vector<std::string> cameras = data::default_camera_names();
  const Eigen::Matrix3d placement = data::network_placement(options.image_width, options.image_height, input_width, input_height);
  const data::synth::ImageWindow window{static_cast<int>(input_width), static_cast<int>(input_height), placement(0, 0),
                                        placement(1, 1), placement(0, 2), placement(1, 2)};
  const torch::Device cpu(torch::kCPU);

  time_on_device(cpu, "drive/annotation_and_reader", [state] { benchmark::DoNotOptimize(state->frame()); });
  time_on_device(cpu, "drive/render_into_input", [state, cameras, window] {
    benchmark::DoNotOptimize(state->current().render(cameras, &window));
  });
  time_on_device(cpu, "drive/render_full_images", [state, cameras] { benchmark::DoNotOptimize(state->current().render(cameras)); });
  auto frame = std::make_shared<data::Frame>(state->frame());
  auto images = std::make_shared<std::vector<data::synth::RenderedCamera>>(state->current().render(cameras, &window));
  time_on_device(cpu, "drive/model_decision", [agent, frame, images] {
    drive::Observation observation;
    observation.frame = frame.get();
    observation.image_source = data::ImageSource::placed;
    for (const auto& camera : *images) observation.images.push_back({camera.width, camera.height, camera.bgr.data()});
    benchmark::DoNotOptimize(agent->decide(observation));
  });
  time_on_device(cpu, "drive/world_step", [state] {
    const data::Frame now = state->frame();
    drive::Observation observation;
    observation.frame = &now;
    observation.world = &state->current();
    const drive::Decision decision = state->expert->decide(observation);
    state->current().step({decision.control.throttle, decision.control.steer, decision.control.brake}, decision.waypoints);
  });
  const auto results = run_registered(settings);
  const double reading = find(results, "drive/annotation_and_reader").median_s();
  const double placed = find(results, "drive/render_into_input").median_s();
  const double full = find(results, "drive/render_full_images").median_s();
  const double decide = find(results, "drive/model_decision").median_s();
  const double step = find(results, "drive/world_step").median_s();
  const double tick = reading + placed + decide + step;
  std::vector<std::pair<std::string, double>> derived = {
      {"drive/tick_ms", 1e3 * tick},
      {"drive/ticks_per_second", 1.0 / tick},
      {"drive/share_reading_pct", 100.0 * reading / tick},
      {"drive/share_render_pct", 100.0 * placed / tick},
      {"drive/share_model_pct", 100.0 * decide / tick},
      {"drive/share_step_pct", 100.0 * step / tick},
      {"drive/render_full_vs_into_input", full / placed},
      {"drive/ticks_per_second_full_render", 1.0 / (reading + full + decide + step)},
  };
  report("drive (" + options.config + ", " + std::to_string(options.image_width) + "x" + std::to_string(options.image_height) +
             " cameras, model input " + std::to_string(input_width) + "x" + std::to_string(input_height) + ")",
         settings, results, derived);
  return 0;
}

}  // namespace rsd::bench
