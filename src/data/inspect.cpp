#include "rsd/data/inspect.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "data/camera_image.h"
#include "rsd/data/frame_reader.h"
#include "rsd/util/error.h"

namespace rsd::data {
namespace {

namespace fs = std::filesystem;
using rsd::detail::concat;

// What one clip contributes to the report.
struct ClipTally {
  int64_t frames = 0;
  int64_t unreadable_frames = 0;
  int64_t bad_images = 0;
  std::map<std::string, int64_t> boxes_per_class;
  std::map<std::string, int64_t> ignored_types;
  std::vector<DataProblem> problems;
};

// "" when the file looks like a whole JPEG, else what is wrong with it. Cheap: the SOI marker at
// the start and the EOI marker at the end (a truncated file lacks the latter).
std::string jpeg_problem(const std::string& path, bool decode) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return fs::exists(path) ? "image unreadable" : "image missing";
  const std::streamoff size = in.tellg();
  if (size < 4) return concat("image has ", size, " bytes");
  unsigned char head[2], tail[2];
  in.seekg(0);
  in.read(reinterpret_cast<char*>(head), 2);
  in.seekg(size - 2);
  in.read(reinterpret_cast<char*>(tail), 2);
  if (!in) return "image unreadable";
  const std::string problem = detail::jpeg_marker_problem(
      std::string_view(reinterpret_cast<const char*>(head), 2),
      std::string_view(reinterpret_cast<const char*>(tail), 2));
  if (!problem.empty()) return problem;
  if (decode && cv::imread(path, cv::IMREAD_COLOR).empty()) return "JPEG cannot be decoded";
  return "";
}

std::string frame_image_path(const ClipInfo& clip, const std::string& folder, int frame) {
  char name[16];
  std::snprintf(name, sizeof(name), "%05d.jpg", frame);
  return clip.path + "/camera/" + folder + "/" + name;
}

// The reader's message without the leading "<path>: " (the problem carries the path).
std::string without_path(const std::string& message, const std::string& path) {
  const std::string prefix = path + ": ";
  return message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
}

ClipTally inspect_clip(const ClipInfo& clip, const FrameReader& reader,
                       const InspectOptions& options) {
  ClipTally tally;
  tally.frames = static_cast<int64_t>(clip.frames.size());
  std::vector<std::string> folders;
  for (const std::string& camera : options.cameras) {
    const std::string folder = camera_folder(camera);
    if (fs::is_directory(clip.path + "/camera/" + folder)) {
      folders.push_back(folder);
    } else {
      tally.problems.push_back({clip.path + "/camera/" + folder,
                                concat("camera folder missing (", camera, ")")});
      tally.bad_images += tally.frames;
    }
  }
  for (const int frame : clip.frames) {
    const std::string path = annotation_path(clip, frame);
    try {
      const Frame read = reader.read(clip, frame);
      for (const Box& box : read.boxes) ++tally.boxes_per_class[to_string(box.object_class)];
      for (const std::string& type : read.ignored_type_ids) {
        ++tally.boxes_per_class["ignored"];
        ++tally.ignored_types[type];
      }
    } catch (const std::exception& e) {
      ++tally.unreadable_frames;
      tally.problems.push_back({path, without_path(e.what(), path)});
    }
    for (const std::string& folder : folders) {
      const std::string image = frame_image_path(clip, folder, frame);
      const std::string problem = jpeg_problem(image, options.decode_images);
      if (!problem.empty()) {
        ++tally.bad_images;
        tally.problems.push_back({image, problem});
      }
    }
  }
  return tally;
}

}  // namespace

