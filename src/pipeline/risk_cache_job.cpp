#include "rsd/pipeline/risk_cache_job.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>
#include <string>
#include <vector>

#include "rsd/config/config_checks.h"
#include "rsd/data/clip_index.h"
#include "rsd/pipeline/teacher_config.h"
#include "rsd/pipeline/teacher_factory.h"
#include "rsd/teacher/vlm_teacher.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"

namespace rsd::pipeline {
namespace {

constexpr std::size_t kReasonsShown = 3;

std::vector<std::string> clips_from(const Config& config, const RiskCacheJobOptions& options) {
  return options.clips.empty() ? config.get<std::vector<std::string>>("teacher.clips") : options.clips;
}

void log_endpoints(const std::vector<teacher::EndpointReport>& endpoints) {
  for (const auto& endpoint : endpoints) {
    logging::info(fmt::format(
        "VLM endpoint {}: {} requests, {} failed, mean latency {:.3f} s, taken out {} times",
        endpoint.url, endpoint.stats.requests, endpoint.stats.failures,
        endpoint.stats.mean_latency_s(), endpoint.stats.cool_downs));
  }
}

}  // namespace

double max_failed_fraction_from(const Config& config) {
  const Config teacher = config.section("teacher");
  const auto fraction = require_non_negative<double>(teacher, "max_failed_fraction");
  if (fraction > 1.0) reject_config_value(teacher, "max_failed_fraction", "must be in [0, 1]");
  return fraction;
}

void check_failed_frames(const teacher::RiskCacheRunReport& report, double max_failed_fraction) {
  const int total = report.frames_ok + report.frames_failed;
  if (total == 0 || report.frames_failed <= max_failed_fraction * total) return;
  std::vector<std::string> reasons;
  for (const auto& clip : report.clips) {
    for (const auto& failure : clip.failures) {
      if (reasons.size() < kReasonsShown) reasons.push_back(clip.clip + " " + failure);
    }
  }
  throw Error(fmt::format(
      "{} of {} frames FAILED ({:.1f}%), more than teacher.max_failed_fraction = {} allows; first "
      "reasons: {}. The caches in {} are written with these frames unlabelled; a complete cache is "
      "not judged again, so delete it to retry its frames",
      report.frames_failed, total, 100.0 * report.frames_failed / total, max_failed_fraction,
      fmt::join(reasons, "; "), report.output_dir));
}

teacher::RiskCacheRunReport run_risk_cache(const Config& config,
                                           const RiskCacheJobOptions& options) {
  const double max_failed_fraction = max_failed_fraction_from(config);
  const teacher::RiskCacheBuildOptions build = risk_cache_build_options_from(config);
  std::unique_ptr<teacher::RiskTeacher> risk_teacher = make_teacher(config);
  teacher::RiskCacheRunOptions run;
  run.data_root = config.get<std::string>("data.root");
  run.cameras = config.get<std::vector<std::string>>("data.cameras");
  run.clips = clips_from(config, options);
  if (options.shard.count > 1) {
    logging::info("risk cache: " + options.shard.describe() + " of a split run");
    run.owns = [shard = options.shard](const std::string& clip) { return shard.owns(clip); };
  }
  run.progress = options.progress;
  const auto* vlm = dynamic_cast<const teacher::VlmTeacher*>(risk_teacher.get());
  if (vlm != nullptr && vlm->max_in_flight() > build.checkpoint_frames) {
    // The builder hands the teacher one checkpoint's frames at a time.
    logging::warn(fmt::format(
        "teacher.checkpoint_frames = {} bounds the VLM requests in flight to {}, fewer than the "
        "endpoints' concurrency ({}): set it to at least {} to keep the servers busy",
        build.checkpoint_frames, build.checkpoint_frames, vlm->max_in_flight(), vlm->max_in_flight()));
  }
  teacher::RiskCacheRunReport report = teacher::run_risk_cache(build, *risk_teacher, run);
  if (vlm != nullptr) {
    report.endpoints = vlm->endpoint_stats();
    log_endpoints(report.endpoints);
  }
  check_failed_frames(report, max_failed_fraction);
  return report;
}

teacher::RiskCacheVerifyReport verify_risk_cache(const Config& config,
                                                 const RiskCacheJobOptions& options) {
  std::unique_ptr<teacher::RiskTeacher> risk_teacher = make_teacher(config);
  const teacher::RiskCacheBuilder builder(risk_cache_build_options_from(config), *risk_teacher);
  const data::ClipIndex index = data::ClipIndex::scan(config.get<std::string>("data.root"));
  std::vector<teacher::ExpectedClip> expected;
  const std::vector<std::string> names = clips_from(config, options);
  const auto add = [&](const data::ClipInfo& clip) {
    if (options.shard.owns(clip.name)) expected.push_back({clip.name, clip.frames});
  };
  if (names.empty()) {
    for (const auto& clip : index.clips()) add(clip);
  } else {
    for (const auto& name : names) add(index.clip(name));
  }
  return teacher::verify_risk_cache(builder, expected);
}

teacher::RiskCacheMergeReport merge_risk_caches(const Config& config,
                                                const std::vector<std::string>& inputs,
                                                const std::string& output) {
  std::unique_ptr<teacher::RiskTeacher> risk_teacher = make_teacher(config);
  teacher::RiskCacheBuildOptions build = risk_cache_build_options_from(config);
  if (!output.empty()) build.output_dir = output;
  const teacher::RiskCacheBuilder builder(build, *risk_teacher);
  return teacher::merge_risk_caches(builder, inputs);
}

std::vector<std::string> render_risk_inspection(const Config& config,
                                                const std::vector<teacher::InspectRequest>& requests,
                                                const std::string& out_dir) {
  return teacher::render_risk_inspection(inspect_options_from(config), requests, out_dir);
}

}  // namespace rsd::pipeline
