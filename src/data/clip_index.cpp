#include "rsd/data/clip_index.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <system_error>

#include "rsd/util/error.h"

namespace rsd::data {
namespace {

namespace fs = std::filesystem;
using rsd::detail::concat;

// "v1/<clip>", "<clip>.tar.gz", "<clip>/" -> "<clip>".
std::string clip_name_of(std::string entry) {
  while (!entry.empty() && (entry.back() == '/' || entry.back() == '\\')) entry.pop_back();
  const size_t slash = entry.find_last_of("/\\");
  if (slash != std::string::npos) entry = entry.substr(slash + 1);
  const std::string suffix = ".tar.gz";
  if (entry.size() > suffix.size() &&
      entry.compare(entry.size() - suffix.size(), suffix.size(), suffix) == 0) {
    entry.resize(entry.size() - suffix.size());
  }
  return entry;
}

std::string read_text_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(concat(path, ": cannot open the ", what));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The frame number of an annotation file name "NNNNN.json.gz", or nullopt.
std::optional<int> frame_of_file_name(const std::string& file_name) {
  static const std::regex pattern(R"(^(\d{1,9})\.json\.gz$)");
  std::smatch match;
  if (!std::regex_match(file_name, match, pattern)) return std::nullopt;
  return std::stoi(match[1].str());
}

std::string frame_name(int frame) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%05d", frame);
  return buffer;
}

// One problem per clip summarising the gaps of its frame numbering.
void report_frame_gaps(const ClipInfo& clip, std::vector<DataProblem>& problems) {
  std::vector<std::string> gaps;
  int64_t missing = 0;
  for (size_t i = 1; i < clip.frames.size(); ++i) {
    const int previous = clip.frames[i - 1], current = clip.frames[i];
    if (current == previous + 1) continue;
    missing += current - previous - 1;
    if (gaps.size() < 5) {
      gaps.push_back(current == previous + 2
                         ? frame_name(previous + 1)
                         : frame_name(previous + 1) + ".." + frame_name(current - 1));
    }
  }
  if (!clip.frames.empty() && clip.frames.front() != 0) {
    problems.push_back({clip.path + "/anno",
                        concat("frames start at ", frame_name(clip.frames.front()),
                               ", not 00000")});
  }
  if (missing == 0) return;
  std::string list;
  for (const std::string& gap : gaps) list += (list.empty() ? "" : ", ") + gap;
  problems.push_back({clip.path + "/anno",
                      concat(missing, " frame(s) missing from the numbering: ", list,
                             gaps.size() < 5 ? "" : ", ...")});
}

std::vector<std::string> names_from_json(const nlohmann::json& value, const std::string& path,
                                         const char* what) {
  std::vector<std::string> names;
  if (value.is_array()) {
    for (const auto& element : value) {
      if (!element.is_string()) throw DataError(concat(path, ": ", what, " holds a non-string"));
      names.push_back(clip_name_of(element.get<std::string>()));
    }
  } else if (value.is_object()) {
    for (const auto& item : value.items()) names.push_back(clip_name_of(item.key()));
  } else {
    throw DataError(concat(path, ": ", what, " is neither a list nor an object"));
  }
  return names;
}

}  // namespace

bool ClipInfo::has_frame(int frame) const {
  return std::binary_search(frames.begin(), frames.end(), frame);
}

ClipInfo parse_clip_name(const std::string& name) {
  static const std::regex pattern(
      R"(^([A-Za-z0-9]+)_(Town\d+(?:HD)?)_Route(\d+)_Weather(\d+)$)");
  ClipInfo info;
  info.name = name;
  info.scenario = name;
  std::smatch match;
  if (std::regex_match(name, match, pattern)) {
    try {
      info.route = std::stoi(match[3].str());
      info.weather = std::stoi(match[4].str());
      info.scenario = match[1].str();
      info.town = match[2].str();
      info.name_parsed = true;
    } catch (const std::out_of_range&) {
      info.route = info.weather = -1;  // digits beyond int: keep the name unparsed
    }
  }
  return info;
}

Split parse_split(const std::string& name) {
  if (name == "all") return Split::all;
  if (name == "train") return Split::train;
  if (name == "val") return Split::val;
  throw ConfigError(concat("unknown split '", name, "' (expected all, train or val)"));
}

const char* to_string(Split split) {
  switch (split) {
    case Split::all: return "all";
    case Split::train: return "train";
    case Split::val: return "val";
  }
  return "unknown";
}

std::vector<std::string> read_split_val_list(const std::string& path) {
  const std::string text = read_text_file(path, "split file");
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw DataError(concat(path, ": bad JSON in the split file: ", e.what()));
  }
  if (!root.is_object() || !root.contains("val")) {
    throw DataError(concat(path, ": a split file is {\"val\": [clip, ...]}; no \"val\" key found"));
  }
  return names_from_json(root.at("val"), path, "\"val\"");
}

std::vector<std::string> read_clip_list(const std::string& path) {
  const std::string text = read_text_file(path, "clip list");
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (text[first] == '[' || text[first] == '{')) {
    try {
      return names_from_json(nlohmann::json::parse(text), path, "the clip list");
    } catch (const nlohmann::json::exception& e) {
      throw DataError(concat(path, ": bad JSON in the clip list: ", e.what()));
    }
  }
  std::vector<std::string> names;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    const size_t begin = line.find_first_not_of(" \t\r");
    const size_t end = line.find_last_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    names.push_back(clip_name_of(line.substr(begin, end - begin + 1)));
  }
  return names;
}