DatasetReport inspect_dataset(const InspectOptions& options) {
  const ClipIndex index =
      ClipIndex::scan(options.root).select(options.split, options.split_file, options.clip_list);
  FrameReaderOptions reader_options;
  reader_options.derive_velocity_from_motion = false;  // counts only: no neighbour reads
  const FrameReader reader(options.cameras, reader_options);

  const std::vector<ClipInfo>& clips = index.clips();
  std::vector<ClipTally> tallies(clips.size());
  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  const size_t thread_count = std::min<size_t>(
      clips.size(), options.threads > 0 ? static_cast<size_t>(options.threads) : hardware);
  std::atomic<size_t> next{0};
  const auto work = [&]() {
    for (size_t c = next++; c < clips.size(); c = next++) {
      tallies[c] = inspect_clip(clips[c], reader, options);
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < thread_count; ++t) threads.emplace_back(work);
  work();
  for (std::thread& thread : threads) thread.join();

  DatasetReport report;
  report.root = options.root;
  report.split = to_string(options.split);
  report.clips = static_cast<int64_t>(clips.size());
  report.problems = index.problems();
  for (size_t c = 0; c < clips.size(); ++c) {
    const ClipInfo& clip = clips[c];
    const ClipTally& tally = tallies[c];
    report.frames += tally.frames;
    report.unreadable_frames += tally.unreadable_frames;
    report.missing_or_bad_images += tally.bad_images;
    if (!clip.name_parsed) ++report.malformed_clip_names;
    ++report.clips_per_scenario[clip.scenario];
    report.frames_per_scenario[clip.scenario] += tally.frames;
    report.min_frames_per_clip = c == 0 ? tally.frames : std::min(report.min_frames_per_clip, tally.frames);
    report.max_frames_per_clip = std::max(report.max_frames_per_clip, tally.frames);
    for (const auto& [name, count] : tally.boxes_per_class) report.boxes_per_class[name] += count;
    for (const auto& [name, count] : tally.ignored_types) report.ignored_types[name] += count;
    report.problems.insert(report.problems.end(), tally.problems.begin(), tally.problems.end());
  }
  return report;
}

std::string DatasetReport::to_json() const {
  nlohmann::ordered_json out;
  out["root"] = root;
  out["split"] = split;
  out["clips"] = clips;
  out["frames"] = frames;
  out["malformed_clip_names"] = malformed_clip_names;
  out["min_frames_per_clip"] = min_frames_per_clip;
  out["max_frames_per_clip"] = max_frames_per_clip;
  out["unreadable_frames"] = unreadable_frames;
  out["missing_or_bad_images"] = missing_or_bad_images;
  out["boxes_per_class"] = boxes_per_class;
  out["ignored_types"] = ignored_types;
  out["clips_per_scenario"] = clips_per_scenario;
  out["frames_per_scenario"] = frames_per_scenario;
  out["problems"] = nlohmann::ordered_json::array();
  for (const DataProblem& problem : problems) {
    out["problems"].push_back({{"path", problem.path}, {"message", problem.message}});
  }
  return out.dump(2);
}

std::string DatasetReport::to_text() const {
  std::ostringstream text;
  text << "root: " << root << " (split " << split << ")\n"
       << "clips: " << clips << " (" << malformed_clip_names << " with a malformed name)\n"
       << "frames: " << frames << " (per clip " << min_frames_per_clip << ".."
       << max_frames_per_clip << "; " << unreadable_frames << " unreadable)\n"
       << "images missing or bad: " << missing_or_bad_images << "\n"
       << "boxes per class:\n";
  for (const auto& [name, count] : boxes_per_class) text << "  " << name << ": " << count << "\n";
  if (!ignored_types.empty()) {
    text << "ignored types (no class):\n";
    for (const auto& [name, count] : ignored_types) text << "  " << name << ": " << count << "\n";
  }
  text << "clips per scenario:\n";
  for (const auto& [name, count] : clips_per_scenario) {
    text << "  " << name << ": " << count << " (" << frames_per_scenario.at(name) << " frames)\n";
  }
  text << "problems: " << problems.size() << "\n";
  for (const DataProblem& problem : problems) {
    text << "  " << problem.path << ": " << problem.message << "\n";
  }
  return text.str();
}

}  // namespace rsd::data
