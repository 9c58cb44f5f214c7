#include "bench/bench_harness.h"

#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>
#include <torch/version.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "rsd/util/error.h"
#include "rsd/version.h"

namespace rsd::bench {
namespace {

// Collects every repetition's run instead of printing it.
class CollectingReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) {
        if (run.error_occurred) errors_.push_back(run.benchmark_name() + ": " + run.error_message);
        continue;
      }
      const std::string name = run.run_name.function_name;
      auto found = std::find_if(measurements_.begin(), measurements_.end(),
                                [&](const Measurement& m) { return m.name == name; });
      if (found == measurements_.end()) {
        measurements_.push_back(Measurement{name, {}, 0, {}});
        found = measurements_.end() - 1;
      }
      found->seconds.push_back(run.real_accumulated_time / static_cast<double>(run.iterations));
      found->iterations = run.iterations;
      found->counters.clear();
      for (const auto& [key, counter] : run.counters) found->counters[key] = counter.value;
    }
  }
  std::vector<Measurement> measurements_;
  std::vector<std::string> errors_;
};

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const auto lower = static_cast<std::size_t>(position);
  const std::size_t upper = std::min(lower + 1, values.size() - 1);
  const double weight = position - static_cast<double>(lower);
  return values[lower] * (1.0 - weight) + values[upper] * weight;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

}  // namespace

void add_settings_flags(CLI::App& app, Settings& settings) {
  app.add_option("--repetitions", settings.repetitions, "repetitions of each benchmark")
      ->check(CLI::PositiveNumber);
  app.add_option("--min-time", settings.min_time_s, "minimum seconds per repetition")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", settings.threads, "intra-op threads (0: every core)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--json", settings.json, "print one JSON document instead of a table");
}

double Measurement::median_s() const { return quantile(seconds, 0.5); }
double Measurement::p90_s() const { return quantile(seconds, 0.9); }

std::vector<Measurement> run_registered(const Settings& settings) {
  // Google Benchmark reads its settings from argv-style flags.
  std::string min_time = "--benchmark_min_time=" + std::to_string(settings.min_time_s);
  std::string repetitions = "--benchmark_repetitions=" + std::to_string(settings.repetitions);
  std::string program = "rsd_bench";
  std::vector<char*> argv{program.data(), min_time.data(), repetitions.data()};
  int argc = static_cast<int>(argv.size());
  benchmark::Initialize(&argc, argv.data());
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::ClearRegisteredBenchmarks();
  if (!reporter.errors_.empty()) throw Error("benchmark failed: " + reporter.errors_.front());
  return reporter.measurements_;
}

std::map<std::string, std::string> host_facts() {
  return {{"cpu", cpu_model()},
          {"intra_op_threads", std::to_string(at::get_num_threads())},
          {"librsd", version()},
          {"libtorch", TORCH_VERSION}};
}

const Measurement& find(const std::vector<Measurement>& measurements, const std::string& name) {
  for (const auto& m : measurements) {
    if (m.name == name) return m;
  }
  throw Error("no measurement named '" + name + "'");
}

void report(const std::string& benchmark, const Settings& settings,
            const std::vector<Measurement>& measurements,
            const std::vector<std::pair<std::string, double>>& derived) {
  if (settings.json) {
    nlohmann::ordered_json doc;
    doc["benchmark"] = benchmark;
    doc["host"] = host_facts();
    doc["repetitions"] = settings.repetitions;
    doc["results"] = nlohmann::ordered_json::array();
    for (const auto& m : measurements) {
      nlohmann::ordered_json entry;
      entry["name"] = m.name;
      entry["median_ms"] = m.median_s() * 1e3;
      entry["p90_ms"] = m.p90_s() * 1e3;
      entry["iterations"] = m.iterations;
      entry["counters"] = m.counters;
      doc["results"].push_back(entry);
    }
    doc["derived"] = nlohmann::ordered_json::object();
    for (const auto& [name, value] : derived) doc["derived"][name] = value;
    std::cout << doc.dump(2) << std::endl;
    return;
  }
  std::cout << benchmark << " on " << cpu_model() << ", " << at::get_num_threads()
            << " intra-op threads, " << settings.repetitions << " repetitions\n";
  std::cout << std::left << std::setw(40) << "name" << std::right << std::setw(14) << "median ms"
            << std::setw(14) << "p90 ms" << std::setw(12) << "iters" << "  counters\n";
  for (const auto& m : measurements) {
    std::cout << std::left << std::setw(40) << m.name << std::right << std::fixed
              << std::setprecision(4) << std::setw(14) << m.median_s() * 1e3 << std::setw(14)
              << m.p90_s() * 1e3 << std::setw(12) << m.iterations << " ";
    for (const auto& [key, value] : m.counters) std::cout << " " << key << "=" << value;
    std::cout << "\n";
  }
  for (const auto& [name, value] : derived) {
    std::cout << std::left << std::setw(40) << name << std::right << std::setprecision(3)
              << std::setw(14) << value << "\n";
  }
}

}  // namespace rsd::bench
