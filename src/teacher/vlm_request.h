// The pieces of a chat-completions request for the VLM teacher: the candidate objects, the prompt,
// the camera images as base64 JPEG data URLs, and the request JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "rsd/data/frame.h"
#include "rsd/teacher/camera_projection.h"
#include "rsd/teacher/vlm_teacher.h"

namespace rsd::teacher::detail {

struct VlmCandidate {
  const data::Box* box = nullptr;
  std::string camera;  // the first of the sent cameras that sees it
  Box2D image_box;     // the projected 3D box in that camera's image
  double distance = 0.0;
};

/// Annotated objects visible in the sent cameras within max_distance_m, nearest first, at most
/// max_objects. Throws rsd::DataError when a sent camera is not among the frame's cameras.
std::vector<VlmCandidate> select_candidates(const data::Frame& frame,
                                            const VlmTeacherOptions& options);

/// The user message: the template with its placeholders filled.
std::string render_prompt(const std::string& prompt_template, const data::Frame& frame,
                          const std::vector<VlmCandidate>& candidates,
                          const std::vector<std::string>& cameras);

/// "data:image/jpeg;base64,..." of the camera's image file (JPEG files are sent as they are,
/// other formats re-encoded). Throws rsd::DataError naming the file when it cannot be read.
std::string jpeg_data_url(const data::Camera& camera);

std::string base64_encode(const std::string& bytes);

/// The chat-completions request body.
nlohmann::json build_chat_request(const VlmTeacherOptions& options, const std::string& system,
                                  const std::string& prompt,
                                  const std::vector<std::pair<std::string, std::string>>& images);

/// The assistant message's text from a chat-completions response body. Throws InvalidAnswer when
/// the body is not a chat-completions response or is beyond parse_untrusted_json's bounds.
std::string answer_content(const std::string& response_body);

}  // namespace rsd::teacher::detail
