// The clips under a Bench2Drive root and their frames, and the official splits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rsd::data {

/// One clip folder: <Scenario>_<Town>_Route<route>_Weather<weather>. Malformed names are kept
/// (name_parsed = false, scenario = the name), as one Base clip name is truncated.
struct ClipInfo {
  std::string name;
  std::string path;              // the clip folder
  std::string scenario;          // e.g. "PedestrianCrossing"
  std::string town;              // e.g. "Town12"
  int route = -1;
  int weather = -1;
  bool name_parsed = false;
  std::vector<int> frames;       // frame numbers with an annotation file, ascending

  /// True when frame number `frame` has an annotation file (binary search in `frames`).
  bool has_frame(int frame) const;
};

/// Parses a clip folder name with Bench2Drive's grammar
/// ^(Scenario)_(Town\d+(HD)?)_Route(\d+)_Weather(\d+)$. A name that does not match keeps
/// name_parsed = false and scenario = the whole name (never an error).
ClipInfo parse_clip_name(const std::string& name);

/// Something wrong found while scanning, with the path it concerns.
struct DataProblem {
  std::string path;
  std::string message;
};

/// Which part of a root to use. train = every clip not listed in the split file's "val" list
/// (Bench2DriveZoo's rule); all = every clip.
enum class Split { all, train, val };
/// "all" | "train" | "val"; throws rsd::ConfigError for anything else.
Split parse_split(const std::string& name);
const char* to_string(Split split);

/// Clip names of an official split file {"val": ["v1/<clip>", ...]} (Bench2DriveZoo's
/// bench2drive_base_train_val_split.json). Folder prefixes ("v1/") and a ".tar.gz" suffix are
/// stripped. Throws rsd::DataError naming the file when it is unreadable or has no "val" list.
std::vector<std::string> read_split_val_list(const std::string& path);

/// Clip names of a clip list: a JSON array of names, a JSON object whose keys are names (the
/// official docs/bench2drive_mini_10.json file list {"<clip>.tar.gz": {...}}), or a text file with
/// one name per line ('#' starts a comment). Prefixes and ".tar.gz" are stripped as above.
std::vector<std::string> read_clip_list(const std::string& path);

class ClipIndex {
 public:
  /// Scans `root` for clip folders (folders holding anno/). Throws rsd::DataError naming the root
  /// when it does not exist. Clips are sorted by name; frames by number. Files in anno/ that are
  /// not NNNNN.json.gz, gaps in the frame numbering and folders with a clip-like name but no
  /// anno/ are reported in problems(), never silently ignored.
  static ClipIndex scan(const std::string& root);

  const std::string& root() const { return root_; }
  const std::vector<ClipInfo>& clips() const { return clips_; }
  /// The clip called `name`; throws rsd::DataError naming it when absent.
  const ClipInfo& clip(const std::string& name) const;
  /// True when a clip called `name` was found.
  bool contains(const std::string& name) const;

  /// What the scan (and select()) found wrong, each with its path.
  const std::vector<DataProblem>& problems() const { return problems_; }

  /// The clips of `split` (needs `split_file` unless split is all), restricted to the names in
  /// `clip_list` when it is not empty (e.g. Bench2Drive mini). Names listed in the split file or
  /// the clip list that are not under the root are added to problems() of the result (the Base
  /// val list names 50 clips, most of which a partial download lacks).
  ClipIndex select(Split split, const std::string& split_file = "",
                   const std::string& clip_list = "") const;

  /// Total number of annotated frames over clips().
  int64_t num_frames() const;

 private:
  std::string root_;
  std::vector<ClipInfo> clips_;
  std::vector<DataProblem> problems_;
};

}  // namespace rsd::data
