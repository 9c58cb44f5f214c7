// The folder a run writes into:
//   runs/<name>/config.yaml      the resolved config (every key, after overrides)
//   runs/<name>/log.txt          the log of rank 0
//   runs/<name>/metrics.jsonl    one JSON object per line (see MetricsWriter)
//   runs/<name>/checkpoints/     checkpoints, written atomically
#pragma once

#include <string>

namespace rsd {

class RunDirectory {
 public:
  /// Creates root/name and its checkpoints/ folder. When the folder exists already it is reused if
  /// `reuse_existing` (resuming a run), and otherwise refused with an rsd::Error naming it.
  static RunDirectory open(const std::string& root, const std::string& name, bool reuse_existing);

  /// "<stem of config_path>-YYYYmmdd-HHMMSS" in local time.
  static std::string default_name(const std::string& config_path);

  const std::string& path() const { return path_; }
  std::string config_path() const { return path_ + "/config.yaml"; }
  std::string log_path() const { return path_ + "/log.txt"; }
  std::string metrics_path() const { return path_ + "/metrics.jsonl"; }
  std::string checkpoints_dir() const { return path_ + "/checkpoints"; }

 private:
  explicit RunDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace rsd
