// What `rsd_cache_risk` does, as library calls: build the risk cache with the teacher the config
// names (all clips, or this process's shard of them), check a cache folder against the clips
// (`verify`), join shard folders (`merge`), and draw cached frames (`inspect`).
#pragma once

#include <string>
#include <vector>

#include "rsd/config/config.h"
#include "rsd/pipeline/shard.h"
#include "rsd/teacher/inspect.h"
#include "rsd/teacher/risk_cache_builder.h"
#include "rsd/teacher/risk_cache_merge.h"
#include "rsd/teacher/risk_cache_verify.h"

namespace rsd::pipeline {

struct RiskCacheJobOptions {
  std::vector<std::string> clips;  // restrict to these clip names; empty: teacher.clips, else all
  Shard shard;                     // only the clips this shard owns (default: all)
  bool progress = true;
};

/// Every clip under data.root (or the chosen ones), frames read with data.cameras, judged by the
/// teacher of teacher.type, cached into teacher.output on data.grid (teacher::run_risk_cache).
/// Then, the caches being written, throws rsd::Error (check_failed_frames) when more than
/// teacher.max_failed_fraction of the frames FAILED.
teacher::RiskCacheRunReport run_risk_cache(const Config& config,
                                           const RiskCacheJobOptions& options = {});

/// With the VLM teacher the report's endpoints hold each server's requests, failures and mean
/// latency (also logged).
///
/// Throws rsd::Error when the FAILED frames of `report` are more than `max_failed_fraction` of
/// all its frames, with their count and the first reasons: a run whose labels mostly failed must
/// not look like a success to a script. A report without frames passes.
void check_failed_frames(const teacher::RiskCacheRunReport& report, double max_failed_fraction);

/// teacher::verify_risk_cache of teacher.output for the clips run_risk_cache would build with
/// `options` (their frames from data.root), against this config's teacher, grid and settings.
teacher::RiskCacheVerifyReport verify_risk_cache(const Config& config,
                                                 const RiskCacheJobOptions& options = {});

/// teacher.max_failed_fraction (checked).
double max_failed_fraction_from(const Config& config);

/// teacher::merge_risk_caches of the shard folders `inputs` into `output` (empty: teacher.output),
/// checked against this config's teacher, grid and settings.
teacher::RiskCacheMergeReport merge_risk_caches(const Config& config,
                                                const std::vector<std::string>& inputs,
                                                const std::string& output = "");

/// teacher::render_risk_inspection with the caches of teacher.output and the clips of data.root.
std::vector<std::string> render_risk_inspection(const Config& config,
                                                const std::vector<teacher::InspectRequest>& requests,
                                                const std::string& out_dir);

}  // namespace rsd::pipeline
