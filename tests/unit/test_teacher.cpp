// The risk teacher area: the VLM teacher against a real local HTTP server, the rule teacher on
// hand-built scenarios, imported answers, projection and matching, and the rasteriser.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "rsd/config/config.h"
#include "rsd/geometry/gaussian_heatmap.h"
#include "rsd/model/detection_targets.h"
#include "rsd/model/gt_boxes.h"
#include "rsd/pipeline/teacher_config.h"
#include "rsd/teacher/camera_projection.h"
#include "rsd/teacher/endpoint_pool.h"
#include "rsd/teacher/ego_path.h"
#include "rsd/teacher/jsonl_teacher.h"
#include "rsd/teacher/matcher.h"
#include "rsd/teacher/rasterizer.h"
#include "rsd/teacher/rule_teacher.h"
#include "rsd/teacher/vlm_teacher.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"
#include "support/error_message.h"
#include "support/fixtures.h"
#include "support/http_test_server.h"
#include "support/log_capture.h"
#include "support/temp_dir.h"

namespace rsd::teacher {
namespace {

using test::HttpExchange;
using test::HttpReply;
using test::HttpTestServer;

// A 160x90 front camera looking along +x from (0.8, 0, 1.6), OpenCV axes: x right = ego -y,
// y down = ego -z, z forward = ego +x.
data::Camera front_camera(const std::string& image_path = "") {
  data::Camera camera;
  camera.name = "CAM_FRONT";
  camera.folder = "rgb_front";
  camera.width = 160;
  camera.height = 90;
  camera.intrinsics << 114.25, 0, 80, 0, 114.25, 45, 0, 0, 1;
  camera.cam2ego << 0, 0, 1, 0.8,  //
      -1, 0, 0, 0,                  //
      0, -1, 0, 1.6,                //
      0, 0, 0, 1;
  camera.image_path = image_path;
  return camera;
}

data::Box make_box(const std::string& id, data::ObjectClass object_class, double x, double y,
                   Eigen::Vector2d velocity = Eigen::Vector2d::Zero(), double yaw = 0.0) {
  data::Box box;
  box.id = id;
  box.object_class = object_class;
  box.center = {x, y, 0.75};
  box.size = object_class == data::ObjectClass::pedestrian ? Eigen::Vector3d(0.6, 0.6, 1.8)
                                                           : Eigen::Vector3d(4.5, 1.9, 1.5);
  box.velocity = velocity;
  box.yaw = yaw;
  return box;
}

// A P6 PPM (the VLM teacher re-encodes anything that is not a JPEG).
std::string write_test_image(const test::TempDir& dir) {
  std::string pixels(160 * 90 * 3, '\x60');
  return dir.write("front.ppm", "P6\n160 90\n255\n" + pixels);
}

std::string base64_decode(const std::string& text) {
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int bits = 0;
  uint32_t buffer = 0;
  for (const char c : text) {
    if (c == '=') break;
    buffer = (buffer << 6) | static_cast<uint32_t>(alphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

// A chat-completions response whose assistant message is `content`.
std::string chat_response(const std::string& content) {
  return nlohmann::json{{"id", "chatcmpl-test"},
                        {"object", "chat.completion"},
                        {"model", "test-vlm"},
                        {"choices",
                         {{{"index", 0},
                           {"message", {{"role", "assistant"}, {"content", content}}},
                           {"finish_reason", "stop"}}}}}
      .dump();
}

const char* const kGoodAnswer =
    R"({"objects": [{"id": "102", "score": 0.9, "reason": "pedestrian stepping into the road"},
                    {"id": "101", "score": 0.3, "reason": "lead car keeps its distance"}]})";

class VlmTeacherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("RSD_TEST_VLM_KEY", "sk-test-secret-123", 1);
    context_.frame.clip = "PedestrianCrossing_Town01_Route1_Weather1";
    context_.frame.index = 7;
    context_.frame.ego.speed = 6.0;
    context_.frame.cameras = {front_camera(write_test_image(dir_))};
    context_.frame.boxes = {make_box("101", data::ObjectClass::vehicle, 20.0, 0.0),
                            make_box("102", data::ObjectClass::pedestrian, 12.0, 3.0),
                            make_box("103", data::ObjectClass::vehicle, -15.0, 0.0)};
  }
  void TearDown() override { ::unsetenv("RSD_TEST_VLM_KEY"); }

  VlmTeacherOptions options(const HttpTestServer& server) const {
    VlmTeacherOptions o;
    o.endpoint = server.url("/v1/chat/completions");
    o.model = "test-vlm";
    o.api_key_env = "RSD_TEST_VLM_KEY";
    o.temperature = 0.2;
    o.timeout_s = 5.0;
    o.retries = 2;
    o.backoff_s = 0.001;
    o.concurrency = 2;
    return o;
  }

  static double score_of(const FrameJudgement& judgement, const std::string& id) {
    for (const auto& object : judgement.objects) {
      if (object.object_id == id) return object.score;
    }
    return -1.0;
  }

  test::TempDir dir_;
  FrameContext context_;
};

TEST_F(VlmTeacherTest, GoodAnswerAndTheRequestItAnswers) {
  HttpTestServer server([](const HttpExchange&, int) { return HttpReply{200, chat_response(kGoodAnswer)}; });
  VlmTeacher teacher(options(server));
  const auto judgements = teacher.judge({context_});
  ASSERT_EQ(judgements.size(), 1u);
  const FrameJudgement& judgement = judgements[0];
  ASSERT_TRUE(judgement.ok()) << judgement.error;
  EXPECT_EQ(judgement.attempts, 1);
  EXPECT_DOUBLE_EQ(score_of(judgement, "102"), 0.9);
  EXPECT_DOUBLE_EQ(score_of(judgement, "101"), 0.3);
  EXPECT_EQ(score_of(judgement, "103"), -1.0) << "the car behind is not in the front camera";
  EXPECT_EQ(judgement.objects[0].reason, "pedestrian stepping into the road");

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpExchange& request = requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/v1/chat/completions");
  EXPECT_EQ(request.headers.at("authorization"), "Bearer sk-test-secret-123");
  EXPECT_EQ(request.headers.at("content-type"), "application/json");
  const auto body = nlohmann::json::parse(request.body);
  EXPECT_EQ(body["model"], "test-vlm");
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.2);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_EQ(body["messages"][1]["role"], "user");
  std::string prompt;
  std::string image_url;
  for (const auto& part : body["messages"][1]["content"]) {
    if (part["type"] == "text" && prompt.empty()) prompt = part["text"];
    if (part["type"] == "image_url") image_url = part["image_url"]["url"];
  }
  EXPECT_NE(prompt.find("id \"101\": vehicle in CAM_FRONT, box ["), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("id \"102\": pedestrian"), std::string::npos) << prompt;
  EXPECT_EQ(prompt.find("\"103\""), std::string::npos) << "only visible objects are candidates";
  EXPECT_NE(prompt.find("6.0 m/s"), std::string::npos);
  const std::string prefix = "data:image/jpeg;base64,";
  ASSERT_EQ(image_url.rfind(prefix, 0), 0u);
  const std::string jpeg = base64_decode(image_url.substr(prefix.size()));
  ASSERT_GT(jpeg.size(), 3u);
  EXPECT_EQ(static_cast<unsigned char>(jpeg[0]), 0xFF);
  EXPECT_EQ(static_cast<unsigned char>(jpeg[1]), 0xD8);
  EXPECT_EQ(teacher.info().type, "vlm");
  EXPECT_EQ(teacher.info().prompt_hash.size(), 16u);
}

