// A progress bar for long loops: count, rate and ETA. On a terminal it redraws one line; elsewhere
// (CI logs, files) it prints a plain line every few seconds, so logs stay readable.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

namespace rsd {

struct ProgressOptions {
  enum class Mode { automatic, terminal, plain };
  bool enabled = true;                 // false: print nothing (e.g. ranks other than 0)
  Mode mode = Mode::automatic;         // automatic: terminal when the stream is a TTY
  std::ostream* stream = nullptr;      // nullptr: std::cerr
  double plain_interval_s = 10.0;      // plain mode: seconds between lines
  double redraw_interval_s = 0.1;      // terminal mode: seconds between redraws
  int bar_width = 28;
  std::function<double()> clock;       // seconds; empty: steady_clock (tests pass a fake clock)
};

class ProgressBar {
 public:
  /// `total` <= 0 means unknown: count, rate and elapsed time are shown without a bar or ETA.
  ProgressBar(std::string label, int64_t total, ProgressOptions options = {});
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Adds `n` finished items. Thread-safe.
  void advance(int64_t n = 1);
  /// Text shown after the rate, e.g. "loss 0.231". Thread-safe.
  void set_status(const std::string& status);
  /// Prints the final state once (also done by the destructor).
  void finish();

  int64_t count() const;
  /// Items per second, smoothed over recent updates.
  double rate() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// "1:02:03" or "02:03".
std::string format_duration(double seconds);

}  // namespace rsd