ClipIndex ClipIndex::scan(const std::string& root) {
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    throw DataError(concat(root, ": dataset root does not exist or is not a folder"));
  }
  ClipIndex index;
  index.root_ = root;
  std::vector<fs::path> folders;
  for (const fs::directory_entry& entry : fs::directory_iterator(root, error)) {
    if (entry.is_directory(error)) folders.push_back(entry.path());
  }
  if (error) throw DataError(concat(root, ": cannot list the dataset root: ", error.message()));
  std::sort(folders.begin(), folders.end());
  for (const fs::path& folder : folders) {
    const std::string name = folder.filename().string();
    const fs::path anno = folder / "anno";
    if (!fs::is_directory(anno, error)) {
      if (parse_clip_name(name).name_parsed) {
        index.problems_.push_back({folder.string(), "clip folder without an anno/ folder"});
      }
      continue;
    }
    ClipInfo clip = parse_clip_name(name);
    clip.path = folder.string();
    if (!clip.name_parsed) {
      index.problems_.push_back(
          {clip.path, "clip name does not follow <Scenario>_<Town>_Route<n>_Weather<n>; "
                      "kept with scenario = the whole name"});
    }
    for (const fs::directory_entry& file : fs::directory_iterator(anno, error)) {
      const std::string file_name = file.path().filename().string();
      const std::optional<int> frame = frame_of_file_name(file_name);
      if (frame) {
        clip.frames.push_back(*frame);
      } else {
        index.problems_.push_back({file.path().string(), "not an annotation file name (NNNNN.json.gz)"});
      }
    }
    if (error) {
      index.problems_.push_back({anno.string(), "cannot list: " + error.message()});
      error.clear();
    }
    std::sort(clip.frames.begin(), clip.frames.end());
    clip.frames.erase(std::unique(clip.frames.begin(), clip.frames.end()), clip.frames.end());
    if (clip.frames.empty()) {
      index.problems_.push_back({anno.string(), "no annotation files"});
    }
    report_frame_gaps(clip, index.problems_);
    index.clips_.push_back(std::move(clip));
  }
  return index;
}

const ClipInfo& ClipIndex::clip(const std::string& name) const {
  for (const ClipInfo& info : clips_) {
    if (info.name == name) return info;
  }
  throw DataError(concat("clip '", name, "' is not under ", root_));
}

bool ClipIndex::contains(const std::string& name) const {
  return std::any_of(clips_.begin(), clips_.end(),
                     [&](const ClipInfo& info) { return info.name == name; });
}

ClipIndex ClipIndex::select(Split split, const std::string& split_file,
                            const std::string& clip_list) const {
  ClipIndex selected;
  selected.root_ = root_;
  selected.problems_ = problems_;
  const auto report_absent = [&](const std::vector<std::string>& names, const std::string& file,
                                 const char* what) {
    std::vector<std::string> absent;
    for (const std::string& name : names) {
      if (!contains(name)) absent.push_back(name);
    }
    if (absent.empty()) return;
    std::string list;
    for (size_t i = 0; i < absent.size() && i < 3; ++i) list += (i ? ", " : "") + absent[i];
    selected.problems_.push_back(
        {file, concat(what, " names ", absent.size(), " clip(s) not under ", root_, ": ", list,
                      absent.size() > 3 ? ", ..." : "")});
  };

  std::set<std::string> val;
  if (split != Split::all) {
    if (split_file.empty()) {
      throw ConfigError(concat("split '", to_string(split),
                               "' needs a split file (data.split_file / --split-file)"));
    }
    const std::vector<std::string> names = read_split_val_list(split_file);
    val.insert(names.begin(), names.end());
    report_absent(names, split_file, "the split file");
  }
  std::set<std::string> listed;
  if (!clip_list.empty()) {
    const std::vector<std::string> names = read_clip_list(clip_list);
    listed.insert(names.begin(), names.end());
    report_absent(names, clip_list, "the clip list");
  }
  std::vector<std::string> excluded_paths;
  for (const ClipInfo& info : clips_) {
    const bool in_val = val.count(info.name) > 0;
    const bool keep = !(split == Split::val && !in_val) && !(split == Split::train && in_val) &&
                      (clip_list.empty() || listed.count(info.name) > 0);
    if (keep) {
      selected.clips_.push_back(info);
    } else {
      excluded_paths.push_back(info.path);
    }
  }
  // Problems inside clips left out of the selection are not the selection's problems.
  const auto inside_excluded = [&](const DataProblem& problem) {
    return std::any_of(excluded_paths.begin(), excluded_paths.end(), [&](const std::string& path) {
      return problem.path == path || problem.path.rfind(path + "/", 0) == 0;
    });
  };
  selected.problems_.erase(
      std::remove_if(selected.problems_.begin(), selected.problems_.end(), inside_excluded),
      selected.problems_.end());
  return selected;
}

int64_t ClipIndex::num_frames() const {
  int64_t total = 0;
  for (const ClipInfo& info : clips_) total += static_cast<int64_t>(info.frames.size());
  return total;
}

}  // namespace rsd::data
