#include "rsd/teacher/endpoint_pool.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <tuple>

#include "rsd/util/error.h"

namespace rsd::teacher {
namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int failures_on(const std::vector<int>& failed, std::size_t endpoint) {
  return endpoint < failed.size() ? failed[endpoint] : 0;
}

// Longest wait between two looks while every eligible endpoint cools down or is full: a release
// wakes the waiters at once, the end of a cool-down only on a look.
constexpr double kLongestWaitS = 0.25;

}  // namespace

EndpointPool::EndpointPool(std::vector<int> capacities, EndpointPoolOptions options, Clock clock)
    : capacities_(std::move(capacities)),
      options_(options),
      clock_(clock ? std::move(clock) : Clock(steady_seconds)),
      states_(capacities_.size()) {
  if (capacities_.empty()) throw ConfigError("an endpoint pool needs at least one endpoint");
  for (std::size_t e = 0; e < capacities_.size(); ++e) {
    if (capacities_[e] < 1) {
      throw ConfigError("endpoint " + std::to_string(e) + " has concurrency " +
                        std::to_string(capacities_[e]) + "; it must be >= 1");
    }
  }
  if (options_.failures_to_cool_down < 1) {
    throw ConfigError("failures before a cool-down must be >= 1, got " +
                      std::to_string(options_.failures_to_cool_down));
  }
  if (!(options_.cool_down_s >= 0.0)) throw ConfigError("the cool-down must be >= 0 seconds");
}

int EndpointPool::total_capacity() const {
  int total = 0;
  for (const int capacity : capacities_) total += capacity;
  return total;
}

bool EndpointPool::eligible(std::size_t endpoint, const std::vector<int>& failed, int max_failures,
                            double now) const {
  return failures_on(failed, endpoint) < max_failures && now >= states_[endpoint].out_until;
}

std::optional<std::size_t> EndpointPool::pick(const std::vector<int>& failed, int max_failures,
                                              double now) {
  std::optional<std::size_t> best;
  std::tuple<int, double> best_key{0, 0.0};
  for (std::size_t e = 0; e < states_.size(); ++e) {
    if (!eligible(e, failed, max_failures, now) || states_[e].in_flight >= capacities_[e]) continue;
    const std::tuple<int, double> key{failures_on(failed, e),
                                      static_cast<double>(states_[e].in_flight) / capacities_[e]};
    if (!best || key < best_key) {
      best = e;
      best_key = key;
    }
  }
  if (best) ++states_[*best].in_flight;
  return best;
}

std::optional<std::size_t> EndpointPool::try_acquire(const std::vector<int>& failed,
                                                     int max_failures) {
  const std::lock_guard<std::mutex> lock(mutex_);
  return pick(failed, max_failures, clock_());
}

std::optional<std::size_t> EndpointPool::acquire(const std::vector<int>& failed, int max_failures) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    const double now = clock_();
    if (auto endpoint = pick(failed, max_failures, now)) return endpoint;
    double wait = kLongestWaitS;
    bool any_left = false;
    for (std::size_t e = 0; e < states_.size(); ++e) {
      if (failures_on(failed, e) >= max_failures) continue;
      any_left = true;
      if (now < states_[e].out_until) wait = std::min(wait, states_[e].out_until - now);
    }
    if (!any_left) return std::nullopt;
    changed_.wait_for(lock, std::chrono::duration<double>(std::max(wait, 1e-3)));
  }
}

void EndpointPool::release(std::size_t endpoint, bool ok, double latency_s) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    State& state = states_.at(endpoint);
    --state.in_flight;
    ++state.stats.requests;
    state.stats.latency_s += latency_s;
    if (ok) {
      state.consecutive_failures = 0;
    } else {
      ++state.stats.failures;
      const double now = clock_();
      bool another_in_service = false;
      for (std::size_t e = 0; e < states_.size(); ++e) {
        another_in_service = another_in_service || (e != endpoint && now >= states_[e].out_until);
      }
      // The last endpoint in service is never taken out: there would be nowhere to retry, and a
      // single endpoint keeps the plain retry-with-backoff behaviour.
      if (++state.consecutive_failures >= options_.failures_to_cool_down && another_in_service) {
        state.consecutive_failures = 0;
        state.out_until = now + options_.cool_down_s;
        ++state.stats.cool_downs;
      }
    }
  }
  changed_.notify_all();
}

bool EndpointPool::cooling_down(std::size_t endpoint) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return clock_() < states_.at(endpoint).out_until;
}

int EndpointPool::in_flight(std::size_t endpoint) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return states_.at(endpoint).in_flight;
}

std::vector<EndpointStats> EndpointPool::stats() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::vector<EndpointStats> out;
  for (const auto& state : states_) out.push_back(state.stats);
  return out;
}

}  // namespace rsd::teacher
