// rsd_bench's harness over Google Benchmark: runs the registered benchmarks with repetitions,
// keeps the per-repetition times so that medians and p90s are ours to compute, and prints a table
// or one JSON document. Speed is only ever measured here, never in unit tests.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

namespace rsd::bench {

struct Settings {
  int repetitions = 5;       // repetitions of each benchmark; medians and p90s are over these
  double min_time_s = 0.2;   // minimum time of one repetition
  int threads = 0;           // intra-op threads; 0 = every core
  bool json = false;         // print one JSON document instead of a table
};

void add_settings_flags(CLI::App& app, Settings& settings);

struct Measurement {
  std::string name;
  std::vector<double> seconds;                  // time per iteration, one value per repetition
  int64_t iterations = 0;                       // iterations per repetition (the last one)
  std::map<std::string, double> counters;       // user counters of the last repetition
  double median_s() const;
  double p90_s() const;
};

/// Runs every benchmark registered through benchmark::RegisterBenchmark, then clears them.
std::vector<Measurement> run_registered(const Settings& settings);

/// Host facts printed with every result: CPU model, cores, intra-op threads, library versions.
std::map<std::string, std::string> host_facts();

/// Prints the measurements and the derived figures (`derived`: name -> value) as a table, or as
/// JSON when settings.json.
void report(const std::string& benchmark, const Settings& settings,
            const std::vector<Measurement>& measurements,
            const std::vector<std::pair<std::string, double>>& derived);

const Measurement& find(const std::vector<Measurement>& measurements, const std::string& name);

}  // namespace rsd::bench
