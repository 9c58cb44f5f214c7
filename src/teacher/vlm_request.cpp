#include "vlm_request.h"

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cstdio>

#include "answer_parser.h"
#include "rsd/util/error.h"
#include "rsd/util/fs.h"

namespace rsd::teacher::detail {
namespace {

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

std::string readable(std::string text) {
  std::replace(text.begin(), text.end(), '_', ' ');
  return text;
}

}  // namespace

std::vector<VlmCandidate> select_candidates(const data::Frame& frame,
                                            const VlmTeacherOptions& options) {
  std::vector<const data::Camera*> cameras;
  for (const auto& name : options.cameras) {
    const auto it = std::find_if(frame.cameras.begin(), frame.cameras.end(),
                                 [&](const data::Camera& c) { return c.name == name; });
    if (it == frame.cameras.end()) {
      throw DataError("clip " + frame.clip + " frame " + std::to_string(frame.index) +
                      ": camera " + name +
                      " of teacher.vlm.cameras is not among the frame's cameras (data.cameras)");
    }
    cameras.push_back(&*it);
  }
  std::vector<VlmCandidate> candidates;
  for (const auto& box : frame.boxes) {
    const double distance = box.center.head<2>().norm();
    if (distance > options.max_distance_m) continue;
    for (const data::Camera* camera : cameras) {
      if (const auto image_box = project_box(box, *camera)) {
        candidates.push_back({&box, camera->name, *image_box, distance});
        break;
      }
    }
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const auto& a, const auto& b) { return a.distance < b.distance; });
  if (candidates.size() > static_cast<std::size_t>(options.max_objects)) {
    candidates.resize(static_cast<std::size_t>(options.max_objects));
  }
  return candidates;
}

std::string render_prompt(const std::string& prompt_template, const data::Frame& frame,
                          const std::vector<VlmCandidate>& candidates,
                          const std::vector<std::string>& cameras) {
  std::string objects;
  for (const auto& candidate : candidates) {
    char line[256];
    std::snprintf(line, sizeof line, "- id \"%s\": %s in %s, box %s, %.1f m away\n",
                  candidate.box->id.c_str(),
                  readable(data::to_string(candidate.box->object_class)).c_str(),
                  candidate.camera.c_str(), candidate.image_box.to_string().c_str(),
                  candidate.distance);
    objects += line;
  }
  std::string camera_list;
  for (const auto& name : cameras) camera_list += (camera_list.empty() ? "" : ", ") + name;
  std::string image_size;
  for (const auto& camera : frame.cameras) {
    if (!cameras.empty() && camera.name == cameras.front()) {
      image_size = std::to_string(camera.width) + "x" + std::to_string(camera.height);
    }
  }
  char speed[32];
  std::snprintf(speed, sizeof speed, "%.1f", frame.ego.speed);

  std::string prompt = prompt_template;
  replace_all(prompt, "{{objects}}", objects);
  replace_all(prompt, "{{ego_speed}}", speed);
  replace_all(prompt, "{{command}}", readable(data::to_string(frame.command)));
  replace_all(prompt, "{{cameras}}", camera_list);
  replace_all(prompt, "{{image_size}}", image_size);
  return prompt;
}

std::string base64_encode(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) | static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string jpeg_data_url(const data::Camera& camera) {
  std::string bytes;
  try {
    bytes = read_file(camera.image_path);
  } catch (const Error& e) {
    throw DataError(std::string("camera image of the VLM request: ") + e.what());
  }
  const bool is_jpeg = bytes.size() > 3 && static_cast<uint8_t>(bytes[0]) == 0xFF &&
                       static_cast<uint8_t>(bytes[1]) == 0xD8 && static_cast<uint8_t>(bytes[2]) == 0xFF;
  if (!is_jpeg) {
    const std::vector<uint8_t> raw(bytes.begin(), bytes.end());
    const cv::Mat image = cv::imdecode(raw, cv::IMREAD_COLOR);
    if (image.empty()) throw DataError("cannot decode the image " + camera.image_path);
    std::vector<uint8_t> encoded;
    cv::imencode(".jpg", image, encoded, {cv::IMWRITE_JPEG_QUALITY, 90});
    bytes.assign(encoded.begin(), encoded.end());
  }
  return "data:image/jpeg;base64," + base64_encode(bytes);
}

nlohmann::json build_chat_request(const VlmTeacherOptions& options, const std::string& system,
                                  const std::string& prompt,
                                  const std::vector<std::pair<std::string, std::string>>& images) {
  nlohmann::json content = nlohmann::json::array();
  content.push_back({{"type", "text"}, {"text", prompt}});
  for (const auto& [camera, url] : images) {
    content.push_back({{"type", "text"}, {"text", camera + ":"}});
    content.push_back({{"type", "image_url"}, {"image_url", {{"url", url}}}});
  }
  nlohmann::json request = {
      {"model", options.model},
      {"temperature", options.temperature},
      {"max_tokens", options.max_tokens},
      {"messages",
       {{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", content}}}}};
  if (options.json_mode) request["response_format"] = {{"type", "json_object"}};
  return request;
}

std::string answer_content(const std::string& response_body) {
  const nlohmann::json body = parse_untrusted_json(response_body, "the response body");
  if (body.is_discarded() || !body.is_object()) {
    throw InvalidAnswer("the response body is not JSON");
  }
  const auto& choices = body.value("choices", nlohmann::json::array());
  if (!choices.is_array() || choices.empty() || !choices[0].is_object() ||
      !choices[0].contains("message") || !choices[0]["message"].is_object()) {
    throw InvalidAnswer("the response has no choices[0].message");
  }
  const nlohmann::json& content = choices[0]["message"].value("content", nlohmann::json());
  if (content.is_string()) return content.get<std::string>();
  if (content.is_array()) {  // some servers answer with content parts
    std::string text;
    for (const auto& part : content) {
      if (part.is_object() && part.value("type", "") == "text") text += part.value("text", "");
    }
    return text;
  }
  throw InvalidAnswer("choices[0].message.content is neither text nor a list of parts");
}

}  // namespace rsd::teacher::detail
