#include "rsd/teacher/risk_cache_reader.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "risk_cache_format.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"

namespace rsd::teacher {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

RiskCacheReader::RiskCacheReader(const std::string& folder, GridSpec grid,
                                 RiskCacheReaderOptions options)
    : folder_(folder), grid_(std::move(grid)) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    throw DataError("the risk cache folder " + folder + " does not exist (data.risk_cache; " +
                    "build it with rsd_cache_risk)");
  }
  std::vector<std::string> paths;
  int partial = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (ends_with(name, kRiskCachePartialExtension)) ++partial;
    if (entry.is_regular_file() && ends_with(name, kRiskCacheExtension)) {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  const bool check_settings =
      options.check != RiskCacheCheck::off && !options.expected_settings.empty();
  std::vector<std::string> stale;  // "<path>: <how its settings differ>"
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw DataError("cannot read the risk cache " + path);
    detail::CacheIndex index = detail::read_cache_index(path, detail::stream_reader(in, path));
    detail::check_grid(index.header, grid_, path);
    if (!index.header.complete) {
      throw DataError(path + " is marked incomplete; finish it with rsd_cache_risk");
    }
    const std::string difference =
        check_settings ? settings_difference(index.header.settings, options.expected_settings) : "";
    if (!difference.empty() && options.check == RiskCacheCheck::strict) {
      throw DataError(path + " was not made with the settings of this run: " + difference +
                      ". Run rsd_cache_risk with this config (it rebuilds such clips), or set "
                      "data.risk_cache_check: warn (or off) to use the cache anyway");
    }
    if (!difference.empty()) stale.push_back(path + ": " + difference);
    ClipEntry clip{path, index.header, {}};
    for (const auto& row : index.table) {
      clip.frames[row.frame] = {static_cast<JudgementStatus>(row.status), row.map_offset,
                                row.map_bytes, row.record_offset, row.record_bytes};
    }
    const std::string name = index.header.clip;
    if (!clips_.emplace(name, std::move(clip)).second) {
      throw DataError(path + ": a second cache of clip " + name + " (also " +
                      clips_.at(name).path + ")");
    }
  }
  if (!stale.empty()) {
    logging::warn(std::to_string(stale.size()) + " of " + std::to_string(paths.size()) +
                  " risk caches in " + folder + " were not made with the settings of this run "
                  "(data.risk_cache_check: warn), e.g. " + stale.front());
  }
  if (partial > 0) {
    logging::warn(folder + ": " + std::to_string(partial) +
                  " partial risk cache(s) skipped (rsd_cache_risk did not finish them)");
  }
  logging::info("risk cache " + folder + ": " + std::to_string(clips_.size()) + " clips on grid " +
                grid_.to_string());
}

const RiskCacheReader::ClipEntry* RiskCacheReader::find_clip(const std::string& clip) const {
  const auto it = clips_.find(clip);
  return it == clips_.end() ? nullptr : &it->second;
}

namespace {

// One stream per call: the loader's workers read concurrently.
std::string read_blob(const std::string& path, uint64_t offset, uint64_t size, int frame) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot read the risk cache " + path);
  try {
    return detail::stream_reader(in, path)(offset, size);
  } catch (const Error&) {
    throw DataError(path + ": truncated at frame " + std::to_string(frame));
  }
}

}  // namespace

torch::Tensor RiskCacheReader::risk_map(const std::string& clip, int frame) const {
  const ClipEntry* entry = find_clip(clip);
  if (!entry) return {};
  const auto it = entry->frames.find(frame);
  if (it == entry->frames.end() || it->second.status != JudgementStatus::ok) return {};
  const std::string blob = read_blob(entry->path, it->second.map_offset, it->second.map_bytes, frame);
  return detail::decode_map(blob, static_cast<uint32_t>(grid_.ny()),
                            static_cast<uint32_t>(grid_.nx()), entry->path, frame);
}

std::optional<CachedFrame> RiskCacheReader::frame_record(const std::string& clip, int frame) const {
  const ClipEntry* entry = find_clip(clip);
  if (!entry) return std::nullopt;
  const auto it = entry->frames.find(frame);
  if (it == entry->frames.end()) return std::nullopt;
  const std::string blob =
      read_blob(entry->path, it->second.record_offset, it->second.record_bytes, frame);
  CachedFrame cached = detail::decode_record(blob, entry->path, frame);
  cached.status = it->second.status;
  cached.map = risk_map(clip, frame);
  return cached;
}

std::vector<std::string> RiskCacheReader::clips() const {
  std::vector<std::string> names;
  for (const auto& [name, unused] : clips_) names.push_back(name);
  return names;
}

std::vector<int> RiskCacheReader::labelled_frames(const std::string& clip) const {
  std::vector<int> frames;
  if (const ClipEntry* entry = find_clip(clip)) {
    for (const auto& [frame, found] : entry->frames) {
      if (found.status == JudgementStatus::ok) frames.push_back(frame);
    }
  }
  return frames;
}

const RiskCacheHeader& RiskCacheReader::header(const std::string& clip) const {
  const ClipEntry* entry = find_clip(clip);
  if (!entry) throw DataError("no risk cache of clip " + clip + " in " + folder_);
  return entry->header;
}

}  // namespace rsd::teacher