TEST_F(VlmTeacherTest, FencedJsonInProseAndOmittedCandidates) {
  const std::string content = "Sure. Looking at the scene:\n```json\n"
                              R"({"objects": [{"id": 102, "score": 1, "reason": "crossing"}]})"
                              "\n```\nThe car ahead is fine.";
  HttpTestServer server([&](const HttpExchange&, int) { return HttpReply{200, chat_response(content)}; });
  const FrameJudgement judgement = VlmTeacher(options(server)).judge_frame(context_);
  ASSERT_TRUE(judgement.ok()) << judgement.error;
  EXPECT_DOUBLE_EQ(score_of(judgement, "102"), 1.0);
  EXPECT_DOUBLE_EQ(score_of(judgement, "101"), 0.0);
  for (const auto& object : judgement.objects) {
    if (object.object_id == "101") {
      EXPECT_EQ(object.reason, "not ranked by the teacher");
    }
  }
}

TEST_F(VlmTeacherTest, GarbageFailsAfterTheRetriesNeverZero) {
  HttpTestServer server([](const HttpExchange&, int) {
    return HttpReply{200, chat_response("I cannot judge this image {really}.")};
  });
  const FrameJudgement judgement = VlmTeacher(options(server)).judge_frame(context_);
  EXPECT_EQ(judgement.status, JudgementStatus::failed);
  EXPECT_TRUE(judgement.objects.empty());
  EXPECT_EQ(judgement.attempts, 3);
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_NE(judgement.error.find("invalid answer: no JSON answer"), std::string::npos) << judgement.error;
  EXPECT_NE(judgement.answer_excerpt.find("I cannot judge"), std::string::npos);

  // An unreadable image fails its frame (without a request), not the run.
  FrameContext missing = context_;
  missing.frame.cameras[0].image_path = dir_.file("absent.jpg");
  const FrameJudgement unreadable = VlmTeacher(options(server)).judge_frame(missing);
  EXPECT_EQ(unreadable.status, JudgementStatus::failed);
  EXPECT_NE(unreadable.error.find("absent.jpg"), std::string::npos) << unreadable.error;
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(VlmTeacherTest, ServerErrorIsRetriedThenSucceeds) {
  HttpTestServer server([](const HttpExchange&, int index) {
    return index == 0 ? HttpReply{500, R"({"error": "overloaded"})"}
                      : HttpReply{200, chat_response(kGoodAnswer)};
  });
  const FrameJudgement judgement = VlmTeacher(options(server)).judge_frame(context_);
  ASSERT_TRUE(judgement.ok()) << judgement.error;
  EXPECT_EQ(judgement.attempts, 2);
  EXPECT_DOUBLE_EQ(score_of(judgement, "102"), 0.9);
}

TEST_F(VlmTeacherTest, TimeoutIsReportedAsFailure) {
  HttpTestServer server([](const HttpExchange&, int) {
    return HttpReply{200, chat_response(kGoodAnswer), /*delay_ms=*/2000};
  });
  VlmTeacherOptions o = options(server);
  o.timeout_s = 0.2;
  o.retries = 1;
  const FrameJudgement judgement = VlmTeacher(o).judge_frame(context_);
  EXPECT_EQ(judgement.status, JudgementStatus::failed);
  EXPECT_EQ(judgement.attempts, 2);
  EXPECT_NE(judgement.error.find("timeout"), std::string::npos) << judgement.error;
}

TEST_F(VlmTeacherTest, OversizedBodyIsRefused) {
  const std::string huge = chat_response(std::string(kGoodAnswer) + std::string(8000, ' '));
  HttpTestServer server([&](const HttpExchange&, int) { return HttpReply{200, huge}; });
  VlmTeacherOptions o = options(server);
  o.max_response_bytes = 4096;
  o.retries = 0;
  const FrameJudgement judgement = VlmTeacher(o).judge_frame(context_);
  EXPECT_EQ(judgement.status, JudgementStatus::failed);
  EXPECT_NE(judgement.error.find("larger than 4096 bytes"), std::string::npos) << judgement.error;
}

TEST_F(VlmTeacherTest, UnknownIdsAndOutOfRangeScoresAreInvalid) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"objects": [{"id": "999", "score": 0.5, "reason": "?"}]})", "id 999"},
      {R"({"objects": [{"id": "103", "score": 0.5, "reason": "behind"}]})", "id 103"},
      {R"({"objects": [{"id": "101", "score": 7, "reason": "0-10 scale"}]})", "outside [0, 1]"},
      {R"({"objects": [{"id": "101", "score": 0.2}, {"id": "101", "score": 0.4}]})", "named twice"}};
  for (const auto& [answer, expected] : cases) {
    HttpTestServer server([&](const HttpExchange&, int) { return HttpReply{200, chat_response(answer)}; });
    VlmTeacherOptions o = options(server);
    o.retries = 0;
    const FrameJudgement judgement = VlmTeacher(o).judge_frame(context_);
    EXPECT_EQ(judgement.status, JudgementStatus::failed) << answer;
    EXPECT_NE(judgement.error.find(expected), std::string::npos) << judgement.error;
  }
}

TEST_F(VlmTeacherTest, RejectedKeyStopsTheRunWithoutLeakingIt) {
  HttpTestServer server([](const HttpExchange& request, int) {
    return HttpReply{401, R"({"error": "invalid key )" + request.headers.at("authorization") + "\"}"};
  });
  VlmTeacher teacher(options(server));
  try {
    teacher.judge({context_, context_});
    FAIL() << "HTTP 401 must stop the run";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("HTTP 401"), std::string::npos) << message;
    EXPECT_EQ(message.find("sk-test-secret-123"), std::string::npos) << message;
  }
}

TEST_F(VlmTeacherTest, AnEchoedKeyReachesNoLogLineJudgementOrError) {
  // Servers that echo the request's Authorization header: in an error body (the key where the
  // excerpt is cut), in the answer text, in another case, and JSON-escaped (whole only once the
  // content is decoded).
  HttpTestServer server([](const HttpExchange& request, int index) {
    const std::string authorization = request.headers.at("authorization");
    const std::string key = authorization.substr(std::string("Bearer ").size());
    switch (index) {
      case 0:
        return HttpReply{500, "{\"error\": \"" + std::string(280, 'x') + key + "\"}"};
      case 1:
        return HttpReply{200, chat_response("You sent Authorization: " + authorization)};
      case 2:
        return HttpReply{200, chat_response("echo: BEARER   " + key + ".")};
      default:
        return HttpReply{200, R"({"choices": [{"message": {"content": "echo: \u0073)" +
                                  key.substr(1) + R"("}}]})"};
    }
  });
  VlmTeacherOptions o = options(server);
  o.retries = 3;
  o.concurrency = 1;
  test::LogCapture log(logging::Level::debug);
  const FrameJudgement judgement = VlmTeacher(o).judge_frame(context_);
  EXPECT_EQ(judgement.status, JudgementStatus::failed);
  EXPECT_EQ(server.requests().size(), 4u);

  const std::string key_prefix = "sk-test-s";  // what an excerpt cut through the key would leave
  const auto messages = log.messages();
  int retries_logged = 0;
  for (const auto& message : messages) {
    EXPECT_EQ(message.find(key_prefix), std::string::npos) << message;
    if (message.find("retrying") != std::string::npos) ++retries_logged;
  }
  EXPECT_EQ(retries_logged, 3) << "the retry messages are what leaked the key";
  EXPECT_EQ(judgement.error.find(key_prefix), std::string::npos) << judgement.error;
  EXPECT_EQ(judgement.answer_excerpt.find(key_prefix), std::string::npos) << judgement.answer_excerpt;
  EXPECT_NE(judgement.answer_excerpt.find("<redacted>"), std::string::npos) << judgement.answer_excerpt;
  bool redaction_logged = false;
  for (const auto& message : messages) {
    redaction_logged = redaction_logged || message.find("Authorization: Bearer <redacted>") != std::string::npos;
  }
  EXPECT_TRUE(redaction_logged) << "the echo is logged, redacted";
}

