// rsd::data::synth::write_synthetic_dataset: simulate each clip, then render and write its frames
// on worker threads (frames are independent, so the bytes do not depend on the thread count).
#include "rsd/data/synth/synth.h"

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "data/synth/annotation.h"
#include "data/synth/python_json.h"
#include "data/synth/scenarios.h"
#include "data/synth/scene_render.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"

namespace rsd::data::synth {
namespace {

namespace fs = std::filesystem;

void write_bytes(const fs::path& path, const char* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(size));
  out.close();
  if (!out) throw Error("cannot write " + path.string());
}

void write_bytes(const fs::path& path, const std::string& bytes) { write_bytes(path, bytes.data(), bytes.size()); }

void write_image(const fs::path& path, const cv::Mat& image, const std::vector<int>& parameters) {
  std::vector<uchar> buffer;
  try {
    if (!cv::imencode(path.extension().string(), image, buffer, parameters)) throw Error("cannot encode " + path.string());
  } catch (const cv::Exception& e) {
    throw Error("cannot encode " + path.string() + ": " + e.what());
  }
  write_bytes(path, reinterpret_cast<const char*>(buffer.data()), buffer.size());
}

std::string frame_name(int frame) {
  char name[16];
  std::snprintf(name, sizeof(name), "%05d", frame);
  return name;
}

void validate(const SynthOptions& options) {
  if (options.out_dir.empty()) throw ConfigError("synth: --out (out_dir) is required");
  if (options.clips < 1) throw ConfigError("synth: clips must be >= 1, got " + std::to_string(options.clips));
  if (options.frames < 1 || options.frames > 99999) {
    throw ConfigError("synth: frames must be in [1, 99999] (5-digit frame names), got " + std::to_string(options.frames));
  }
  if (options.width < 16 || options.height < 16 || options.width > 8192 || options.height > 8192) {
    throw ConfigError("synth: width and height must be in [16, 8192], got " + std::to_string(options.width) + "x" +
                      std::to_string(options.height));
  }
  if (options.jpeg_quality < 1 || options.jpeg_quality > 100) {
    throw ConfigError("synth: jpeg_quality must be in [1, 100], got " + std::to_string(options.jpeg_quality));
  }
  if (!(options.val_fraction >= 0.0 && options.val_fraction <= 1.0)) {
    throw ConfigError("synth: val_fraction must be in [0, 1]");
  }
  if (options.threads < 0) throw ConfigError("synth: threads must be >= 0");
  for (const std::string& scenario : options.scenarios) {
    const auto& known = scenario_names();
    if (std::find(known.begin(), known.end(), scenario) == known.end()) {
      std::string list;
      for (const std::string& name : known) list += (list.empty() ? "" : ", ") + name;
      throw ConfigError("synth: unknown scenario '" + scenario + "' (known: " + list + ")");
    }
  }
}

// What one worker thread keeps between frames.
struct Worker {
  Rasterizer raster;
  cv::Mat depth, semantic, instance;
};

class ClipWriter {
 public:
  ClipWriter(const SynthOptions& options, const ClipWorld& world, const fs::path& folder)
      : options_(options), world_(world), folder_(folder), renderer_(world) {
    for (const SensorMount& mount : sensor_rig()) {
      if (mount.kind != SensorKind::camera) continue;
      if (mount.suffix.empty() && !options.top_down) continue;
      cameras_.push_back(&mount);
    }
    fs::create_directories(folder_ / "anno");
    for (const SensorMount* camera : cameras_) {
      fs::create_directories(folder_ / "camera" / camera->folder);
      if (options_.depth_and_segmentation && !camera->suffix.empty()) {
        for (const char* kind : {"depth_", "semantic_", "instance_"}) fs::create_directories(folder_ / "camera" / (kind + camera->suffix));
      }
    }
  }

  /// Writes frame `frame`; returns the number of images written.
  int64_t write(int frame, Worker& worker) const {
    const std::string name = frame_name(frame);
    AnnotationOptions annotation;
    annotation.width = options_.width;
    annotation.height = options_.height;
    annotation.quirks = options_.quirks;
    const std::string json = python_json_dump(make_annotation(world_, frame, annotation));
    write_bytes(folder_ / "anno" / (name + ".json.gz"), gzip_like_python(json, name + ".json"));

    const FrameState& state = world_.frames[static_cast<std::size_t>(frame)];
    const std::vector<Face> actors = renderer_.actor_faces(state);
    const std::vector<int> jpeg = {cv::IMWRITE_JPEG_QUALITY, options_.jpeg_quality};
    int64_t images = 0;
    for (const SensorMount* camera : cameras_) {
      const CameraView view = renderer_.view(state, *camera, options_.width, options_.height);
      renderer_.render(view, actors, worker.raster);
      write_image(folder_ / "camera" / camera->folder / (name + ".jpg"), worker.raster.colour(), jpeg);
      ++images;
      if (options_.depth_and_segmentation && !camera->suffix.empty()) {
        write_dense(worker, *camera, name);
        images += 3;
      }
    }
    return images;
  }

