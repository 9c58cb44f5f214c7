#include "rsd/pipeline/teacher_factory.h"

#include <mutex>

#include "rsd/pipeline/teacher_config.h"
#include "rsd/teacher/jsonl_teacher.h"
#include "rsd/teacher/rule_teacher.h"
#include "rsd/teacher/vlm_teacher.h"
#include "rsd/util/error.h"

namespace rsd::pipeline {
namespace {

using teacher::RiskTeacher;

void register_builtin_teachers(TeacherRegistry& registry) {
  registry.add("rule", [](const Config& config) -> std::unique_ptr<RiskTeacher> {
    return std::make_unique<teacher::RuleTeacher>(rule_teacher_options_from(config));
  });
  registry.add("vlm", [](const Config& config) -> std::unique_ptr<RiskTeacher> {
    return std::make_unique<teacher::VlmTeacher>(vlm_teacher_options_from(config));
  });
  registry.add("jsonl", [](const Config& config) -> std::unique_ptr<RiskTeacher> {
    return std::make_unique<teacher::JsonlTeacher>(jsonl_teacher_options_from(config));
  });
}

}  // namespace

TeacherRegistry& teachers() {
  static TeacherRegistry registry("risk teacher");
  static std::once_flag builtins;
  std::call_once(builtins, [] { register_builtin_teachers(registry); });
  return registry;
}

std::unique_ptr<RiskTeacher> make_teacher(const Config& config) {
  const auto type = config.get<std::string>("teacher.type");
  if (!teachers().contains(type)) {
    try {
      teachers().create(type, config);  // throws the registry's message listing the known types
    } catch (const ConfigError& e) {
      throw ConfigError("config key 'teacher.type' (" + config.origin("teacher.type") +
                        "): " + e.what());
    }
  }
  return teachers().create(type, config);
}

teacher::TeacherInfo teacher_info_from(const Config& config) {
  const auto type = config.get<std::string>("teacher.type");
  if (type == "rule") return teacher::rule_teacher_info(rule_teacher_options_from(config));
  if (type == "vlm") return teacher::vlm_teacher_info(vlm_teacher_options_from(config));
  if (type == "jsonl") return teacher::jsonl_teacher_info(jsonl_teacher_options_from(config));
  return make_teacher(config)->info();
}

teacher::SettingsMap risk_cache_settings_from(const Config& config) {
  return teacher::risk_cache_settings(risk_cache_build_options_from(config),
                                      teacher_info_from(config));
}

}  // namespace rsd::pipeline
