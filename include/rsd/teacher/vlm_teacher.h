// The VLM teacher (teacher.type: vlm): asks a Vision-Language Model served behind any
// OpenAI-compatible chat-completions endpoint (vLLM, SGLang, llama.cpp server, Ollama) to rank the
// risk of the frame's candidate objects.
//
// Request (POST <endpoint>, JSON): model, temperature, max_tokens, messages = [system prompt,
// user message with the prompt text, then per camera a text label and an image_url part holding
// the camera's JPEG as a base64 data URL]. The candidates are the annotated objects visible in the
// sent cameras within max_distance_m, nearest first (at most max_objects), each listed with its
// id, class, 2D box in that image (the projected 3D box) and distance.
// Answer: JSON {"objects": [{"id": "...", "score": 0..1, "reason": "..."}]} inside the message
// content; code fences and prose around it are tolerated. Answers are untrusted: a score outside
// [0, 1], an id that is not a candidate, a duplicated id or a body over max_response_bytes makes
// the answer invalid. Invalid answers, timeouts, transport errors, HTTP 408/429/5xx are retried
// with exponential backoff; a frame still without a valid answer after the retries is FAILED (its
// judgement says why), never scored zero. HTTP 400/401/403/404 stop the run (rsd::Error): they
// would fail every frame alike (so does a sent camera missing from data.cameras); an unreadable
// image fails its frame only. Candidates the answer leaves out get score 0 with the reason
// "not ranked by the teacher".
//
// The API key is read from the environment variable named by api_key_env, sent as
// "Authorization: Bearer <key>", and never logged or written anywhere.
//
// Several servers of the same model (`endpoints`, each with its own URL, concurrency and key
// variable) share the frames through an EndpointPool: a request goes to the least loaded one, an
// endpoint failing failures_to_cool_down requests in a row is left out for cool_down_s, and a
// failed frame is retried on the endpoints it has not failed on first. A frame has 1 + retries
// attempts on each endpoint and FAILS only when they are used up on all of them. Without
// `endpoints`, endpoint/concurrency/api_key_env are the one endpoint.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "rsd/teacher/endpoint_pool.h"
#include "rsd/teacher/matcher.h"
#include "rsd/teacher/risk_teacher.h"

namespace rsd::teacher {

/// One server of the model.
struct VlmEndpoint {
  std::string url;
  int concurrency = 4;      // requests in flight at once on this server
  std::string api_key_env;  // empty: no Authorization header
};

struct VlmTeacherOptions {
  std::string endpoint = "http://127.0.0.1:8000/v1/chat/completions";
  std::string model = "Qwen2.5-VL-7B-Instruct";
  std::string api_key_env = "RSD_VLM_API_KEY";  // empty: no Authorization header
  std::string prompt_template;  // text of the user message template; empty: the built-in one
  std::string system_prompt;    // empty: the built-in one
  std::vector<std::string> cameras = {"CAM_FRONT"};  // images sent, in this order
  double temperature = 0.0;
  int max_tokens = 1024;
  double timeout_s = 60.0;      // per request, connection included
  int retries = 3;              // extra attempts after the first
  double backoff_s = 1.0;       // wait before retry k (k = 1, 2, ...): backoff_s * 2^(k-1)
  int concurrency = 4;          // requests in flight at once
  std::size_t max_response_bytes = 1 << 20;
  int max_objects = 24;
  double max_distance_m = 60.0;
  bool json_mode = false;       // also send response_format {"type": "json_object"}
  MatchOptions match;           // for answers that name objects by 2D box
  /// Servers sharing the requests; empty: the one of endpoint, concurrency and api_key_env.
  std::vector<VlmEndpoint> endpoints;
  EndpointPoolOptions pool;     // when an endpoint is left out, and for how long
};


/// The built-in prompt. Placeholders: {{objects}} (one line per candidate), {{ego_speed}} (m/s),
/// {{command}}, {{cameras}} (the camera names sent) and {{image_size}} ("1600x900").
const std::string& default_vlm_prompt_template();
const std::string& default_vlm_system_prompt();

/// The VLM teacher's identity (the model, the hash of the prompts, built-in ones for empty
/// options) and the settings that change its answers: teacher.vlm.{temperature, max_tokens,
/// cameras, max_objects, max_distance_m, json_mode} and teacher.match.*.
TeacherInfo vlm_teacher_info(const VlmTeacherOptions& options);

class VlmTeacher : public RiskTeacher {
 public:
  explicit VlmTeacher(VlmTeacherOptions options);

  TeacherInfo info() const override;
  /// Judges the frames with up to the endpoints' summed concurrency requests in flight.
  std::vector<FrameJudgement> judge(const std::vector<FrameContext>& frames) override;

  /// One frame, with its retries (thread-safe).
  FrameJudgement judge_frame(const FrameContext& context) const;

  const VlmTeacherOptions& options() const { return options_; }
  /// The most requests in flight at once: the endpoints' summed concurrency.
  int max_in_flight() const { return pool_->total_capacity(); }
  /// Requests, failures and latency per endpoint since construction, in the order configured.
  std::vector<EndpointReport> endpoint_stats() const;

 private:
  struct Endpoint {
    VlmEndpoint config;
    std::string api_key;  // never logged
  };

  VlmTeacherOptions options_;
  std::vector<Endpoint> endpoints_;
  std::unique_ptr<EndpointPool> pool_;
};

}  // namespace rsd::teacher
