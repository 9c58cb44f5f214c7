// Collects what the library logs while a test runs, for tests that check what a message says.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "rsd/util/logging.h"

namespace rsd::test {

/// Installs a sink that keeps every message at `level` and above (one per line) until destroyed;
/// then the default sink and the previous level are back.
class LogCapture {
 public:
  explicit LogCapture(logging::Level level = logging::Level::info)
      : previous_level_(logging::level()) {
    logging::set_level(level);
    logging::set_sink({[this](logging::Level, const std::string& message) {
                         const std::lock_guard<std::mutex> lock(mutex_);
                         messages_.push_back(message);
                       },
                       {}});
  }
  ~LogCapture() {
    logging::set_sink({});
    logging::set_level(previous_level_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  /// Every message, one per line.
  std::string text() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    std::string text;
    for (const auto& message : messages_) text += message + "\n";
    return text;
  }

  /// Every message on its own, for checks that count messages or look at each one.
  std::vector<std::string> messages() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
  }

 private:
  logging::Level previous_level_;
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
};

}  // namespace rsd::test