TEST_F(VlmTeacherTest, DeeplyNestedOrHugeJsonFailsTheFrameWithTheReason) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::vector<std::pair<std::string, std::string>> cases = {
      // The answer text inside a well-formed response.
      {chat_response(deep), "the JSON in the answer nests brackets deeper than 64 levels"},
      {chat_response("```json\n{\"objects\": " + deep + "}\n```"),
       "the JSON in the answer nests brackets deeper than 64 levels"},
      // The response body itself (a copy of "choices" recursed through every level).
      {"{\"choices\": " + deep + "}", "the response body nests brackets deeper than 64 levels"}};
  for (const auto& [body, expected] : cases) {
    HttpTestServer server([&](const HttpExchange&, int) { return HttpReply{200, body}; });
    VlmTeacherOptions o = options(server);
    o.retries = 0;
    const FrameJudgement judgement = VlmTeacher(o).judge_frame(context_);
    EXPECT_EQ(judgement.status, JudgementStatus::failed) << expected;
    EXPECT_NE(judgement.error.find(expected), std::string::npos) << judgement.error;
  }

  // Size: a body the HTTP cap lets through is still not parsed past 8 MiB.
  const std::string padded = chat_response(std::string(kGoodAnswer) + std::string(9 << 20, ' '));
  HttpTestServer server([&](const HttpExchange&, int) { return HttpReply{200, padded}; });
  VlmTeacherOptions o = options(server);
  o.retries = 0;
  o.max_response_bytes = std::size_t{16} << 20;
  const FrameJudgement judgement = VlmTeacher(o).judge_frame(context_);
  EXPECT_EQ(judgement.status, JudgementStatus::failed);
  EXPECT_NE(judgement.error.find("the response body is " + std::to_string(padded.size()) +
                                 " bytes long, more than the 8388608 accepted"),
            std::string::npos)
      << judgement.error;
}

TEST_F(VlmTeacherTest, ConcurrencyBoundsRequestsInFlight) {
  HttpTestServer server([](const HttpExchange&, int) {
    return HttpReply{200, chat_response(kGoodAnswer), /*delay_ms=*/30};
  });
  std::vector<FrameContext> frames;
  for (int i = 0; i < 6; ++i) {
    frames.push_back(context_);
    frames.back().frame.index = i;
  }
  const auto judgements = VlmTeacher(options(server)).judge(frames);
  ASSERT_EQ(judgements.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_TRUE(judgements[i].ok());
    EXPECT_EQ(judgements[i].frame, i) << "judgements come back in frame order";
  }
  EXPECT_LE(server.max_in_flight(), 2);
  EXPECT_EQ(server.requests().size(), 6u);
}

// ---- several endpoints: the pool, spreading, cool-down, per-endpoint counts --------------------

// A clock the test moves by hand.
struct FakeClock {
  double now = 100.0;
  EndpointPool::Clock clock() {
    return [this] { return now; };
  }
};

TEST(EndpointPool, TheLeastLoadedRelativeToItsCapacityGetsTheRequest) {
  FakeClock time;
  EndpointPool pool({2, 1}, {}, time.clock());
  EXPECT_EQ(pool.total_capacity(), 3);
  EXPECT_EQ(pool.try_acquire(), std::optional<std::size_t>(0)) << "tie 0/2 vs 0/1: lowest index";
  EXPECT_EQ(pool.try_acquire(), std::optional<std::size_t>(1)) << "1/2 loaded vs 0/1";
  EXPECT_EQ(pool.try_acquire(), std::optional<std::size_t>(0)) << "1/2 vs 1/1";
  EXPECT_FALSE(pool.try_acquire()) << "every slot is taken";
  pool.release(1, /*ok=*/true, 0.5);
  EXPECT_EQ(pool.try_acquire(), std::optional<std::size_t>(1));
  EXPECT_EQ(pool.in_flight(0), 2);
  EXPECT_EQ(pool.in_flight(1), 1);
}

TEST(EndpointPool, RetriesGoFirstToEndpointsTheRequestHasNotFailedOn) {
  FakeClock time;
  EndpointPool pool({4, 4, 4}, {}, time.clock());
  ASSERT_EQ(pool.try_acquire(), std::optional<std::size_t>(0));  // endpoint 0 is now the busiest
  // Failed once on 1: 2 is preferred, although 1 is as idle.
  EXPECT_EQ(pool.try_acquire({0, 1, 0}, 2), std::optional<std::size_t>(2));
  // Failed on 1 and 2 once: endpoint 0 (busier, but not failed on) comes first.
  EXPECT_EQ(pool.try_acquire({0, 1, 1}, 2), std::optional<std::size_t>(0));
  // Attempts used up on 0 and 2: only 1 is left.
  EXPECT_EQ(pool.try_acquire({2, 1, 2}, 2), std::optional<std::size_t>(1));
  // Used up everywhere: acquire does not wait, it answers nothing.
  EXPECT_FALSE(pool.acquire({2, 2, 2}, 2));
}

TEST(EndpointPool, AnEndpointFailingKTimesInARowCoolsDownThenReturns) {
  FakeClock time;
  EndpointPool pool({1, 1}, {/*failures_to_cool_down=*/2, /*cool_down_s=*/10.0}, time.clock());
  for (int k = 0; k < 2; ++k) {
    ASSERT_EQ(pool.try_acquire({0, 2}, 2), std::optional<std::size_t>(0));
    pool.release(0, /*ok=*/false, 1.0);
  }
  EXPECT_TRUE(pool.cooling_down(0));
  EXPECT_EQ(pool.try_acquire(), std::optional<std::size_t>(1)) << "0 is out";
  EXPECT_FALSE(pool.try_acquire()) << "0 is out and 1 is full";
  pool.release(1, /*ok=*/true, 3.0);
  time.now += 9.9;
  EXPECT_TRUE(pool.cooling_down(0));
  time.now += 0.2;
  EXPECT_FALSE(pool.cooling_down(0));
  EXPECT_EQ(pool.try_acquire(), std::optional<std::size_t>(0)) << "back after the cool-down";
  pool.release(0, /*ok=*/false, 1.0);
  EXPECT_FALSE(pool.cooling_down(0)) << "the count of failures in a row started again";

  const auto stats = pool.stats();
  EXPECT_EQ(stats[0].requests, 3);
  EXPECT_EQ(stats[0].failures, 3);
  EXPECT_EQ(stats[0].cool_downs, 1);
  EXPECT_EQ(stats[1].requests, 1);
  EXPECT_EQ(stats[1].failures, 0);
  EXPECT_DOUBLE_EQ(stats[0].mean_latency_s(), 1.0);
  EXPECT_DOUBLE_EQ(stats[1].mean_latency_s(), 3.0);
}