 private:
  // Bench2Drive's depth (8-bit metres, saturating), semantic (tag) and instance (RGBA: R tag,
  // G/B actor id low/high byte) images.
  void write_dense(Worker& worker, const SensorMount& camera, const std::string& name) const {
    const int w = options_.width, h = options_.height;
    worker.depth.create(h, w, CV_8UC1);
    worker.semantic.create(h, w, CV_8UC1);
    worker.instance.create(h, w, CV_8UC4);
    const auto& depth = worker.raster.depth();
    const auto& semantic = worker.raster.semantic();
    const auto& instance = worker.raster.instance();
    for (int y = 0; y < h; ++y) {
      uint8_t* d = worker.depth.ptr<uint8_t>(y);
      uint8_t* s = worker.semantic.ptr<uint8_t>(y);
      uint8_t* b = worker.instance.ptr<uint8_t>(y);
      for (int x = 0; x < w; ++x) {
        const std::size_t i = static_cast<std::size_t>(y) * w + x;
        d[x] = static_cast<uint8_t>(std::min(255.0f, std::round(depth[i])));
        s[x] = semantic[i];
        b[4 * x + 0] = static_cast<uint8_t>(instance[i] >> 8);    // B
        b[4 * x + 1] = static_cast<uint8_t>(instance[i] & 0xff);  // G
        b[4 * x + 2] = semantic[i];                               // R
        b[4 * x + 3] = 255;
      }
    }
    const fs::path root = folder_ / "camera";
    write_image(root / ("depth_" + camera.suffix) / (name + ".png"), worker.depth, {});
    write_image(root / ("semantic_" + camera.suffix) / (name + ".png"), worker.semantic, {});
    write_image(root / ("instance_" + camera.suffix) / (name + ".png"), worker.instance, {});
  }

  const SynthOptions& options_;
  const ClipWorld& world_;
  fs::path folder_;
  SceneRenderer renderer_;
  std::vector<const SensorMount*> cameras_;
};

}  // namespace

std::vector<std::string> supported_scenarios() { return scenario_names(); }

SynthSummary write_synthetic_dataset(const SynthOptions& options, const SynthProgress& progress) {
  validate(options);
  const fs::path out(options.out_dir);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec || !fs::is_directory(out)) throw Error("cannot create output folder " + out.string() + ": " + ec.message());
  const std::vector<std::string> scenarios = options.scenarios.empty() ? scenario_names() : options.scenarios;
  const int threads = options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  const int64_t total = static_cast<int64_t>(options.clips) * options.frames;

  SynthSummary summary;
  summary.split_file = (out / kSplitFileName).string();
  std::mutex progress_mutex;
  int64_t done = 0;
  std::vector<Worker> workers(static_cast<std::size_t>(threads));
  for (int clip = 0; clip < options.clips; ++clip) {
    const std::string& scenario = scenarios[static_cast<std::size_t>(clip) % scenarios.size()];
    Simulation simulation = build_scenario(scenario, clip, options.frames, options.seed);
    simulate(simulation, options.frames);
    const ClipWorld& world = simulation.world;
    const std::string name = world.name();
    const fs::path partial = out / ("." + name + ".partial");
    fs::remove_all(partial, ec);
    ClipWriter writer(options, world, partial);

    std::atomic<int> next{0};
    std::atomic<int64_t> images{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    const auto work = [&](Worker& worker) {
      for (int frame = next++; frame < options.frames; frame = next++) {
        try {
          images += writer.write(frame, worker);
        } catch (...) {
          std::lock_guard<std::mutex> lock(failure_mutex);
          if (!failure) failure = std::current_exception();
          next = options.frames;
          return;
        }
        if (progress) {
          std::lock_guard<std::mutex> lock(progress_mutex);
          progress(++done, total);
        }
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work, std::ref(workers[static_cast<std::size_t>(t)]));
    work(workers[0]);
    for (std::thread& thread : pool) thread.join();
    if (failure) {
      fs::remove_all(partial, ec);
      std::rethrow_exception(failure);
    }

    const fs::path final_folder = out / name;
    fs::remove_all(final_folder, ec);
    fs::rename(partial, final_folder, ec);
    if (ec) throw Error("cannot rename " + partial.string() + " to " + final_folder.string() + ": " + ec.message());
    SynthClip info;
    info.name = name;
    info.scenario = scenario;
    info.frames = options.frames;
    summary.clips.push_back(info);
    summary.frames += options.frames;
    summary.images += images;
  }

  // The last clips go to "val" (they cycle through the scenarios like the others).
  const int clips = static_cast<int>(summary.clips.size());
  int val = static_cast<int>(std::lround(clips * options.val_fraction));
  if (val == 0 && clips >= 2 && options.val_fraction > 0.0) val = 1;
  val = std::min(val, clips);
  nlohmann::ordered_json names = nlohmann::ordered_json::array();
  for (int i = clips - val; i < clips; ++i) {
    summary.clips[static_cast<std::size_t>(i)].val = true;
    names.push_back("v1/" + summary.clips[static_cast<std::size_t>(i)].name);
  }
  nlohmann::ordered_json split;
  split["val"] = names;
  write_bytes(out / kSplitFileName, python_json_dump(split));
  logging::debug("synth: wrote " + std::to_string(clips) + " clips (" + std::to_string(summary.frames) + " frames, " +
                std::to_string(summary.images) + " images) to " + out.string());
  return summary;
}

}  // namespace rsd::data::synth
