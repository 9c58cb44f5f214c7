// Teachers are picked by the string `teacher.type` through an rsd::Registry. The built-ins (rule,
// vlm, jsonl) are registered in one explicit function on first use of teachers(), not by static
// initialisers (a static librsd would drop those). Your own teacher:
//
//   rsd::teacher::teachers().add("mine", [](const rsd::Config& config) {
//     return std::make_unique<MyTeacher>(rsd::teacher::rule_teacher_options_from(config));
//   });
//   // then --set teacher.type=mine
#pragma once

#include <memory>

#include "rsd/teacher/risk_teacher.h"
#include "rsd/util/registry.h"

namespace rsd {
class Config;
}

namespace rsd::teacher {

/// Factories get the whole resolved config.
using TeacherRegistry = Registry<std::unique_ptr<RiskTeacher>, const Config&>;

/// The process-wide registry, with the built-in teachers registered.
TeacherRegistry& teachers();

/// The teacher named by the config's teacher.type. Throws rsd::ConfigError naming the key and
/// listing the known types when it is unknown.
std::unique_ptr<RiskTeacher> make_teacher(const Config& config);

}  // namespace rsd::teacher