TEST(EndpointPool, TheLastEndpointInServiceIsNeverTakenOut) {
  FakeClock time;
  EndpointPool single({1}, {/*failures_to_cool_down=*/1, /*cool_down_s=*/10.0}, time.clock());
  for (int k = 0; k < 3; ++k) {
    ASSERT_TRUE(single.try_acquire());
    single.release(0, /*ok=*/false, 0.1);
  }
  EXPECT_FALSE(single.cooling_down(0));
  EXPECT_EQ(single.stats()[0].cool_downs, 0);
  EXPECT_THROW(EndpointPool({1, 0}, {}), rsd::ConfigError);
  EXPECT_THROW(EndpointPool({1}, {/*failures_to_cool_down=*/0, 1.0}), rsd::ConfigError);
}

TEST(EndpointPool, AcquireWaitsForAReleaseFromAnotherThread) {
  EndpointPool pool({1}, {});
  ASSERT_TRUE(pool.try_acquire());
  std::thread releaser([&pool] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    pool.release(0, /*ok=*/true, 0.05);
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(pool.acquire(), std::optional<std::size_t>(0));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(40));
  releaser.join();
}

// A stand-in server of the model: answers kGoodAnswer after `latency_ms`; with `fail_every` > 0,
// every fail_every-th request (1-based: 2 = half of them) gets HTTP 503 instead.
HttpTestServer::Handler stand_in_vlm(int latency_ms, int fail_every = 0) {
  return [latency_ms, fail_every](const HttpExchange&, int index) {
    if (fail_every > 0 && (index + 1) % fail_every == 0) {
      return HttpReply{503, R"({"error": "overloaded"})", latency_ms};
    }
    return HttpReply{200, chat_response(kGoodAnswer), latency_ms};
  };
}

std::vector<FrameContext> numbered_frames(const FrameContext& context, int count) {
  std::vector<FrameContext> frames(static_cast<std::size_t>(count), context);
  for (int i = 0; i < count; ++i) frames[static_cast<std::size_t>(i)].frame.index = i;
  return frames;
}

TEST_F(VlmTeacherTest, ThreeEndpointsOneFailingHalfItsRequestsEveryFrameLabelled) {
  HttpTestServer good_a(stand_in_vlm(20));
  HttpTestServer flaky(stand_in_vlm(20, /*fail_every=*/2));
  HttpTestServer good_b(stand_in_vlm(20));
  VlmTeacherOptions o = options(good_a);
  o.retries = 0;  // one attempt per endpoint: a frame failing on `flaky` must go elsewhere
  o.backoff_s = 0.0;
  const std::string key_variable = "RSD_TEST_VLM_KEY_B";
  ::setenv(key_variable.c_str(), "sk-second-key", 1);
  o.endpoints = {{good_a.url("/v1/chat/completions"), 2, "RSD_TEST_VLM_KEY"},
                 {flaky.url("/v1/chat/completions"), 2, ""},
                 {good_b.url("/v1/chat/completions"), 2, key_variable}};
  VlmTeacher teacher(o);
  const int frames = 40;
  const auto judgements = teacher.judge(numbered_frames(context_, frames));
  ::unsetenv(key_variable.c_str());

  int retried = 0;
  for (int i = 0; i < frames; ++i) {
    EXPECT_TRUE(judgements[static_cast<std::size_t>(i)].ok()) << judgements[static_cast<std::size_t>(i)].error;
    retried += judgements[static_cast<std::size_t>(i)].attempts > 1 ? 1 : 0;
  }
  const std::vector<EndpointReport> stats = teacher.endpoint_stats();
  ASSERT_EQ(stats.size(), 3u);
  const HttpTestServer* servers[] = {&good_a, &flaky, &good_b};
  int requests = 0;
  for (std::size_t e = 0; e < 3; ++e) {
    EXPECT_EQ(stats[e].url, servers[e]->url("/v1/chat/completions"));
    EXPECT_EQ(stats[e].stats.requests, static_cast<int>(servers[e]->requests().size())) << e;
    EXPECT_GT(stats[e].stats.requests, 5) << "requests are spread over every endpoint";
    EXPECT_LE(servers[e]->max_in_flight(), 2) << "each endpoint's own concurrency holds";
    EXPECT_GT(stats[e].stats.mean_latency_s(), 0.015);
    requests += stats[e].stats.requests;
  }
  const int flaky_failures = static_cast<int>(flaky.requests().size()) / 2;
  EXPECT_EQ(stats[0].stats.failures, 0);
  EXPECT_EQ(stats[1].stats.failures, flaky_failures);
  EXPECT_EQ(stats[2].stats.failures, 0);
  EXPECT_GT(flaky_failures, 0);
  EXPECT_EQ(retried, flaky_failures) << "each failure was retried, once, on another endpoint";
  EXPECT_EQ(requests, frames + flaky_failures);
  // Each endpoint got its own key, or none.
  EXPECT_EQ(good_a.requests()[0].headers.at("authorization"), "Bearer sk-test-secret-123");
  EXPECT_EQ(flaky.requests()[0].headers.count("authorization"), 0u);
  EXPECT_EQ(good_b.requests()[0].headers.at("authorization"), "Bearer sk-second-key");
}

TEST_F(VlmTeacherTest, ADeadEndpointIsTakenOutAndItsFramesGoElsewhere) {
  HttpTestServer dead([](const HttpExchange&, int) { return HttpReply{503, "down"}; });
  HttpTestServer good(stand_in_vlm(5));
  VlmTeacherOptions o = options(good);
  o.retries = 3;
  o.endpoints = {{dead.url("/v1/chat/completions"), 1, ""}, {good.url("/v1/chat/completions"), 2, ""}};
  o.pool = {/*failures_to_cool_down=*/2, /*cool_down_s=*/60.0};
  VlmTeacher teacher(o);
  const auto judgements = teacher.judge(numbered_frames(context_, 12));
  for (const auto& judgement : judgements) EXPECT_TRUE(judgement.ok()) << judgement.error;
  const auto stats = teacher.endpoint_stats();
  EXPECT_EQ(stats[0].stats.requests, 2) << "out after 2 failures in a row, for the rest of the run";
  EXPECT_EQ(stats[0].stats.cool_downs, 1);
  EXPECT_EQ(stats[1].stats.requests, 12);
}

TEST_F(VlmTeacherTest, AFrameFailsOnlyWhenItsAttemptsAreUsedUpOnEveryEndpoint) {
  HttpTestServer a([](const HttpExchange&, int) { return HttpReply{500, "a"}; });
  HttpTestServer b([](const HttpExchange&, int) { return HttpReply{502, "b"}; });
  VlmTeacherOptions o = options(a);
  o.retries = 1;
  o.endpoints = {{a.url("/v1/chat/completions"), 1, ""}, {b.url("/v1/chat/completions"), 1, ""}};
  o.pool.failures_to_cool_down = 100;
  const FrameJudgement judgement = VlmTeacher(o).judge_frame(context_);
  EXPECT_EQ(judgement.status, JudgementStatus::failed);
  EXPECT_EQ(judgement.attempts, 4) << "1 + retries on each of the 2 endpoints";
  EXPECT_EQ(a.requests().size(), 2u);
  EXPECT_EQ(b.requests().size(), 2u);
}

