// What `rsd_drive` does, as a library call: drive a set of closed-loop routes with one agent (a
// checkpoint's model, the expert, or a reference planner), write one result file per route, and
// summarise them into metrics.json and report.md (docs/closed-loop.md).
//
// Output folder:
//   routes/<route>.json   the route's score, infractions and timing (written atomically)
//   strips/<route>.png    the route's picture
//   metrics.json          the summary and every route's score: the same bytes whatever the number
//                         of shards or processes the routes ran in
//   timing.json           ticks per second and where the time went (differs run to run)
//   report.md
//   ticks/<route>/        with record_ticks: every tick's annotation, images and decision
#pragma once

#include <string>
#include <vector>

#include "rsd/config/config.h"
#include "rsd/data/synth/closed_loop.h"
#include "rsd/drive/driving_score.h"
#include "rsd/drive/route_runner.h"
#include "rsd/pipeline/checkpoint_model.h"
#include "rsd/pipeline/shard.h"

namespace rsd::drive {

enum class AgentKind { model, expert, constant_velocity, straight_line };
/// "model", "expert", "constant_velocity", "straight_line"; rsd::ConfigError naming --agent else.
AgentKind parse_agent_kind(const std::string& text);
const char* to_string(AgentKind kind);

struct DriveJobOptions {
  AgentKind agent = AgentKind::model;
  std::string checkpoint;                       // the model's (agent model)
  pipeline::ModelSource model_from = pipeline::ModelSource::checkpoint;
  std::string out_dir;                          // required
  std::vector<data::synth::RouteSpec> routes;   // empty: data::synth::default_route_set()
  pipeline::Shard shard;                        // the routes this process drives
  data::synth::ClosedLoopOptions world;
  bool strips = true;
  /// Render the cameras at world.image_width x image_height and place them as the loader does
  /// (exactly the training path, slower) instead of straight into the model's input.
  bool render_full_images = false;
  int jpeg_quality = 0;                         // RouteRunOptions::jpeg_quality
  bool record_ticks = false;                    // also ticks/<route>/ (RouteRunOptions::record_dir)
};

struct DriveSummary {
  std::string out_dir;
  std::string report_path;                      // empty when this shard wrote no summary
  DrivingSummary summary;
  std::vector<RouteScore> routes;
  TickTiming timing;
};

/// Drives the shard's routes. A single shard also writes the summary; a shard of several writes
/// only its route files (merge_drive_results joins them). `config` is needed for the model agent
/// (its data.cameras and run.device; the network from the checkpoint). Throws rsd::ConfigError for
/// bad options (a model agent without a checkpoint, a camera the rig lacks), rsd::CheckpointError.
DriveSummary run_drive_job(const Config* config, const DriveJobOptions& options);

/// Joins the route files of `dirs` (shards of one run; a folder may be out_dir itself) into
/// out_dir's metrics.json, timing.json and report.md (copying route files and strips into
/// out_dir). Refuses a route found twice with different results, results of different agents or
/// checkpoints, and (when `expected` is not empty) a missing or unexpected route, naming it.
DriveSummary merge_drive_results(const std::vector<std::string>& dirs, const std::string& out_dir,
                                 const std::vector<data::synth::RouteSpec>& expected = {});

}  // namespace rsd::drive
