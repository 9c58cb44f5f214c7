#include "rsd/util/run_directory.h"

#include <ctime>
#include <filesystem>

#include "rsd/util/error.h"

namespace rsd {

RunDirectory RunDirectory::open(const std::string& root, const std::string& name,
                                bool reuse_existing) {
  namespace fs = std::filesystem;
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    throw ConfigError("run name '" + name + "' must be a non-empty folder name without '/'");
  }
  const fs::path path = fs::path(root) / name;
  std::error_code ec;
  if (fs::exists(path, ec) && !reuse_existing) {
    throw Error("run directory " + path.string() +
                " exists already: resume it (--resume) or choose another run.name");
  }
  fs::create_directories(path / "checkpoints", ec);
  if (ec) throw Error("cannot create run directory " + path.string() + ": " + ec.message());
  return RunDirectory(path.string());
}

std::string RunDirectory::default_name(const std::string& config_path) {
  const std::string stem = std::filesystem::path(config_path).stem().string();
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  return (stem.empty() ? std::string("run") : stem) + "-" + stamp;
}

}  // namespace rsd
