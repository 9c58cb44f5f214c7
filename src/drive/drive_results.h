// The files of an rsd_drive output folder (drive_job.h lists them): one result per route, read
// back by the merge, and the summary files.
#pragma once

#include <string>
#include <vector>

#include "rsd/data/synth/closed_loop.h"
#include "rsd/drive/driving_score.h"
#include "rsd/drive/route_runner.h"

namespace rsd::drive {

struct RouteResultFile {
  data::synth::RouteSpec route;
  std::string agent;
  std::string checkpoint;
  RouteScore score;
  std::vector<data::synth::InfractionEvent> infractions;
  TickTiming timing;
};

/// out_dir/routes/<route>.json, written atomically.
void write_route_result(const std::string& out_dir, const RouteResultFile& result);
/// Throws rsd::DataError naming the file and key when it is not a route result.
RouteResultFile read_route_result(const std::string& path);

/// The same route (spec) with the same results (every score field and infraction); timing and
/// the checkpoint's path may differ.
bool same_result(const RouteResultFile& a, const RouteResultFile& b);

struct SummaryInputs {
  std::string agent, checkpoint;
  DrivingSummary summary;
  std::vector<RouteScore> routes;  // sorted by route name
  TickTiming timing;
};

/// metrics.json, timing.json and report.md of out_dir.
void write_summary_files(const std::string& out_dir, const SummaryInputs& inputs);

}  // namespace rsd::drive
