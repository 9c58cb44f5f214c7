#include "rsd/teacher/vlm_teacher.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>

#include "answer_parser.h"
#include "http_client.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"
#include "util/fnv1a.h"
#include "vlm_request.h"

namespace rsd::teacher {
namespace {

constexpr std::size_t kExcerptLength = 300;

std::string excerpt(const std::string& text) {
  return text.size() <= kExcerptLength ? text : text.substr(0, kExcerptLength) + "...";
}

constexpr std::string_view kBearer = "bearer";

// Where a credential after "Bearer " ends (RFC 6750 tokens hold none of these; stopping at a
// backslash keeps a JSON escape that follows the token intact).
bool ends_token(char c) {
  return std::isspace(static_cast<unsigned char>(c)) || std::strchr("\"'\\,;<>()[]{}", c) != nullptr;
}

// The length of "Bearer" and the blanks after it at `at`, in any case; 0 when there is none.
std::size_t bearer_prefix(const std::string& text, std::size_t at) {
  if (text.size() - at <= kBearer.size()) return 0;
  for (std::size_t k = 0; k < kBearer.size(); ++k) {
    if (std::tolower(static_cast<unsigned char>(text[at + k])) != kBearer[k]) return 0;
  }
  std::size_t end = at + kBearer.size();
  while (end < text.size() && (text[end] == ' ' || text[end] == '\t')) ++end;
  return end == at + kBearer.size() ? 0 : end - at;
}

// The key must never reach a log, an exception or a cache, even when a server echoes request
// headers back (the key itself, or "Bearer <token>" in any spelling): both are replaced. Applied
// to what the server said before it is parsed or cut into excerpts, so that a cut never leaves a
// piece of the key behind. One pass: bodies are up to max_response_bytes long.
std::string redact(const std::string& text, const std::string& secret) {
  static const std::string kRedacted = "<redacted>";
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (!secret.empty() && text.compare(i, secret.size(), secret) == 0) {
      out += kRedacted;
      i += secret.size();
    } else if (const std::size_t prefix = bearer_prefix(text, i)) {
      const std::size_t token = i + prefix;
      std::size_t end = token;
      while (end < text.size() && !ends_token(text[end])) ++end;
      out.append(text, i, token - i);
      if (end > token) out += kRedacted;
      i = end;
    } else {
      out += text[i++];
    }
  }
  return out;
}

// Statuses that no retry can fix and that would fail every frame alike.
bool is_fatal_status(long status) {
  return status == 400 || status == 401 || status == 403 || status == 404;
}

}  // namespace

const std::string& default_vlm_system_prompt() {
  static const std::string text =
      "You are the risk assessor of an autonomous car. You look at its camera images and judge, "
      "for each listed object, how much it threatens the car's safe driving in the next few "
      "seconds. You answer with JSON only.";
  return text;
}

const std::string& default_vlm_prompt_template() {
  static const std::string text =
      "The images are the ego car's cameras ({{cameras}}; {{image_size}} pixels). The ego drives "
      "at {{ego_speed}} m/s; navigation command: {{command}}.\n"
      "Candidate objects (id, class, camera, 2D box [x1, y1, x2, y2] in pixels of that image, "
      "distance to the ego):\n"
      "{{objects}}"
      "For EVERY candidate give a risk score between 0 and 1: 1 = the ego must react now (for "
      "example the object is entering or blocking its path, or a red light or stop sign applies "
      "to it), 0.5 = the ego must watch it closely, 0 = irrelevant to the ego's driving. Give a "
      "short causal reason (what the object does and why it matters to the ego).\n"
      "Answer with JSON only, in exactly this form, most risky object first, using only the ids "
      "listed above:\n"
      "{\"objects\": [{\"id\": \"<id>\", \"score\": <number in [0, 1]>, \"reason\": \"<short "
      "reason>\"}]}\n";
  return text;
}