// The speed-up of spreading over servers: the same frames, each server with the same concurrency
// and a fixed latency; one server vs three. Expected: about 3 (frames/s = servers x concurrency /
// latency). The figures go to docs/scaling.md.
TEST_F(VlmTeacherTest, ThreeEndpointsJudgeAboutThreeTimesFasterThanOne) {
  constexpr int kLatencyMs = 100;
  constexpr int kConcurrency = 4;
  constexpr int kFrames = 48;
  HttpTestServer first(stand_in_vlm(kLatencyMs));
  HttpTestServer second(stand_in_vlm(kLatencyMs));
  HttpTestServer third(stand_in_vlm(kLatencyMs));
  const auto time_judging = [&](std::vector<const HttpTestServer*> servers) {
    VlmTeacherOptions o = options(first);
    for (const auto* server : servers) o.endpoints.push_back({server->url("/v1/chat/completions"), kConcurrency, ""});
    VlmTeacher teacher(o);
    const auto frames = numbered_frames(context_, kFrames);
    const auto start = std::chrono::steady_clock::now();
    const auto judgements = teacher.judge(frames);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const auto& judgement : judgements) EXPECT_TRUE(judgement.ok()) << judgement.error;
    return seconds;
  };
  const double one = time_judging({&first});
  const double three = time_judging({&first, &second, &third});
  const double ideal_one = kFrames * kLatencyMs / 1000.0 / kConcurrency;
  std::printf("[ speed-up ] %d frames, latency %d ms, concurrency %d per endpoint: 1 endpoint %.3f s "
              "(%.1f frames/s, model %.1f), 3 endpoints %.3f s (%.1f frames/s, model %.1f): x%.2f\n",
              kFrames, kLatencyMs, kConcurrency, one, kFrames / one, kFrames / ideal_one, three,
              kFrames / three, 3 * kFrames / ideal_one, one / three);
  EXPECT_GE(one, ideal_one * 0.95) << "one endpoint cannot beat its concurrency / latency";
  EXPECT_GT(one / three, 2.2) << "3 endpoints: " << three << " s, 1 endpoint: " << one << " s";
}

// Frames of a clip in which the ego drives straight along x at `speed` m/s.
std::vector<data::Frame> straight_drive(int frames, double speed) {
  std::vector<data::Frame> clip(frames);
  for (int k = 0; k < frames; ++k) {
    clip[k].clip = "synthetic";
    clip[k].index = k;
    clip[k].ego.speed = speed;
    clip[k].ego2world(0, 3) = 100.0 + speed * k / 10.0;
    clip[k].ego2world(1, 3) = -50.0;
  }
  return clip;
}

const ObjectRisk& riskiest(const std::vector<ObjectRisk>& risks) {
  return *std::max_element(risks.begin(), risks.end(),
                           [](const auto& a, const auto& b) { return a.score < b.score; });
}

TEST(EgoPath, FollowingFramesThenExtrapolation) {
  const auto frames = straight_drive(21, 8.0);  // 2 s recorded, 4 s asked
  const auto path = ego_path(frames, 0, EgoPathOptions{});
  ASSERT_EQ(path.size(), 41u);
  EXPECT_NEAR(path[20].t, 2.0, 1e-9);
  EXPECT_NEAR(path[20].x, 16.0, 1e-9);
  EXPECT_NEAR(path[40].x, 32.0, 1e-9) << "continued with the last frame's speed";
  EXPECT_NEAR(path[40].y, 0.0, 1e-9);

  // A left turn at 1 rad/s, 5 m/s, extrapolated: a circle of radius 5.
  const auto arc = extrapolate_ego_path({}, 5.0, 1.0, M_PI / 2, M_PI / 20);
  EXPECT_NEAR(arc.back().x, 5.0, 1e-9);
  EXPECT_NEAR(arc.back().y, 5.0, 1e-9);
  EXPECT_NEAR(arc.back().yaw, M_PI / 2, 1e-9);
}

TEST(RuleTeacher, CrossingPedestrianRanksHighest) {
  auto frames = straight_drive(41, 8.0);
  frames[0].boxes = {
      make_box("pedestrian", data::ObjectClass::pedestrian, 15.0, -4.0, {0.0, 1.5}),
      make_box("parked", data::ObjectClass::vehicle, 20.0, 4.5),
      make_box("lead", data::ObjectClass::vehicle, 25.0, 0.0, {8.0, 0.0}),
      make_box("oncoming", data::ObjectClass::vehicle, 40.0, 3.5, {-8.0, 0.0}, M_PI),
      make_box("behind", data::ObjectClass::vehicle, -12.0, 0.0, {8.0, 0.0})};
  frames[0].boxes[1].is_static = true;
  RuleTeacher teacher;
  const auto judgements = teacher.judge({{frames[0], ego_path(frames, 0, EgoPathOptions{})}});
  ASSERT_EQ(judgements.size(), 1u);
  const auto& risks = judgements[0].objects;
  ASSERT_EQ(risks.size(), 5u);
  EXPECT_EQ(riskiest(risks).object_id, "pedestrian");
  EXPECT_GT(riskiest(risks).score, 0.8);
  EXPECT_NE(risks[0].reason.find("pedestrian"), std::string::npos) << risks[0].reason;
  for (const auto& risk : risks) {
    EXPECT_GE(risk.score, 0.0);
    EXPECT_LE(risk.score, 1.0);
    EXPECT_FALSE(risk.reason.empty());
    if (risk.object_id != "pedestrian") {
      EXPECT_LT(risk.score, 0.5) << risk.object_id << ": " << risk.reason;
    }
  }
}

TEST(RuleTeacher, CutInRanksHighestThenLightsAndSigns) {
  auto frames = straight_drive(41, 10.0);
  data::Box light = make_box("red_light", data::ObjectClass::traffic_light, 25.0, 5.0);
  light.light_state = data::TrafficLightState::red;
  light.affects_ego = true;
  data::Box other_light = light;
  other_light.id = "cross_light";
  other_light.affects_ego = false;
  data::Box stop = make_box("stop", data::ObjectClass::traffic_sign, 28.0, -5.0);
  stop.type_id = "traffic.stop";
  stop.affects_ego = true;
  frames[0].boxes = {
      make_box("cut_in", data::ObjectClass::vehicle, 8.0, 3.5, {10.0, -1.5}, -0.15),
      make_box("slower_lead", data::ObjectClass::vehicle, 20.0, 0.0, {6.0, 0.0}),
      make_box("parallel", data::ObjectClass::vehicle, 0.0, -3.5, {10.0, 0.0}),
      make_box("walker", data::ObjectClass::pedestrian, 10.0, 7.0, {1.2, 0.0}),
      light, other_light, stop};
  RuleTeacher teacher;
  const auto path = ego_path(frames, 0, EgoPathOptions{});
  std::map<std::string, ObjectRisk> by_id;
  for (const auto& box : frames[0].boxes) by_id[box.id] = teacher.assess(box, path, 10.0);
  EXPECT_GT(by_id["cut_in"].score, 0.85);
  EXPECT_NE(by_id["cut_in"].reason.find("cutting in from the left"), std::string::npos)
      << by_id["cut_in"].reason;
  EXPECT_NE(by_id["slower_lead"].reason.find("collision course"), std::string::npos);
  EXPECT_GT(by_id["red_light"].score, 0.5);
  EXPECT_NE(by_id["red_light"].reason.find("red light ahead"), std::string::npos);
  EXPECT_EQ(by_id["cross_light"].score, 0.0);
  EXPECT_GT(by_id["stop"].score, 0.4);
  EXPECT_NE(by_id["stop"].reason.find("stop sign"), std::string::npos);
  for (const auto& [id, risk] : by_id) {
    if (id != "cut_in") {
      EXPECT_LT(risk.score, by_id["cut_in"].score) << id << ": " << risk.reason;
    }
  }
  EXPECT_LT(by_id["parallel"].score, by_id["red_light"].score);
}

