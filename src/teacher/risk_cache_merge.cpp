#include "rsd/teacher/risk_cache_merge.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "rsd/util/error.h"
#include "rsd/util/fs.h"

namespace rsd::teacher {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Refuses a file that is not a finished cache of the current settings.
void check_current(const std::string& path, const RiskCacheBuilder& builder) {
  const RiskCacheHeader header = RiskCacheFile::read_header(path);
  const std::string difference = settings_difference(header.settings, builder.settings());
  if (!difference.empty()) {
    throw DataError("cannot merge " + path + ": it was made with other settings than this " +
                    "config's (stale): " + difference + "; rebuild that clip or leave it out");
  }
  if (!header.complete) {
    throw DataError("cannot merge " + path + ": it is marked unfinished; run its shard again");
  }
}

bool same_bytes(const std::string& a, const std::string& b) { return read_file(a) == read_file(b); }

}  // namespace

RiskCacheMergeReport merge_risk_caches(const RiskCacheBuilder& builder,
                                       const std::vector<std::string>& inputs) {
  RiskCacheMergeReport report;
  report.output_dir = builder.options().output_dir;
  if (inputs.empty()) throw DataError("merge: no input folders given");
  // File name -> the input file it comes from. Only paths are kept (the full set is thousands of
  // caches); bytes are read where two files must be compared, then once more to copy.
  std::map<std::string, std::string> by_clip;
  for (const auto& input : inputs) {
    std::error_code ec;
    if (!fs::is_directory(input, ec)) throw DataError("merge: input folder " + input + " does not exist");
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(input)) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const std::string name = file.filename().string();
      if (ends_with(name, kRiskCachePartialExtension)) {
        throw DataError("cannot merge " + file.string() + ": the shard that writes it has not " +
                        "finished that clip; run it again (it resumes), then merge");
      }
      if (!ends_with(name, kRiskCacheExtension)) continue;
      check_current(file.string(), builder);
      const auto [it, inserted] = by_clip.try_emplace(name, file.string());
      if (!inserted && !same_bytes(it->second, file.string())) {
        throw DataError("cannot merge: " + it->second + " and " + file.string() +
                        " are different caches of the same clip; delete the wrong one");
      }
    }
  }
  // Against the output, before anything is written.
  std::vector<const std::pair<const std::string, std::string>*> to_copy;
  for (const auto& entry : by_clip) {
    const std::string target = (fs::path(report.output_dir) / entry.first).string();
    std::error_code ec;
    if (fs::exists(target, ec)) {
      if (same_bytes(target, entry.second)) {
        ++report.already_present;
        continue;
      }
      throw DataError("cannot merge " + entry.second + ": the output already holds a " +
                      "different cache of that clip, " + target + "; delete one of them");
    }
    to_copy.push_back(&entry);
  }
  for (const auto* entry : to_copy) {
    write_file_atomic((fs::path(report.output_dir) / entry->first).string(), read_file(entry->second));
    ++report.copied;
  }
  return report;
}

}  // namespace rsd::teacher
