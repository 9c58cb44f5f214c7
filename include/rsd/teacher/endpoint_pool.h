// Spreading requests over several servers of the same model (vLLM, SGLang, ... on many machines):
// each endpoint has a capacity (requests it may have in flight); a request goes to the endpoint
// with the least load (in flight / capacity); an endpoint whose last `failures_to_cool_down`
// requests all failed is taken out for `cool_down_s`, then tried again (unless it is the last one
// in service: there would be nowhere else to send the requests). A caller that retries a
// request tells the pool how often it already failed on each endpoint, so that its retries go to
// the endpoints it has not failed on first. Thread-safe; the clock is injectable for tests.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rsd::teacher {

struct EndpointPoolOptions {
  int failures_to_cool_down = 3;  // consecutive failed requests that take an endpoint out
  double cool_down_s = 30.0;      // how long it stays out
};

struct EndpointStats {
  int requests = 0;        // finished requests (successes and failures)
  int failures = 0;
  int cool_downs = 0;      // times the endpoint was taken out
  double latency_s = 0.0;  // summed over all requests
  double mean_latency_s() const { return requests > 0 ? latency_s / requests : 0.0; }
};

/// What one named endpoint did during a run (the end-of-run summary).
struct EndpointReport {
  std::string url;
  EndpointStats stats;
};

class EndpointPool {
 public:
  using Clock = std::function<double()>;  // seconds, monotonic

  /// One endpoint per capacity (each >= 1). Without a clock: std::chrono::steady_clock.
  EndpointPool(std::vector<int> capacities, EndpointPoolOptions options, Clock clock = {});
  EndpointPool(const EndpointPool&) = delete;
  EndpointPool& operator=(const EndpointPool&) = delete;

  std::size_t size() const { return capacities_.size(); }
  /// Sum of the capacities: the requests the pool lets be in flight at once.
  int total_capacity() const;

  /// Takes a slot now, or returns nothing when no endpoint is eligible and free. Eligible: not
  /// cooling down and failed[e] < max_failures (failed: the caller's failures per endpoint, empty
  /// for none). Among those with a free slot: the fewest failed[e], then the least load, then the
  /// lowest index.
  std::optional<std::size_t> try_acquire(const std::vector<int>& failed = {},
                                         int max_failures = 1);

  /// Like try_acquire, waiting for a slot or the end of a cool-down as long as some endpoint has
  /// failed[e] < max_failures; nothing when none has (the caller's attempts are used up).
  std::optional<std::size_t> acquire(const std::vector<int>& failed = {}, int max_failures = 1);

  /// Gives the slot back with the outcome of its request and how long it took.
  void release(std::size_t endpoint, bool ok, double latency_s);

  /// True while `endpoint` is taken out.
  bool cooling_down(std::size_t endpoint) const;
  int in_flight(std::size_t endpoint) const;
  std::vector<EndpointStats> stats() const;

 private:
  struct State {
    int in_flight = 0;
    int consecutive_failures = 0;
    double out_until = 0.0;  // clock time; cooling down while now < out_until
    EndpointStats stats;
  };
  bool eligible(std::size_t endpoint, const std::vector<int>& failed, int max_failures,
                double now) const;
  std::optional<std::size_t> pick(const std::vector<int>& failed, int max_failures, double now);

  std::vector<int> capacities_;
  EndpointPoolOptions options_;
  Clock clock_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<State> states_;
};

}  // namespace rsd::teacher