// A straight path from the origin along `heading`, 4 s at 0.1 s (its shape is what the rule
// teacher uses; the speed is assess()'s argument).
std::vector<EgoPathPoint> straight_path(double heading = 0.0) {
  std::vector<EgoPathPoint> path;
  for (int k = 0; k <= 40; ++k) {
    path.push_back({0.1 * k, 0.5 * k * std::cos(heading), 0.5 * k * std::sin(heading), heading});
  }
  return path;
}

TEST(RuleTeacher, CrossingAndCutInScoreWhetherTheEgoArrivesWhileTheObjectIsInItsWay) {
  RuleTeacher teacher;
  const auto path = straight_path();
  // A walker 4 m right of the path, 14 m ahead, crossing at 1.5 m/s: its 0.6 m box is in the
  // corridor (1.06 + 0.5 + 0.3 m each side) from 1.43 s to 3.91 s; the ego's 4.89 m footprint
  // overlaps its 0.6 m along the path from 14 - 2.745 m to 14 + 2.745 m.
  const data::Box walker = make_box("walker", data::ObjectClass::pedestrian, 14.0, -4.0, {0.0, 1.5});

  // At 1 m/s the ego gets there after 11.3 s: the walker has long crossed.
  const ObjectRisk slow = teacher.assess(walker, path, 1.0);
  EXPECT_LT(slow.score, 0.3) << slow.reason;
  EXPECT_EQ(slow.reason.find("crossing"), std::string::npos) << slow.reason;
  // Standing still: the arrival times use min_ego_speed_mps (finite, the same verdict as 1 m/s).
  const ObjectRisk stopped = teacher.assess(walker, path, 0.0);
  EXPECT_TRUE(std::isfinite(stopped.score));
  EXPECT_NEAR(stopped.score, slow.score, 1e-12) << stopped.reason;

  // At 11.255 / 2 m/s its front reaches the walker at 2 s, while the walker is in the corridor.
  const ObjectRisk on_time = teacher.assess(walker, path, 11.255 / 2.0);
  EXPECT_GT(on_time.score, 0.75) << on_time.reason;
  EXPECT_NE(on_time.reason.find("crossing the ego path from the right"), std::string::npos)
      << on_time.reason;
  EXPECT_NE(on_time.reason.find("the ego arrives in 2.0 s"), std::string::npos) << on_time.reason;

  // Arriving 2 s after the walker has left (at 5.9 s): a fraction of the on-time score.
  const ObjectRisk late = teacher.assess(walker, path, 11.255 / 5.9);
  EXPECT_LT(late.score, 0.5 * on_time.score) << late.reason;

  // A vehicle cutting in 8 m ahead at 10 m/s matters to an ego at 10 m/s, not to one at 1 m/s
  // (the proximity score remains: it is close to the path).
  const data::Box cut_in =
      make_box("cut_in", data::ObjectClass::vehicle, 8.0, 3.5, {10.0, -1.5}, -0.15);
  const ObjectRisk cut_in_fast = teacher.assess(cut_in, path, 10.0);
  EXPECT_GT(cut_in_fast.score, 0.85) << cut_in_fast.reason;
  const ObjectRisk cut_in_slow = teacher.assess(cut_in, path, 1.0);
  EXPECT_LT(cut_in_slow.score, 0.5) << cut_in_slow.reason;
  EXPECT_EQ(cut_in_slow.reason.find("cutting in"), std::string::npos) << cut_in_slow.reason;
}

TEST(RuleTeacher, ContactIsOverlapOfTheOrientedBoxesNotOfTheirBounds) {
  // A standing 4 m x 2 m ego (no margin) and a parked 4 m x 0.4 m box turned 45 degrees against
  // it, beyond the ego's front-left corner at `corner_distance` from it along the diagonal: its
  // bounds along the ego's axes (+-1.56 m) reach into the ego's footprint in every case, the box
  // itself (0.2 m half width) only below 0.2 m. The same scene with the ego heading 45 degrees.
  RuleTeacherOptions options;
  options.ego_length = 4.0;
  options.ego_width = 2.0;
  options.lateral_margin_m = 0.0;
  const RuleTeacher teacher(options);
  for (const double heading : {0.0, M_PI / 4}) {
    const auto rotated = [heading](const Eigen::Vector2d& v) {
      return Eigen::Vector2d(std::cos(heading) * v.x() - std::sin(heading) * v.y(),
                             std::sin(heading) * v.x() + std::cos(heading) * v.y());
    };
    const auto diagonal_box = [&](double corner_distance) {
      const Eigen::Vector2d center =
          rotated(Eigen::Vector2d(2.0, 1.0) + corner_distance * Eigen::Vector2d(1.0, 1.0) / std::sqrt(2.0));
      data::Box box = make_box("diagonal", data::ObjectClass::vehicle, center.x(), center.y(),
                               Eigen::Vector2d::Zero(), heading - M_PI / 4);
      box.size = {4.0, 0.4, 1.5};
      box.is_static = true;
      return box;
    };
    const ObjectRisk apart = teacher.assess(diagonal_box(0.5), straight_path(heading), 0.0);
    EXPECT_EQ(apart.reason.find("collision course"), std::string::npos)
        << "heading " << heading << ": " << apart.reason;
    EXPECT_LT(apart.score, 0.6) << apart.reason;

    const ObjectRisk touching = teacher.assess(diagonal_box(0.1), straight_path(heading), 0.0);
    EXPECT_NE(touching.reason.find("collision course"), std::string::npos)
        << "heading " << heading << ": " << touching.reason;
    EXPECT_DOUBLE_EQ(touching.score, 1.0);
  }
}

TEST(RuleTeacher, BuiltInConfigDefaultsAreTheOptionsDefaults) {
  // Every option, through the settings the cache records; the ego is Bench2Drive's (frame.h).
  const RuleTeacherOptions from_config = pipeline::rule_teacher_options_from(Config::defaults());
  EXPECT_EQ(rule_teacher_info(from_config).settings, rule_teacher_info(RuleTeacherOptions{}).settings);
  EXPECT_EQ(from_config.ego_length, data::kEgoLength);
  EXPECT_EQ(from_config.ego_width, data::kEgoWidth);
}

