// Config -> the teacher area's options structs (configs/base/teacher.yaml, data.grid, data.root,
// data.cameras). Values are checked here, at the edge, so that a wrong value is reported with its
// key (and where it was set) before any clip is touched.
#pragma once

#include "rsd/config/config.h"
#include "rsd/teacher/inspect.h"
#include "rsd/teacher/jsonl_teacher.h"
#include "rsd/teacher/rasterizer.h"
#include "rsd/teacher/risk_cache_builder.h"
#include "rsd/teacher/rule_teacher.h"
#include "rsd/teacher/vlm_teacher.h"

namespace rsd::pipeline {

/// teacher.rule.
teacher::RuleTeacherOptions rule_teacher_options_from(const Config& config);

/// teacher.vlm and teacher.match; reads the prompt template file.
teacher::VlmTeacherOptions vlm_teacher_options_from(const Config& config);

/// teacher.jsonl and teacher.match.
teacher::JsonlTeacherOptions jsonl_teacher_options_from(const Config& config);

/// teacher.rasterize.
teacher::RasterizeOptions rasterize_options_from(const Config& config);

/// teacher.* (output, rasterize, checkpoint_frames, ego_path) and data.grid.
teacher::RiskCacheBuildOptions risk_cache_build_options_from(const Config& config);

/// Where `rsd_cache_risk inspect` finds what it draws: teacher.output, data.grid, data.root and
/// data.cameras.
teacher::InspectOptions inspect_options_from(const Config& config);

}  // namespace rsd::pipeline
