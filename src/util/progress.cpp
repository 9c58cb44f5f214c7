#include "rsd/util/progress.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>

namespace rsd {
namespace {
constexpr double kRateSampleInterval = 0.5;  // seconds between samples of the smoothed rate
}

struct ProgressBar::State {
  std::string label;
  int64_t total = 0;
  ProgressOptions options;
  bool terminal = false;
  std::ostream* out = nullptr;

  mutable std::mutex mutex;
  int64_t count = 0;
  std::string status;
  double start = 0.0;
  double last_draw = -1.0;
  double last_sample_time = 0.0;
  int64_t last_sample_count = 0;
  double smoothed_rate = 0.0;
  bool has_rate = false;
  bool finished = false;

  double now() const {
    if (options.clock) return options.clock();
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
  }

  // Exponential moving average of the rate between samples, so the ETA follows the current speed.
  void update_rate(double time) {
    const double elapsed = time - last_sample_time;
    if (elapsed <= 0.0) return;
    const double recent = static_cast<double>(count - last_sample_count) / elapsed;
    smoothed_rate = has_rate ? 0.3 * recent + 0.7 * smoothed_rate : recent;
    has_rate = true;
    last_sample_time = time;
    last_sample_count = count;
  }

  std::string render(double time) const {
    std::ostringstream line;
    const double elapsed = time - start;
    line << label;
    if (total > 0) {
      const double fraction = std::min(1.0, static_cast<double>(count) / static_cast<double>(total));
      if (terminal) {
        const int filled = static_cast<int>(fraction * options.bar_width);
        line << " [" << std::string(filled, '=')
             << (filled < options.bar_width ? ">" : "")
             << std::string(std::max(0, options.bar_width - filled - 1), ' ') << "]";
      } else {
        line << ":";
      }
      line << " " << count << "/" << total << " (" << static_cast<int>(fraction * 100.0) << "%)";
    } else {
      line << (terminal ? " " : ": ") << count;
    }
    line << " " << std::fixed << std::setprecision(rate_precision()) << smoothed_rate << " it/s";
    line << ", elapsed " << format_duration(elapsed);
    if (total > 0 && count < total && smoothed_rate > 0.0) {
      line << ", ETA " << format_duration(static_cast<double>(total - count) / smoothed_rate);
    }
    if (!status.empty()) line << ", " << status;
    return line.str();
  }

  int rate_precision() const { return smoothed_rate >= 100.0 ? 0 : (smoothed_rate >= 1.0 ? 1 : 3); }

  void draw(double time, bool final_line) {
    if (!options.enabled) return;
    update_rate(time);
    if (terminal) {
      *out << "\r" << render(time) << "\x1b[K";
      if (final_line) *out << "\n";
    } else {
      *out << render(time) << "\n";
    }
    out->flush();
    last_draw = time;
  }
};

ProgressBar::ProgressBar(std::string label, int64_t total, ProgressOptions options)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.label = std::move(label);
  s.total = total;
  s.options = std::move(options);
  s.out = s.options.stream != nullptr ? s.options.stream : &std::cerr;
  switch (s.options.mode) {
    case ProgressOptions::Mode::terminal: s.terminal = true; break;
    case ProgressOptions::Mode::plain: s.terminal = false; break;
    case ProgressOptions::Mode::automatic:
      s.terminal = s.out == &std::cerr && ::isatty(STDERR_FILENO) == 1;
      break;
  }
  s.start = s.now();
  s.last_sample_time = s.start;
  s.last_draw = s.start;
}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(int64_t n) {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.finished) return;
  s.count += n;
  const double time = s.now();
  if (time - s.last_sample_time >= kRateSampleInterval) s.update_rate(time);
  const double interval = s.terminal ? s.options.redraw_interval_s : s.options.plain_interval_s;
  if (time - s.last_draw >= interval) s.draw(time, false);
}

void ProgressBar::set_status(const std::string& status) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->status = status;
}

void ProgressBar::finish() {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.finished) return;
  s.finished = true;
  s.draw(s.now(), true);
}

int64_t ProgressBar::count() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->count;
}

double ProgressBar::rate() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->smoothed_rate;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto total = static_cast<int64_t>(seconds + 0.5);
  const int64_t hours = total / 3600;
  const int64_t minutes = (total / 60) % 60;
  const int64_t secs = total % 60;
  char buffer[32];
  if (hours > 0) {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", static_cast<long long>(hours),
                  static_cast<long long>(minutes), static_cast<long long>(secs));
  } else {
    std::snprintf(buffer, sizeof buffer, "%02lld:%02lld", static_cast<long long>(minutes),
                  static_cast<long long>(secs));
  }
  return buffer;
}

}  // namespace rsd