TEST(VlmTeacherConfig, EndpointsListTheSingleEndpointFillsWhatAnEntryLeavesOut) {
  Config config = Config::defaults();
  const VlmTeacherOptions single = pipeline::vlm_teacher_options_from(config);
  EXPECT_TRUE(single.endpoints.empty()) << "no list: the one endpoint of teacher.vlm.endpoint";
  EXPECT_EQ(single.pool.failures_to_cool_down, EndpointPoolOptions{}.failures_to_cool_down);
  EXPECT_EQ(single.pool.cool_down_s, EndpointPoolOptions{}.cool_down_s);

  config.set("teacher.vlm.concurrency", "6");
  config.set("teacher.vlm.endpoints",
             "[{url: 'http://a:8000/v1/chat/completions', concurrency: 8, api_key_env: KEY_A}, "
             "{url: 'https://b/v1/chat/completions', api_key_env: null}, "
             "{url: 'http://c:8000/v1/chat/completions'}]");
  config.set("teacher.vlm.failures_to_cool_down", "5");
  config.set("teacher.vlm.cool_down_s", "12.5");
  const VlmTeacherOptions several = pipeline::vlm_teacher_options_from(config);
  ASSERT_EQ(several.endpoints.size(), 3u);
  EXPECT_EQ(several.endpoints[0].url, "http://a:8000/v1/chat/completions");
  EXPECT_EQ(several.endpoints[0].concurrency, 8);
  EXPECT_EQ(several.endpoints[0].api_key_env, "KEY_A");
  EXPECT_EQ(several.endpoints[1].concurrency, 6) << "teacher.vlm.concurrency";
  EXPECT_EQ(several.endpoints[1].api_key_env, "") << "null: no key";
  EXPECT_EQ(several.endpoints[2].api_key_env, "RSD_VLM_API_KEY") << "teacher.vlm.api_key_env";
  EXPECT_EQ(several.pool.failures_to_cool_down, 5);
  EXPECT_EQ(several.pool.cool_down_s, 12.5);
  EXPECT_EQ(vlm_teacher_info(several).settings, vlm_teacher_info(single).settings)
      << "the servers do not change the answers: caches stay valid when servers are added";

  for (const auto& [entries, expected] : std::vector<std::pair<std::string, std::string>>{
           {"[{url: 'ftp://a'}]", "entry 0: url must be an http"},
           {"[{url: 'http://a'}, {url: 'http://b', concurency: 2}]", "entry 1: unknown key 'concurency'"},
           {"[{url: 'http://a', concurrency: 0}]", "concurrency must be >= 1"},
           {"[{url: 'http://a', concurrency: many}]", "concurrency has the wrong type"},
           {"['http://a']", "must be a map"}}) {
    Config bad = Config::defaults();
    bad.set("teacher.vlm.endpoints", entries);
    const std::string message =
        test::error_message<rsd::ConfigError>([&] { pipeline::vlm_teacher_options_from(bad); });
    EXPECT_NE(message.find("teacher.vlm.endpoints"), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
}

TEST(CameraProjection, MatchesAnIndependentPinhole) {
  const data::Camera camera = front_camera();
  // p_cam = (-y, -(z - 1.6), x - 0.8): (20.8, -2, 0.6) -> (2, 1, 20).
  const auto pixel = project_point({20.8, -2.0, 0.6}, camera);
  ASSERT_TRUE(pixel.has_value());
  EXPECT_NEAR(pixel->x(), 80.0 + 114.25 * 2.0 / 20.0, 1e-9);
  EXPECT_NEAR(pixel->y(), 45.0 + 114.25 * 1.0 / 20.0, 1e-9);
  EXPECT_FALSE(project_point({-5.0, 0.0, 1.0}, camera).has_value());

  data::Box cube = make_box("cube", data::ObjectClass::vehicle, 20.8, 0.0);
  cube.center.z() = 1.6;
  cube.size = {2.0, 2.0, 2.0};
  const auto box = project_box(cube, camera);
  ASSERT_TRUE(box.has_value());
  EXPECT_NEAR(box->x1, 80.0 - 114.25 / 19.0, 1e-9);  // nearest face at depth 19
  EXPECT_NEAR(box->x2, 80.0 + 114.25 / 19.0, 1e-9);
  EXPECT_NEAR(box->y1, 45.0 - 114.25 / 19.0, 1e-9);
  EXPECT_NEAR(box->y2, 45.0 + 114.25 / 19.0, 1e-9);
  // Straddling the camera: cut at the near plane, clipped to the whole image.
  cube.center = {0.8, 0.0, 1.6};
  cube.size = {4.0, 2.0, 2.0};
  const auto straddling = project_box(cube, camera);
  ASSERT_TRUE(straddling.has_value());
  EXPECT_DOUBLE_EQ(straddling->area(), 160.0 * 90.0);
  cube.center = {-10.0, 0.0, 1.6};
  EXPECT_FALSE(project_box(cube, camera).has_value());
}

TEST(Matcher, GreedyBestFirstAndUnmatchedReported) {
  const data::Camera camera = front_camera();
  const std::vector<data::Box> boxes = {make_box("ahead", data::ObjectClass::vehicle, 20.8, 0.0),
                                        make_box("right", data::ObjectClass::vehicle, 20.8, -5.0)};
  const Box2D ahead = *project_box(boxes[0], camera);
  const Box2D right = *project_box(boxes[1], camera);
  Box2D shifted = ahead;
  shifted.x1 += 1.0;
  shifted.x2 += 1.0;
  const std::vector<Box2D> queries = {right, shifted, ahead, {0.0, 0.0, 5.0, 5.0}};
  const auto matches = match_boxes(queries, boxes, camera, MatchOptions{});
  ASSERT_EQ(matches.size(), 4u);
  EXPECT_EQ(matches[0].box_index, 1);
  EXPECT_EQ(matches[2].box_index, 0) << "the exact box wins over the shifted one";
  EXPECT_DOUBLE_EQ(matches[2].quality, 1.0);
  EXPECT_EQ(matches[1].box_index, -1);
  EXPECT_NE(matches[1].why.find("matched another object better"), std::string::npos);
  EXPECT_EQ(matches[3].box_index, -1);
  EXPECT_EQ(matches[3].why, "best IoU 0.00 < 0.30");

  MatchOptions by_center;
  by_center.method = MatchMethod::center;
  by_center.center_threshold_px = 5.0;
  const auto centre_matches = match_boxes({shifted}, boxes, camera, by_center);
  EXPECT_EQ(centre_matches[0].box_index, 0);
  EXPECT_DOUBLE_EQ(centre_matches[0].quality, 1.0);
}

TEST(JsonlTeacher, ImportsIdsAndBoxesAndReportsTheRest) {
  test::TempDir dir;
  data::Frame frame;
  frame.clip = "clipA";
  frame.index = 0;
  frame.cameras = {front_camera()};
  frame.boxes = {make_box("101", data::ObjectClass::vehicle, 20.8, 0.0),
                 make_box("102", data::ObjectClass::vehicle, 20.8, -5.0)};
  const Box2D right = *project_box(frame.boxes[1], front_camera());
  const nlohmann::json line0 = {
      {"clip", "clipA"},
      {"frame", 0},
      {"objects",
       {{{"id", "101"}, {"score", 0.7}, {"reason", "brakes"}},
        {{"box", {right.x1, right.y1, right.x2, right.y2}}, {"score", 0.4}, {"reason", "merging"}},
        {{"id", "404"}, {"score", 0.9}, {"reason", "ghost"}},
        {{"box", {0, 0, 4, 4}}, {"camera", "CAM_FRONT"}, {"score", 0.2}, {"reason", "sky"}}}}};
  const std::string path = dir.write(
      "answers.jsonl", line0.dump() + "\n\n" +
                           R"({"clip": "clipA", "frame": 1, "objects": [{"id": "101", "score": 1.5}]})" +
                           "\n");
  JsonlTeacherOptions options;
  options.path = path;
  JsonlTeacher teacher(options);
  EXPECT_EQ(teacher.size(), 2u);
  EXPECT_EQ(teacher.info().model, "answers.jsonl");

  std::vector<FrameContext> contexts(3);
  for (int i = 0; i < 3; ++i) {
    contexts[i].frame = frame;
    contexts[i].frame.index = i;
  }
  const auto judgements = teacher.judge(contexts);
  ASSERT_TRUE(judgements[0].ok()) << judgements[0].error;
  ASSERT_EQ(judgements[0].objects.size(), 2u);
  EXPECT_EQ(judgements[0].objects[0].object_id, "101");
  EXPECT_EQ(judgements[0].objects[1].object_id, "102");
  EXPECT_DOUBLE_EQ(judgements[0].objects[1].score, 0.4);
  ASSERT_EQ(judgements[0].unmatched.size(), 2u);
  EXPECT_EQ(judgements[0].unmatched[0].description, "id 404");
  EXPECT_NE(judgements[0].unmatched[1].why.find("best IoU"), std::string::npos);
  EXPECT_FALSE(judgements[1].ok());
  EXPECT_NE(judgements[1].error.find(path + ":3: object 0: score 1.5 is outside [0, 1]"),
            std::string::npos)
      << judgements[1].error;
  EXPECT_FALSE(judgements[2].ok());
  EXPECT_NE(judgements[2].error.find("no answer"), std::string::npos);

  options.path = dir.write("broken.jsonl", R"({"clip": "a", "frame": 0, "objects": []})"
                                           "\n{not json\n");
  try {
    JsonlTeacher broken(options);
    FAIL() << "a malformed line must fail the import";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(options.path + ":2"), std::string::npos) << e.what();
  }
}

TEST(JsonlTeacher, ADeeplyNestedLineFailsTheImportNamingIt) {
  test::TempDir dir;
  JsonlTeacherOptions options;
  options.path = dir.write("deep.jsonl", R"({"clip": "a", "frame": 0, "objects": )" +
                                             std::string(100000, '[') + std::string(100000, ']') +
                                             "}\n");
  try {
    JsonlTeacher teacher(options);
    FAIL() << "a line nested 100000 deep must fail the import";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(options.path + ":1: the line nests brackets deeper than 64"),
              std::string::npos)
        << e.what();
  }
}

