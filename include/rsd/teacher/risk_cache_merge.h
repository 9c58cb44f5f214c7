// Joining the cache folders of shards written separately into one (`rsd_cache_risk merge`). Every
// input file is checked before anything is written: a file that is not a finished cache of the
// current settings (RiskCacheBuilder::settings()), an unfinished .partial file, or two different
// files for one clip (across the inputs or with the output folder) stop the merge with the
// paths named. Files are copied byte for byte, each written atomically, so the merged folder
// holds exactly the files one unsharded run writes; a clip already in the output with the same
// bytes is left alone (a merge can be repeated).
#pragma once

#include <string>
#include <vector>

#include "rsd/teacher/risk_cache_builder.h"

namespace rsd::teacher {

struct RiskCacheMergeReport {
  std::string output_dir;
  int copied = 0;           // clips written into the output
  int already_present = 0;  // clips the output held with the same bytes
};

/// Merges the caches in `inputs` into builder.options().output_dir (created when missing). Throws
/// rsd::DataError naming the files at fault (missing input folder, stale, unfinished or
/// conflicting caches); nothing is written then.
RiskCacheMergeReport merge_risk_caches(const RiskCacheBuilder& builder,
                                       const std::vector<std::string>& inputs);

}  // namespace rsd::teacher
