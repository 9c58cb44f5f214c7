// Dataset inspection (`rsd_data inspect`): counts what a Bench2Drive root holds and lists every
// problem found, each with its path, without stopping at the first one.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rsd/data/clip_index.h"

namespace rsd::data {

struct InspectOptions {
  std::string root;
  Split split = Split::all;
  std::string split_file;   // needed unless split is all
  std::string clip_list;    // optional restriction
  std::vector<std::string> cameras = {"CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT",
                                      "CAM_BACK",  "CAM_BACK_LEFT",  "CAM_BACK_RIGHT"};
  /// Decode every image (slow: ~10 ms per 1600x900 JPEG) instead of checking that it exists, is
  /// not empty and starts and ends with the JPEG markers.
  bool decode_images = false;
  int threads = 0;          // 0: one per hardware thread
};

struct DatasetReport {
  std::string root;
  std::string split;
  int64_t clips = 0;
  int64_t frames = 0;
  int64_t malformed_clip_names = 0;
  int64_t min_frames_per_clip = 0;
  int64_t max_frames_per_clip = 0;
  int64_t unreadable_frames = 0;                   // annotation could not be read
  int64_t missing_or_bad_images = 0;
  std::map<std::string, int64_t> boxes_per_class;  // ObjectClass names, plus "ignored" (no class)
  std::map<std::string, int64_t> ignored_types;    // type_id -> count of the ignored boxes
  std::map<std::string, int64_t> clips_per_scenario;
  std::map<std::string, int64_t> frames_per_scenario;
  std::vector<DataProblem> problems;               // scan problems first, then by clip and frame

  /// The report as a JSON object (keys as the fields above; problems as [{path, message}]).
  std::string to_json() const;
  /// A human-readable summary followed by every problem, one per line ("path: message").
  std::string to_text() const;
};

/// Scans, selects the split and reads every annotation of it (and checks every camera image).
/// Throws rsd::DataError only when the root cannot be listed or the split file cannot be read;
/// everything else wrong ends up in problems.
DatasetReport inspect_dataset(const InspectOptions& options);

}  // namespace rsd::data
