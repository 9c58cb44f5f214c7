#include "rsd/util/logging.h"

#include <array>
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>

#include "rsd/util/error.h"

namespace rsd::logging {
namespace {

constexpr std::array<std::pair<const char*, Level>, 7> kLevels{{{"trace", Level::trace},
                                                                 {"debug", Level::debug},
                                                                 {"info", Level::info},
                                                                 {"warn", Level::warn},
                                                                 {"error", Level::error},
                                                                 {"critical", Level::critical},
                                                                 {"off", Level::off}}};

// Without a program's sink only what needs attention is shown: a library must not chat on stderr.
Sink default_sink() {
  Sink sink;
  sink.write = [](Level level, const std::string& message) {
    if (level < Level::warn) return;
    std::fprintf(stderr, "[rsd] [%s] %s\n", level_name(level).c_str(), message.c_str());
  };
  sink.flush = [] { std::fflush(stderr); };
  return sink;
}

std::atomic<Level> threshold{Level::info};
std::mutex sink_mutex;
// Shared so that a message being written keeps its sink alive while another thread replaces it.
std::shared_ptr<const Sink> current_sink = std::make_shared<const Sink>(default_sink());

std::shared_ptr<const Sink> sink() {
  std::lock_guard<std::mutex> lock(sink_mutex);
  return current_sink;
}

void log(Level level, const std::string& message) {
  if (level < threshold.load(std::memory_order_relaxed) || level == Level::off) return;
  sink()->write(level, message);
}

}  // namespace

Level parse_level(const std::string& name) {
  std::string valid;
  for (const auto& [text, level] : kLevels) {
    if (name == text) return level;
    valid += valid.empty() ? text : std::string(", ") + text;
  }
  throw ConfigError("unknown log level '" + name + "' (valid: " + valid + ")");
}

std::string level_name(Level level) {
  for (const auto& [text, value] : kLevels) {
    if (value == level) return text;
  }
  return "?";
}

void set_sink(Sink sink) {
  auto next = std::make_shared<const Sink>(sink.write ? std::move(sink) : default_sink());
  std::lock_guard<std::mutex> lock(sink_mutex);
  current_sink = std::move(next);
}

void set_level(Level level) { threshold.store(level); }
Level level() { return threshold.load(); }

void trace(const std::string& message) { log(Level::trace, message); }
void debug(const std::string& message) { log(Level::debug, message); }
void info(const std::string& message) { log(Level::info, message); }
void warn(const std::string& message) { log(Level::warn, message); }
void error(const std::string& message) { log(Level::error, message); }

void flush() {
  const auto current = sink();
  if (current->flush) current->flush();
}

}  // namespace rsd::logging
