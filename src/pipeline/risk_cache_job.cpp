#include "rsd/pipeline/risk_cache_job.h"

#include <memory>

#include "rsd/pipeline/teacher_config.h"
#include "rsd/pipeline/teacher_factory.h"

namespace rsd::pipeline {

teacher::RiskCacheRunReport run_risk_cache(const Config& config,
                                           const RiskCacheJobOptions& options) {
  const teacher::RiskCacheBuildOptions build = risk_cache_build_options_from(config);
  std::unique_ptr<teacher::RiskTeacher> risk_teacher = make_teacher(config);
  teacher::RiskCacheRunOptions run;
  run.data_root = config.get<std::string>("data.root");
  run.cameras = config.get<std::vector<std::string>>("data.cameras");
  run.clips =
      options.clips.empty() ? config.get<std::vector<std::string>>("teacher.clips") : options.clips;
  run.progress = options.progress;
  return teacher::run_risk_cache(build, *risk_teacher, run);
}

std::vector<std::string> render_risk_inspection(const Config& config,
                                                const std::vector<teacher::InspectRequest>& requests,
                                                const std::string& out_dir) {
  return teacher::render_risk_inspection(inspect_options_from(config), requests, out_dir);
}

}  // namespace rsd::pipeline
