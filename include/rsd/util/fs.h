// Small file-system helpers whose behaviour the rest of librsd relies on.
#pragma once

#include <string>

namespace rsd {

/// Writes `contents` to `path` so that readers see either the old file or the whole new one, never
/// a part: a temporary file in the same directory is written, flushed to disk, then renamed over
/// `path`. Parent directories are created. Throws rsd::Error naming the path on failure.
void write_file_atomic(const std::string& path, const std::string& contents);

/// The whole file as bytes. Throws rsd::Error naming the path when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace rsd