TEST(Rasterizer, PeakAtTheBoxCentreEqualsTheScore) {
  const GridSpec grid({-10.0, 10.0, 0.5}, {-10.0, 10.0, 0.5}, {-5.0, 3.0, 8.0});
  EXPECT_NEAR(gaussian_radius(9.0, 3.8, 0.1), 2.455023426968029, 1e-12);  // CenterNet's formula
  EXPECT_NEAR(gaussian_radius(40.0, 20.0, 0.1), 12.0, 1e-12);

  RiskRasterizer rasterizer(grid, RasterizeOptions{});
  EXPECT_EQ(rasterizer.radius_cells(20.0, 10.0), 12);
  EXPECT_EQ(rasterizer.radius_cells(0.6, 0.6), 2) << "min_radius";
  const data::Box car = make_box("car", data::ObjectClass::vehicle, 3.2, -2.1);
  const data::Box near = make_box("near", data::ObjectClass::vehicle, 4.2, -2.1);
  const data::Box outside = make_box("outside", data::ObjectClass::vehicle, 30.0, 0.0);
  const torch::Tensor map = rasterizer.rasterize(
      {car, near, outside}, {{"car", 0.8, ""}, {"near", 0.3, ""}, {"outside", 1.0, ""}});
  ASSERT_EQ(map.sizes(), (std::vector<int64_t>{40, 40}));
  const int64_t ix = 26, iy = 15;  // floor((3.2 + 10) / 0.5), floor((-2.1 + 10) / 0.5)
  EXPECT_FLOAT_EQ(map[iy][ix].item<float>(), 0.8f);
  EXPECT_FLOAT_EQ(map.max().item<float>(), 0.8f) << "combined by max, not summed";
  EXPECT_EQ(map.argmax().item<int64_t>(), iy * 40 + ix);
  const double sigma = (2.0 * 2 + 1.0) / 6.0;
  EXPECT_NEAR(map[iy + 1][ix].item<float>(), 0.8 * std::exp(-1.0 / (2.0 * sigma * sigma)), 1e-6);
  EXPECT_EQ(map[iy + 3][ix].item<float>(), 0.0f) << "drawn within the radius only";
  EXPECT_NEAR(map[iy][ix + 2].item<float>(), std::max(0.3, 0.8 * std::exp(-4.0 / (2.0 * sigma * sigma))),
              1e-6);

  RasterizeOptions footprint;
  footprint.mode = RasterizeMode::footprint;
  data::Box aligned = make_box("aligned", data::ObjectClass::vehicle, 3.0, -2.0);
  aligned.size = {4.0, 2.0, 1.5};
  const torch::Tensor filled = RiskRasterizer(grid, footprint).rasterize({aligned}, {{"aligned", 0.6, ""}});
  EXPECT_EQ((filled == 0.6f).sum().item<int64_t>(), 8 * 4);
  aligned.yaw = M_PI / 2;
  const torch::Tensor turned = RiskRasterizer(grid, footprint).rasterize({aligned}, {{"aligned", 0.6, ""}});
  EXPECT_EQ((turned == 0.6f).sum().item<int64_t>(), 4 * 8);
  EXPECT_FLOAT_EQ(turned[16][26].item<float>(), 0.6f);
  EXPECT_THROW(rasterizer.rasterize({car}, {{"nobody", 0.5, ""}}), Error);
}

TEST(TeacherRasterizer, GaussianModeDrawsTheDetectionTargetsGaussianScaledByTheScore) {
  // One Gaussian for both: a risk map of a score-1 object is the object's detection heatmap.
  const GridSpec grid = test::tiny_grid();
  RasterizeOptions options;
  options.min_radius = 1;
  options.min_overlap = 0.3;
  const RiskRasterizer rasterizer(grid, options);
  const model::DetectionTargetOptions targets_options{options.min_overlap, options.min_radius};
  // A car, a pedestrian (the minimum radius), a long truck clipped by the grid's edge.
  const std::vector<data::Box> boxes = {
      test::make_box(data::ObjectClass::vehicle, {1.3, -0.6, 0.8}, {4.5, 1.9, 1.6}, 0.3),
      test::make_box(data::ObjectClass::pedestrian, {-2.2, 3.1, 0.9}, {0.6, 0.6, 1.8}, 0.0),
      test::make_box(data::ObjectClass::vehicle, {3.7, -3.9, 1.5}, {12.0, 3.0, 3.5}, 0.0)};
  const auto classes = model::default_detection_classes();
  for (const data::Box& box : boxes) {
    SCOPED_TRACE(std::string(data::to_string(box.object_class)) + " of " +
                 std::to_string(box.size.x()) + " m");
    const int64_t label =
        std::find(classes.begin(), classes.end(), box.object_class) - classes.begin();
    const model::DetectionTargets targets = model::build_detection_targets(
        model::gt_boxes_from({{box}}, classes), static_cast<int64_t>(classes.size()), grid,
        targets_options);
    const torch::Tensor heatmap = targets.heatmap[0][label];
    ASSERT_GT((heatmap > 0).sum().item<int64_t>(), 1);
    data::Box named = box;
    named.id = "object";
    EXPECT_TRUE(torch::equal(rasterizer.rasterize({named}, {{"object", 1.0, ""}}), heatmap));
    EXPECT_TRUE(torch::allclose(rasterizer.rasterize({named}, {{"object", 0.4, ""}}), 0.4 * heatmap,
                                1e-6, 1e-7));
    EXPECT_EQ(rasterizer.radius_cells(box.size.x(), box.size.y()),
              gaussian_radius_cells(grid, box.size.x(), box.size.y(), options.min_overlap,
                                    options.min_radius));
  }
}

}  // namespace
}  // namespace rsd::teacher
