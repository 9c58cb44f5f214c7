#include "rsd/drive/drive_job.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>

#include "drive/drive_results.h"
#include "rsd/drive/model_agent.h"
#include "rsd/pipeline/process.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"

namespace rsd::drive {

namespace fs = std::filesystem;

AgentKind parse_agent_kind(const std::string& text) {
  for (AgentKind kind : {AgentKind::model, AgentKind::expert, AgentKind::constant_velocity, AgentKind::straight_line}) {
    if (text == to_string(kind)) return kind;
  }
  throw ConfigError("--agent: unknown agent '" + text + "' (model, expert, constant_velocity, straight_line)");
}

const char* to_string(AgentKind kind) {
  switch (kind) {
    case AgentKind::model: return "model";
    case AgentKind::expert: return "expert";
    case AgentKind::constant_velocity: return "constant_velocity";
    case AgentKind::straight_line: return "straight_line";
  }
  return "unknown";
}

namespace {

struct PreparedAgent {
  std::unique_ptr<DrivingAgent> agent;
  std::vector<std::string> cameras;
  int64_t input_width = 0, input_height = 0;  // the model's network input
};

PreparedAgent prepare_agent(const Config* config, const DriveJobOptions& options) {
  PreparedAgent prepared;
  if (options.agent == AgentKind::expert) {
    prepared.agent = make_expert_agent();
  } else if (options.agent == AgentKind::constant_velocity || options.agent == AgentKind::straight_line) {
    prepared.agent = make_constant_velocity_agent(options.agent == AgentKind::straight_line);
  } else {
    if (config == nullptr) throw ConfigError("the model agent needs --config (and --checkpoint)");
    if (options.checkpoint.empty()) throw ConfigError("the model agent needs --checkpoint");
    if (!fs::is_regular_file(options.checkpoint)) throw CheckpointError(options.checkpoint + ": no such checkpoint file");
    const torch::Device device = pipeline::run_device(pipeline::run_options_from(*config));
    pipeline::CheckpointModel loaded = pipeline::load_checkpoint_model(*config, options.checkpoint, options.model_from, device);
    prepared.cameras = loaded.config.get<std::vector<std::string>>("data.cameras");
    const std::vector<std::string> rig = data::synth::rig_camera_names();
    for (const std::string& camera : prepared.cameras) {
      if (std::find(rig.begin(), rig.end(), camera) == rig.end()) {
        throw ConfigError("data.cameras of " + options.checkpoint + " names " + camera +
                          ", which the closed-loop sensor rig (Bench2Drive's six cameras) does not have");
      }
    }
    logging::info("driving " + options.checkpoint + " (step " + std::to_string(loaded.progress.step) + ", model from " +
                  loaded.model_source + ") on " + device.str());
    prepared.input_width = loaded.model->options().lift.image_width();
    prepared.input_height = loaded.model->options().lift.image_height();
    prepared.agent = std::make_unique<ModelAgent>(std::move(loaded.model), ModelAgentOptions{});
  }
  return prepared;
}

std::string describe(const RouteScore& score) {
  const std::string listed = infraction_list(score);
  char text[160];
  std::snprintf(text, sizeof(text), "DS %.1f (completion %.0f %%, %s)", score.driving_score, score.route_completion, score.end.c_str());
  return text + (listed.empty() ? "" : ", " + listed);
}

}  // namespace

DriveSummary run_drive_job(const Config* config, const DriveJobOptions& options) {
  if (options.out_dir.empty()) throw ConfigError("rsd_drive: --out is required");
  const std::vector<data::synth::RouteSpec> routes = options.routes.empty() ? data::synth::default_route_set() : options.routes;
  PreparedAgent prepared = prepare_agent(config, options);
  RouteRunOptions run_options;
  run_options.world = options.world;
  run_options.cameras = prepared.cameras;
  if (options.jpeg_quality < 0 || options.jpeg_quality > 100) {
    throw ConfigError("--jpeg-quality must be in [0, 100] (0: none), got " + std::to_string(options.jpeg_quality));
  }
  run_options.jpeg_quality = options.jpeg_quality;
  if (!options.render_full_images) {
    run_options.input_width = prepared.input_width;
    run_options.input_height = prepared.input_height;
  }
  const std::string checkpoint = options.agent == AgentKind::model ? options.checkpoint : "";
  std::vector<data::synth::RouteSpec> mine;
  for (const auto& route : routes) {
    if (options.shard.owns(route.name())) mine.push_back(route);
  }
  logging::info("rsd_drive: " + std::string(to_string(options.agent)) + " on " + std::to_string(mine.size()) + " of " +
                std::to_string(routes.size()) + " routes (" + options.shard.describe() + ") -> " + options.out_dir);
  DriveSummary summary;
  summary.out_dir = options.out_dir;
  for (std::size_t i = 0; i < mine.size(); ++i) {
    const auto& route = mine[i];
    run_options.strip_path = options.strips ? (fs::path(options.out_dir) / "strips" / (route.name() + ".png")).string() : "";
    if (!run_options.strip_path.empty()) fs::create_directories(fs::path(run_options.strip_path).parent_path());
    run_options.record_dir = options.record_ticks ? (fs::path(options.out_dir) / "ticks" / route.name()).string() : "";
    RouteRun run = drive_route(route, *prepared.agent, run_options);
    write_route_result(options.out_dir, {route, to_string(options.agent), checkpoint, run.score, run.outcome.infractions, run.timing});
    logging::info("route " + std::to_string(i + 1) + "/" + std::to_string(mine.size()) + " " + route.name() + ": " + describe(run.score));
    summary.routes.push_back(run.score);
    summary.timing += run.timing;
  }
  if (options.shard.count > 1) return summary;
  return merge_drive_results({options.out_dir}, options.out_dir, routes);
}

DriveSummary merge_drive_results(const std::vector<std::string>& dirs, const std::string& out_dir,
                                 const std::vector<data::synth::RouteSpec>& expected) {
  if (dirs.empty()) throw ConfigError("rsd_drive merge: no result folders given");
  std::map<std::string, RouteResultFile> found;
  std::map<std::string, std::string> source;
  std::string agent, checkpoint_name;
  for (const std::string& dir : dirs) {
    const fs::path folder = fs::path(dir) / "routes";
    if (!fs::is_directory(folder)) throw DataError(dir + ": no routes/ folder (not an rsd_drive output)");
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(folder)) {
      if (entry.path().extension() == ".json") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      RouteResultFile result = read_route_result(file.string());
      const std::string name = result.route.name();
      const std::string this_checkpoint = fs::path(result.checkpoint).filename().string();
      if (agent.empty()) {
        agent = result.agent;
        checkpoint_name = this_checkpoint;
      } else if (result.agent != agent || this_checkpoint != checkpoint_name) {
        throw DataError(file.string() + ": results of " + result.agent + " " + this_checkpoint + " mixed with " + agent + " " +
                        checkpoint_name);
      }
      const auto previous = found.find(name);
      if (previous != found.end()) {
        if (!same_result(previous->second, result)) {
          throw DataError("route " + name + " has different results in " + source[name] + " and " + file.string());
        }
        continue;
      }
      source[name] = file.string();
      found.emplace(name, std::move(result));
    }
  }
  if (!expected.empty()) {
    std::vector<std::string> missing;
    for (const auto& route : expected) {
      if (found.count(route.name()) == 0) missing.push_back(route.name());
    }
    if (!missing.empty()) {
      throw DataError("rsd_drive merge: " + std::to_string(missing.size()) + " route(s) have no result, first " + missing.front() +
                      " (a shard that did not finish?)");
    }
    for (const auto& [name, result] : found) {
      const auto listed = std::find_if(expected.begin(), expected.end(), [&](const auto& route) { return route.name() == name; });
      if (listed == expected.end()) throw DataError("rsd_drive merge: route " + name + " (" + source[name] + ") is not in the route set");
      if (listed->frames != result.route.frames) {
        throw DataError("rsd_drive merge: route " + name + " (" + source[name] + ") was driven with " +
                        std::to_string(result.route.frames) + " frames, the route set has " + std::to_string(listed->frames));
      }
    }
  }
  SummaryInputs inputs;
  inputs.agent = agent;
  inputs.checkpoint = found.empty() ? "" : found.begin()->second.checkpoint;
  DriveSummary summary;
  summary.out_dir = out_dir;
  for (const auto& [name, result] : found) {  // std::map: by route name
    inputs.routes.push_back(result.score);
    inputs.timing += result.timing;
    const fs::path from = fs::path(source[name]).parent_path().parent_path();
    if (fs::weakly_canonical(from) != fs::weakly_canonical(out_dir)) {
      write_route_result(out_dir, result);
      const fs::path strip = from / "strips" / (name + ".png");
      if (fs::exists(strip)) {
        fs::create_directories(fs::path(out_dir) / "strips");
        fs::copy_file(strip, fs::path(out_dir) / "strips" / (name + ".png"), fs::copy_options::overwrite_existing);
      }
    }
  }
  inputs.summary = summarize(inputs.routes);
  write_summary_files(out_dir, inputs);
  summary.report_path = (fs::path(out_dir) / "report.md").string();
  summary.summary = inputs.summary;
  summary.routes = inputs.routes;
  summary.timing = inputs.timing;
  return summary;
}

}  // namespace rsd::drive
