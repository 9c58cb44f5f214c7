// The clips under a Bench2Drive root and their frames, and the official splits.
#pragma once

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
};

class ClipIndex {
 public:
  /// Scans `root` for clip folders (folders holding anno/). Throws rsd::DataError naming the root
  /// when it does not exist.
  static ClipIndex scan(const std::string& root);

  const std::string& root() const { return root_; }
  const std::vector<ClipInfo>& clips() const { return clips_; }
  /// The clip called `name`; throws rsd::DataError naming it when absent.
  const ClipInfo& clip(const std::string& name) const;

 private:
  std::string root_;
  std::vector<ClipInfo> clips_;
};

}  // namespace rsd::data
