// Risk answers from outside (VLM replies, imported JSON lines) are untrusted: this finds the JSON
// in free text, checks its shape and ranges, and ties its objects to the frame's annotated boxes.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "rsd/data/frame.h"
#include "rsd/teacher/matcher.h"
#include "rsd/teacher/risk_teacher.h"

namespace rsd::teacher::detail {

/// An answer that cannot be used; the message says why.
class InvalidAnswer : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One object of an answer, named by id or by a 2D box.
struct AnswerObject {
  std::optional<std::string> id;
  std::optional<Box2D> box;
  std::string camera;  // box objects; empty: the default camera
  double score = 0.0;
  std::string reason;
};

/// Bounds on JSON from outside, checked before a tree is built. nlohmann's parser is iterative but
/// copying, dumping and destroying parts of a tree recurse, so a deeply nested answer would
/// overflow the stack. Real answers are a few levels deep and a few kilobytes long.
constexpr int kMaxAnswerJsonDepth = 64;
constexpr std::size_t kMaxAnswerJsonBytes = std::size_t{8} << 20;

/// `text` parsed as JSON; a discarded value when it is not JSON. Throws InvalidAnswer, naming
/// `what` and the bound, when `text` is longer than kMaxAnswerJsonBytes or nests brackets deeper
/// than kMaxAnswerJsonDepth (outside strings), before anything is parsed.
nlohmann::json parse_untrusted_json(const std::string& text, const std::string& what);

/// The JSON answer inside `text`: a fenced block first, else the first balanced {...} or [...]
/// that parses and has the answer's shape (an object with "objects", or an array). A candidate
/// beyond parse_untrusted_json's bounds throws InvalidAnswer.
nlohmann::json extract_answer_json(const std::string& text);

/// The objects of an answer: {"objects": [...]} or a bare array. Throws InvalidAnswer naming the
/// object at fault (missing or out-of-range score, neither id nor valid box).
std::vector<AnswerObject> parse_answer_objects(const nlohmann::json& answer);

enum class UnknownIds { reject, report };

struct ResolvedAnswer {
  std::vector<ObjectRisk> objects;
  std::vector<UnmatchedObject> unmatched;
};

/// Ties answer objects to `frame`'s boxes. Ids must be among `allowed_ids` (all box ids when
/// null); unknown ids throw InvalidAnswer (reject) or are reported as unmatched (report), as are
/// boxes that match nothing. An object named twice throws InvalidAnswer (reject) or keeps its
/// highest score (report).
ResolvedAnswer resolve_answer(const std::vector<AnswerObject>& objects, const data::Frame& frame,
                              const std::string& default_camera, const MatchOptions& match,
                              UnknownIds unknown_ids,
                              const std::set<std::string>* allowed_ids = nullptr);

}  // namespace rsd::teacher::detail
