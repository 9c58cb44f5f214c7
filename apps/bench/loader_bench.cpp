#include "bench/loader_bench.h"

#include <benchmark/benchmark.h>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include "rsd/data/dataset.h"
#include "rsd/data/loader.h"
#include "rsd/data/synth/synth.h"
#include "rsd/geometry/grid_spec.h"
#include "rsd/util/error.h"
#include "rsd/util/fs.h"

namespace rsd::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Samples per second over whole epochs (at least `min_s` seconds), batches of 1.
double loader_samples_per_s(const std::shared_ptr<const data::SampleDataset>& dataset,
                            int64_t workers, double min_s) {
  data::LoaderOptions options;
  options.batch_size = 1;
  options.workers = workers;
  options.prefetch = 2 * std::max<int64_t>(workers, 1);
  options.shuffle = false;
  data::Loader loader(dataset, options);
  int64_t samples = 0;
  const auto start = Clock::now();
  double elapsed = 0.0;
  for (int64_t epoch = 0; elapsed < min_s || epoch < 2; ++epoch) {
    loader.start_epoch(epoch);
    while (auto batch = loader.next()) samples += batch->size();
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return static_cast<double>(samples) / elapsed;
}

}  // namespace

void add_loader_flags(CLI::App& command, LoaderBenchOptions& options) {
  command.add_option("--frames", options.frames, "frames of the synthetic clip")
      ->check(CLI::Range(1, 1000))->capture_default_str();
  command.add_option("--workers", options.workers, "loader worker threads to measure")
      ->delimiter(',')->capture_default_str();
  command.add_option("--height", options.height, "network input height (256: b2d_base; 128: synth_tiny)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  command.add_option("--width", options.width, "network input width (704: b2d_base; 352: synth_tiny)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  command.add_flag("--augment", options.augment, "training augmentation on");
}

int run_loader_bench(const Settings& settings, const LoaderBenchOptions& options) {
  // As in rsd_train (apply_run_options): the loader's workers are the parallelism, not OpenCV's
  // own thread pool inside each warp.
  cv::setNumThreads(0);
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("rsd_bench_loader_" + std::to_string(::getpid()));
  data::synth::SynthOptions synth;
  synth.out_dir = root.string();
  synth.clips = 1;
  synth.frames = static_cast<int>(options.frames);
  synth.seed = 5;
  synth.top_down = false;
  synth.val_fraction = 0.0;
  const data::synth::SynthSummary written = data::synth::write_synthetic_dataset(synth);
  const std::string clip = (root / written.clips.front().name).string();

  // One stored front image, decoded from memory (no disk in the figure).
  const std::string jpeg = read_file(clip + "/camera/rgb_front/00000.jpg");
  const std::vector<uchar> bytes(jpeg.begin(), jpeg.end());
  benchmark::RegisterBenchmark("decode/full_1600x900", [&bytes](benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(cv::imdecode(bytes, cv::IMREAD_COLOR));
  })->UseRealTime()->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("decode/reduced_800x450", [&bytes](benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(cv::imdecode(bytes, cv::IMREAD_REDUCED_COLOR_2));
  })->UseRealTime()->Unit(benchmark::kMillisecond);
  const int out_width = static_cast<int>(options.width);
  benchmark::RegisterBenchmark("decode/full_then_resize", [&bytes, out_width](benchmark::State& state) {
    for (auto _ : state) {
      cv::Mat image = cv::imdecode(bytes, cv::IMREAD_COLOR), resized;
      cv::resize(image, resized, cv::Size(out_width, out_width * 900 / 1600), 0, 0, cv::INTER_LINEAR);
      benchmark::DoNotOptimize(resized.data);
    }
  })->UseRealTime()->Unit(benchmark::kMillisecond);
  const std::vector<Measurement> decode = run_registered(settings);

  data::DatasetOptions dataset_options(GridSpec({-32.0, 32.0, 0.5}, {-32.0, 32.0, 0.5}, {-5.0, 3.0, 8.0}));
  dataset_options.root = root.string();
  dataset_options.image_height = options.height;
  dataset_options.image_width = options.width;
  dataset_options.augment = options.augment;
  auto dataset = std::make_shared<data::Bench2DriveDataset>(dataset_options);

  std::vector<std::pair<std::string, double>> derived;
  derived.emplace_back("frames", static_cast<double>(dataset->size()));
  derived.emplace_back("cameras_per_sample", static_cast<double>(dataset_options.cameras.size()));
  double first = 0.0;
  for (const int64_t workers : options.workers) {
    const double rate = loader_samples_per_s(dataset, workers, settings.min_time_s * 10.0);
    if (first == 0.0) first = rate;
    const std::string name = "loader_" + std::to_string(workers) + "_workers";
    derived.emplace_back(name + "_samples_per_s", rate);
    derived.emplace_back(name + "_ms_per_image", 1e3 / (rate * dataset_options.cameras.size()));
    derived.emplace_back(name + "_vs_first", rate / first);
  }
  std::filesystem::remove_all(root);
  report("loader", settings, decode, derived);
  return 0;
}

}  // namespace rsd::bench
