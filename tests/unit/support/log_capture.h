// Collects what the library logs while a test runs, for tests that check what a message says.
#pragma once

#include <mutex>
#include <string>

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
                         text_ += message + "\n";
                       },
                       {}});
  }
  ~LogCapture() {
    logging::set_sink({});
    logging::set_level(previous_level_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::string text() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }

 private:
  logging::Level previous_level_;
  mutable std::mutex mutex_;
  std::string text_;
};

}  // namespace rsd::test
