#include "rsd/teacher/jsonl_teacher.h"

#include <nlohmann/json.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "answer_parser.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"

namespace rsd::teacher {

JsonlTeacher::JsonlTeacher(JsonlTeacherOptions options) : options_(std::move(options)) {
  if (options_.path.empty()) throw ConfigError("teacher.jsonl.path is not set (teacher.type: jsonl)");
  std::ifstream in(options_.path);
  if (!in) throw DataError("cannot read the risk answers file " + options_.path);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = options_.path + ":" + std::to_string(number);
    nlohmann::json answer;
    try {
      answer = detail::parse_untrusted_json(line, "the line");
    } catch (const detail::InvalidAnswer& e) {
      throw DataError(where + ": " + e.what());
    }
    if (answer.is_discarded() || !answer.is_object()) {
      throw DataError(where + ": not a JSON object");
    }
    if (!answer.contains("clip") || !answer["clip"].is_string() || !answer.contains("frame") ||
        !answer["frame"].is_number_integer()) {
      throw DataError(where + ": needs \"clip\" (string) and \"frame\" (integer)");
    }
    const auto key = std::make_pair(answer["clip"].get<std::string>(), answer["frame"].get<int>());
    const auto [it, inserted] = answers_.emplace(key, Answer{number, line});
    if (!inserted) {
      throw DataError(where + ": clip " + key.first + " frame " + std::to_string(key.second) +
                      " was answered already on line " + std::to_string(it->second.line));
    }
  }
  logging::info(fmt::format("jsonl teacher: {} answered frames from {}", answers_.size(), options_.path));
}

TeacherInfo jsonl_teacher_info(const JsonlTeacherOptions& options) {
  const std::string model = options.model.empty()
                                ? std::filesystem::path(options.path).filename().string()
                                : options.model;
  TeacherInfo info{"jsonl", model, "", match_settings(options.match), /*uses_ego_path=*/false};
  info.settings["teacher.jsonl.camera"] = options.default_camera;
  return info;
}

TeacherInfo JsonlTeacher::info() const { return jsonl_teacher_info(options_); }

std::vector<FrameJudgement> JsonlTeacher::judge(const std::vector<FrameContext>& frames) {
  std::vector<FrameJudgement> judgements;
  for (const auto& context : frames) {
    const data::Frame& frame = context.frame;
    const auto it = answers_.find({frame.clip, frame.index});
    if (it == answers_.end()) {
      judgements.push_back(
          FrameJudgement::failure(frame.clip, frame.index, "no answer in " + options_.path));
      continue;
    }
    const std::string where = options_.path + ":" + std::to_string(it->second.line);
    try {
      const nlohmann::json answer = nlohmann::json::parse(it->second.json);
      const auto objects = detail::parse_answer_objects(answer);
      auto resolved = detail::resolve_answer(objects, frame, options_.default_camera,
                                             options_.match, detail::UnknownIds::report);
      FrameJudgement judgement;
      judgement.clip = frame.clip;
      judgement.frame = frame.index;
      judgement.objects = std::move(resolved.objects);
      judgement.unmatched = std::move(resolved.unmatched);
      judgements.push_back(std::move(judgement));
    } catch (const detail::InvalidAnswer& e) {
      judgements.push_back(FrameJudgement::failure(frame.clip, frame.index, where + ": " + e.what()));
    }
  }
  return judgements;
}

}  // namespace rsd::teacher
