// The risk teacher a config names: `teacher.type` picks a factory in an rsd::Registry, and the
// factory reads the teacher's own section into its options struct. The built-ins (rule, vlm,
// jsonl) are registered in one explicit function on first use of teachers(), not by static
// initialisers (a static librsd would drop those). Your own teacher:
//
//   rsd::pipeline::teachers().add("mine", [](const rsd::Config& config) {
//     return std::make_unique<MyTeacher>(rsd::pipeline::rule_teacher_options_from(config));
//   });
//   // then --set teacher.type=mine
#pragma once

#include <memory>

#include "rsd/config/config.h"
#include "rsd/teacher/risk_teacher.h"
#include "rsd/util/registry.h"

namespace rsd::pipeline {

/// Factories get the whole resolved config.
using TeacherRegistry = Registry<std::unique_ptr<teacher::RiskTeacher>, const Config&>;

/// The process-wide registry, with the built-in teachers registered.
TeacherRegistry& teachers();

/// The teacher named by the config's teacher.type. Throws rsd::ConfigError naming the key and
/// listing the known types when it is unknown.
std::unique_ptr<teacher::RiskTeacher> make_teacher(const Config& config);

/// What make_teacher(config)->info() gives, without building a built-in teacher (no VLM contacted,
/// no answers file read): the identity and settings its caches record. A teacher registered by
/// the application is built and asked.
teacher::TeacherInfo teacher_info_from(const Config& config);

/// The settings a cache built by rsd_cache_risk with this config records
/// (teacher::risk_cache_settings of its build options and teacher): what training expects.
teacher::SettingsMap risk_cache_settings_from(const Config& config);

}  // namespace rsd::pipeline
