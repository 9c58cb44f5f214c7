#include "answer_parser.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace rsd::teacher::detail {
namespace {

constexpr std::size_t kMaxReasonLength = 400;
constexpr int kMaxJsonStarts = 64;  // bounds the work on long garbage answers

bool has_answer_shape(const nlohmann::json& value) {
  return value.is_array() || (value.is_object() && value.contains("objects"));
}

// Calls visit(i) for each '{', '[', '}' or ']' of `text` outside JSON strings, from `start` on,
// until visit returns false.
template <typename Visit>
void for_each_bracket(const std::string& text, std::size_t start, Visit&& visit) {
  bool in_string = false;
  for (std::size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[' || c == '}' || c == ']') {
      if (!visit(i)) return;
    }
  }
}

bool is_opening(char c) { return c == '{' || c == '['; }

// True when brackets in `text` nest deeper than `limit`; stops reading at the first level past it.
bool nests_deeper_than(const std::string& text, int limit) {
  int depth = 0;
  bool deeper = false;
  for_each_bracket(text, 0, [&](std::size_t i) {
    depth = is_opening(text[i]) ? depth + 1 : std::max(0, depth - 1);
    deeper = depth > limit;
    return !deeper;
  });
  return deeper;
}

std::optional<nlohmann::json> parse_if_answer(const std::string& text) {
  nlohmann::json value = parse_untrusted_json(text, "the JSON in the answer");
  if (value.is_discarded() || !has_answer_shape(value)) return std::nullopt;
  return value;
}

// The end (one past) of the balanced JSON value starting at `start`; npos when it never closes.
std::size_t balanced_end(const std::string& text, std::size_t start) {
  int depth = 0;
  std::size_t end = std::string::npos;
  for_each_bracket(text, start, [&](std::size_t i) {
    depth += is_opening(text[i]) ? 1 : -1;
    if (depth == 0) end = i + 1;
    return depth != 0;
  });
  return end;
}

std::string excerpt(const std::string& text) {
  return text.size() <= 80 ? text : text.substr(0, 80) + "...";
}

std::string object_id_text(const nlohmann::json& id) {
  if (id.is_string()) {
    std::string text = id.get<std::string>();
    const auto first = text.find_first_not_of(" \t");
    const auto last = text.find_last_not_of(" \t");
    return first == std::string::npos ? "" : text.substr(first, last - first + 1);
  }
  if (id.is_number_integer() || id.is_number_unsigned()) return id.dump();
  throw InvalidAnswer("an id must be a string or an integer, got " + id.dump());
}

}  // namespace

nlohmann::json parse_untrusted_json(const std::string& text, const std::string& what) {
  if (text.size() > kMaxAnswerJsonBytes) {
    throw InvalidAnswer(what + " is " + std::to_string(text.size()) + " bytes long, more than the " +
                        std::to_string(kMaxAnswerJsonBytes) + " accepted");
  }
  if (nests_deeper_than(text, kMaxAnswerJsonDepth)) {
    throw InvalidAnswer(what + " nests brackets deeper than " +
                        std::to_string(kMaxAnswerJsonDepth) + " levels");
  }
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

nlohmann::json extract_answer_json(const std::string& text) {
  // A fenced block (```json ... ``` or ``` ... ```) is what the model meant as its answer.
  for (std::size_t fence = text.find("```"); fence != std::string::npos;) {
    const std::size_t content = text.find('\n', fence);
    const std::size_t close = content == std::string::npos ? content : text.find("```", content);
    if (close == std::string::npos) break;
    if (auto value = parse_if_answer(text.substr(content + 1, close - content - 1))) return *value;
    fence = text.find("```", close + 3);
  }
  int starts = 0;
  for (std::size_t i = 0; i < text.size() && starts < kMaxJsonStarts; ++i) {
    if (text[i] != '{' && text[i] != '[') continue;
    ++starts;
    const std::size_t end = balanced_end(text, i);
    if (end == std::string::npos) continue;
    if (auto value = parse_if_answer(text.substr(i, end - i))) return *value;
  }
  throw InvalidAnswer("no JSON answer of the form {\"objects\": [...]} in \"" + excerpt(text) +
                      "\"");
}

std::vector<AnswerObject> parse_answer_objects(const nlohmann::json& answer) {
  if (!answer.is_array() && !(answer.is_object() && answer.contains("objects"))) {
    throw InvalidAnswer("the answer has no \"objects\" list");
  }
  const nlohmann::json& list = answer.is_array() ? answer : answer["objects"];
  if (!list.is_array()) throw InvalidAnswer("\"objects\" must be a list");
  std::vector<AnswerObject> objects;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const nlohmann::json& item = list[i];
    const std::string where = "object " + std::to_string(i);
    if (!item.is_object()) throw InvalidAnswer(where + " is not a JSON object: " + item.dump());
    AnswerObject object;
    if (item.contains("id") && !item["id"].is_null()) {
      try {
        object.id = object_id_text(item["id"]);
      } catch (const InvalidAnswer& e) {
        throw InvalidAnswer(where + ": " + e.what());
      }
    }
    if (item.contains("box") && !item["box"].is_null()) {
      const nlohmann::json& box = item["box"];
      const bool four_numbers =
          box.is_array() && box.size() == 4 &&
          std::all_of(box.begin(), box.end(), [](const auto& v) { return v.is_number(); });
      if (!four_numbers) throw InvalidAnswer(where + ": box must be [x1, y1, x2, y2] in pixels");
      const Box2D b{box[0].get<double>(), box[1].get<double>(), box[2].get<double>(),
                    box[3].get<double>()};
      if (!(b.x2 > b.x1 && b.y2 > b.y1) || !std::isfinite(b.x1 + b.y1 + b.x2 + b.y2)) {
        throw InvalidAnswer(where + ": box " + box.dump() + " is empty or not finite");
      }
      object.box = b;
      if (item.contains("camera") && item["camera"].is_string()) {
        object.camera = item["camera"].get<std::string>();
      }
    }
    if (!object.id && !object.box) throw InvalidAnswer(where + " has neither \"id\" nor \"box\"");
    if (!item.contains("score") || !item["score"].is_number()) {
      throw InvalidAnswer(where + " has no numeric \"score\"");
    }
    object.score = item["score"].get<double>();
    if (!(object.score >= 0.0 && object.score <= 1.0)) {
      throw InvalidAnswer(where + ": score " + item["score"].dump() + " is outside [0, 1]");
    }
    if (item.contains("reason") && item["reason"].is_string()) {
      object.reason = item["reason"].get<std::string>().substr(0, kMaxReasonLength);
    }
    objects.push_back(std::move(object));
  }
  return objects;
}