VlmTeacher::VlmTeacher(VlmTeacherOptions options) : options_(std::move(options)) {
  if (options_.prompt_template.empty()) options_.prompt_template = default_vlm_prompt_template();
  if (options_.system_prompt.empty()) options_.system_prompt = default_vlm_system_prompt();
  RSD_CHECK(options_.retries >= 0, "teacher.vlm.retries must be >= 0");
  RSD_CHECK(!options_.cameras.empty(), "teacher.vlm.cameras is empty");
  std::vector<VlmEndpoint> configured = options_.endpoints;
  if (configured.empty()) {
    configured.push_back({options_.endpoint, options_.concurrency, options_.api_key_env});
  }
  std::vector<int> capacities;
  for (auto& config : configured) {
    RSD_CHECK(config.concurrency >= 1, "teacher.vlm concurrency of ", config.url, " must be >= 1");
    Endpoint endpoint{std::move(config), {}};
    if (!endpoint.config.api_key_env.empty()) {
      if (const char* key = std::getenv(endpoint.config.api_key_env.c_str())) endpoint.api_key = key;
    }
    capacities.push_back(endpoint.config.concurrency);
    logging::info(fmt::format(
        "VLM teacher: {} at {} ({} requests in flight; API key from ${}: {})", options_.model,
        endpoint.config.url, endpoint.config.concurrency,
        endpoint.config.api_key_env.empty() ? "-" : endpoint.config.api_key_env,
        endpoint.api_key.empty() ? "not set, no Authorization header" : "set"));
    endpoints_.push_back(std::move(endpoint));
  }
  pool_ = std::make_unique<EndpointPool>(std::move(capacities), options_.pool);
}

std::vector<EndpointReport> VlmTeacher::endpoint_stats() const {
  const std::vector<EndpointStats> stats = pool_->stats();
  std::vector<EndpointReport> out;
  for (std::size_t e = 0; e < endpoints_.size(); ++e) out.push_back({endpoints_[e].config.url, stats[e]});
  return out;
}

TeacherInfo vlm_teacher_info(const VlmTeacherOptions& options) {
  const std::string& system = options.system_prompt.empty() ? default_vlm_system_prompt()
                                                            : options.system_prompt;
  const std::string& prompt = options.prompt_template.empty() ? default_vlm_prompt_template()
                                                              : options.prompt_template;
  TeacherInfo info{"vlm", options.model, fnv1a_64_hex(system + "\n---\n" + prompt),
                   match_settings(options.match), /*uses_ego_path=*/false};
  std::string cameras;
  for (const auto& camera : options.cameras) cameras += (cameras.empty() ? "" : ", ") + camera;
  info.settings["teacher.vlm.temperature"] = setting_text(options.temperature);
  info.settings["teacher.vlm.max_tokens"] = std::to_string(options.max_tokens);
  info.settings["teacher.vlm.cameras"] = "[" + cameras + "]";
  info.settings["teacher.vlm.max_objects"] = std::to_string(options.max_objects);
  info.settings["teacher.vlm.max_distance_m"] = setting_text(options.max_distance_m);
  info.settings["teacher.vlm.json_mode"] = options.json_mode ? "true" : "false";
  return info;
}

TeacherInfo VlmTeacher::info() const { return vlm_teacher_info(options_); }