ResolvedAnswer resolve_answer(const std::vector<AnswerObject>& objects, const data::Frame& frame,
                              const std::string& default_camera, const MatchOptions& match,
                              UnknownIds unknown_ids, const std::set<std::string>* allowed_ids) {
  ResolvedAnswer resolved;
  std::map<std::string, std::size_t> position;  // object id -> index in resolved.objects
  const auto add = [&](const std::string& id, const AnswerObject& object,
                       const std::string& description) {
    const auto [it, inserted] = position.emplace(id, resolved.objects.size());
    if (inserted) {
      resolved.objects.push_back({id, object.score, object.reason});
      return;
    }
    if (unknown_ids == UnknownIds::reject) {
      throw InvalidAnswer("object " + id + " is named twice (" + description + ")");
    }
    ObjectRisk& kept = resolved.objects[it->second];
    if (object.score > kept.score) kept = {id, object.score, object.reason};
  };
  const auto unmatched = [&](const std::string& description, const AnswerObject& object,
                             const std::string& why) {
    if (unknown_ids == UnknownIds::reject) {
      throw InvalidAnswer(description + ": " + why);
    }
    resolved.unmatched.push_back({description, object.score, object.reason, why});
  };

  std::set<std::string> frame_ids;
  for (const auto& box : frame.boxes) frame_ids.insert(box.id);
  const std::set<std::string>& known = allowed_ids ? *allowed_ids : frame_ids;

  // Box objects are matched per camera, all at once, so that two boxes never take the same object.
  std::map<std::string, std::vector<std::size_t>> by_camera;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    const AnswerObject& object = objects[i];
    if (object.id) {
      if (known.count(*object.id)) {
        add(*object.id, object, "id " + *object.id);
      } else {
        unmatched("id " + *object.id, object, "not an object of this frame's candidates");
      }
    } else {
      by_camera[object.camera.empty() ? default_camera : object.camera].push_back(i);
    }
  }
  for (const auto& camera_entry : by_camera) {
    // Not a structured binding: lambdas may not capture those before C++20 (clang refuses).
    const std::string& camera_name = camera_entry.first;
    const std::vector<std::size_t>& indices = camera_entry.second;
    const auto camera = std::find_if(frame.cameras.begin(), frame.cameras.end(),
                                     [&](const data::Camera& c) { return c.name == camera_name; });
    std::vector<Box2D> queries;
    for (const std::size_t i : indices) queries.push_back(*objects[i].box);
    std::vector<BoxMatch> matches(queries.size());
    if (camera == frame.cameras.end()) {
      for (auto& m : matches) m.why = "camera " + camera_name + " is not among the frame's cameras";
    } else {
      matches = match_boxes(queries, frame.boxes, *camera, match);
    }
    for (std::size_t k = 0; k < indices.size(); ++k) {
      const AnswerObject& object = objects[indices[k]];
      const std::string description = "box " + queries[k].to_string() + " in " + camera_name;
      if (matches[k].box_index < 0) {
        unmatched(description, object, matches[k].why);
      } else {
        add(frame.boxes[matches[k].box_index].id, object, description);
      }
    }
  }
  return resolved;
}

}  // namespace rsd::teacher::detail