FrameJudgement VlmTeacher::judge_frame(const FrameContext& context) const {
  const data::Frame& frame = context.frame;
  const auto candidates = detail::select_candidates(frame, options_);
  FrameJudgement judgement;
  judgement.clip = frame.clip;
  judgement.frame = frame.index;
  judgement.attempts = 0;
  if (candidates.empty()) return judgement;  // nothing visible to judge: an empty, valid verdict

  std::vector<std::pair<std::string, std::string>> images;
  try {
    for (const auto& name : options_.cameras) {
      for (const auto& camera : frame.cameras) {
        if (camera.name == name) images.emplace_back(name, detail::jpeg_data_url(camera));
      }
    }
  } catch (const DataError& e) {
    // One unreadable image fails its frame, not the run.
    return FrameJudgement::failure(frame.clip, frame.index, e.what());
  }
  const std::string body = detail::build_chat_request(
                               options_, options_.system_prompt,
                               detail::render_prompt(options_.prompt_template, frame, candidates,
                                                     options_.cameras),
                               images)
                               .dump();
  std::set<std::string> candidate_ids;
  for (const auto& candidate : candidates) candidate_ids.insert(candidate.box->id);

  const std::string where = frame.clip + ":" + std::to_string(frame.index);
  const int attempts_per_endpoint = options_.retries + 1;
  std::vector<int> failed_on(endpoints_.size(), 0);  // this frame's failed attempts per endpoint
  std::string last_error;
  std::string last_answer;
  std::string last_key;
  int attempts = 0;
  while (const auto chosen = pool_->acquire(failed_on, attempts_per_endpoint)) {
    const Endpoint& endpoint = endpoints_[*chosen];
    const std::string& key = endpoint.api_key;
    last_key = key;
    // The existing backoff, per endpoint: a retry on an endpoint this frame already failed on waits
    // backoff_s * 2^(k-1) after its k-th failure there; another endpoint is tried at once.
    if (const int failures = failed_on[*chosen]; failures > 0) {
      const double wait = options_.backoff_s * std::pow(2.0, failures - 1);
      logging::debug(fmt::format("VLM {}: attempt {} failed ({}); retrying on {} in {:.2f} s", where,
                                 attempts, last_error, endpoint.config.url, wait));
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    } else if (attempts > 0) {
      logging::debug(fmt::format("VLM {}: attempt {} failed ({}); retrying on {}", where, attempts,
                                 last_error, endpoint.config.url));
    }
    judgement.attempts = ++attempts;
    detail::HttpRequest request;
    request.url = endpoint.config.url;
    request.body = body;
    if (!key.empty()) request.headers.push_back("Authorization: Bearer " + key);
    request.timeout_s = options_.timeout_s;
    request.max_response_bytes = options_.max_response_bytes;
    const auto started = std::chrono::steady_clock::now();
    detail::HttpResponse response = detail::http_post(request);
    const double latency_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    // Whatever the server said is redacted before anything reads it.
    response.body = redact(response.body, key);
    response.error = redact(response.error, key);
    const auto fail = [&](std::string why) {
      last_error = std::move(why);
      ++failed_on[*chosen];
      pool_->release(*chosen, /*ok=*/false, latency_s);
    };
    if (response.outcome != detail::HttpResponse::Outcome::ok) {
      fail(response.outcome == detail::HttpResponse::Outcome::timeout
               ? "timeout: " + response.error
               : response.error);
      continue;
    }
    if (is_fatal_status(response.status)) {
      pool_->release(*chosen, /*ok=*/false, latency_s);
      throw Error("the VLM endpoint " + endpoint.config.url + " answered HTTP " +
                  std::to_string(response.status) + " (check teacher.vlm.endpoint(s), .model and " +
                  "the API key in $" + endpoint.config.api_key_env + "): " + excerpt(response.body));
    }
    if (response.status != 200) {
      fail("HTTP " + std::to_string(response.status) + ": " + excerpt(response.body));
      continue;
    }
    try {
      // The content is decoded from JSON strings: an escaped key is whole again here.
      last_answer = redact(detail::answer_content(response.body), key);
      const auto objects = detail::parse_answer_objects(detail::extract_answer_json(last_answer));
      auto resolved = detail::resolve_answer(objects, frame, options_.cameras.front(),
                                             options_.match, detail::UnknownIds::reject,
                                             &candidate_ids);
      for (const auto& candidate : candidates) {
        const bool ranked = std::any_of(resolved.objects.begin(), resolved.objects.end(),
                                        [&](const ObjectRisk& r) { return r.object_id == candidate.box->id; });
        if (!ranked) resolved.objects.push_back({candidate.box->id, 0.0, "not ranked by the teacher"});
      }
      judgement.objects = std::move(resolved.objects);
      judgement.unmatched = std::move(resolved.unmatched);
      pool_->release(*chosen, /*ok=*/true, latency_s);
      return judgement;
    } catch (const detail::InvalidAnswer& e) {
      fail(std::string("invalid answer: ") + e.what());
    } catch (...) {
      pool_->release(*chosen, /*ok=*/false, latency_s);  // the slot is not lost to the other frames
      throw;
    }
  }
  FrameJudgement failed =
      FrameJudgement::failure(frame.clip, frame.index, redact(last_error, last_key));
  failed.attempts = judgement.attempts;
  failed.answer_excerpt = excerpt(last_answer);
  return failed;
}

std::vector<FrameJudgement> VlmTeacher::judge(const std::vector<FrameContext>& frames) {
  std::vector<FrameJudgement> judgements(frames.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  const auto work = [&] {
    for (std::size_t i = next++; i < frames.size() && !stop; i = next++) {
      try {
        judgements[i] = judge_frame(frames[i]);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        stop = true;
      }
    }
  };
  const auto workers = std::min<std::size_t>(static_cast<std::size_t>(pool_->total_capacity()),
                                             frames.size());
  std::vector<std::thread> threads;
  for (std::size_t w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (auto& thread : threads) thread.join();
  if (first_error) std::rethrow_exception(first_error);
  return judgements;
}

}  // namespace rsd::teacher
