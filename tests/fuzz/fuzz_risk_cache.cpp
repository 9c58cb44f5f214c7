// The risk cache readers: RiskCacheFile::read (the whole file) and RiskCacheReader (training's
// lazy reader: header and frame index at open, each frame's map and record read by offset).
// RSD_FUZZ_WRITE_SEED=<folder> writes a real cache file there (two frames, one failed) and exits.
#include <torch/torch.h>

#include "fuzz_input.h"
#include "fuzz_torch.h"
#include "rsd/teacher/risk_cache.h"
#include "rsd/teacher/risk_cache_reader.h"
#include "rsd/util/error.h"

namespace {

using rsd::GridSpec;
namespace teacher = rsd::teacher;

GridSpec fuzz_grid() { return GridSpec({-4.0, 4.0, 1.0}, {-4.0, 4.0, 1.0}, {-5.0, 3.0, 8.0}); }

void write_seed(const std::string& folder) {
  teacher::RiskCacheHeader header(fuzz_grid());
  header.complete = true;
  header.clip = "Fuzz_Town01_Route1_Weather1";
  header.teacher = {"rule", "rule-v1", "", {{"rule.ttc_critical_s", "1.5"}}, true};
  header.settings = {{"teacher.rule.ttc_critical_s", "1.5"}, {"grid.x", "[-4, 4, 1]"}};
  header.created = "2026-01-31T12:00:00Z";
  header.librsd_version = "0.1.0";
  teacher::RiskCacheFile file(header);

  teacher::CachedFrame ok;
  ok.frame = 0;
  ok.map = torch::rand({8, 8});
  teacher::CachedObject object;
  object.risk = {"42", 0.75, "crossing the ego path in 1.4 s"};
  object.center = Eigen::Vector3d(3.0, -1.0, 0.5);
  object.size = Eigen::Vector3d(4.5, 1.9, 1.5);
  object.yaw = 0.3;
  ok.objects.push_back(object);
  ok.unmatched.push_back({"id 7", 0.5, "parked", "no such id"});
  ok.answer_excerpt = "[{\"id\": \"42\", \"score\": 0.75}]";
  file.add(ok);

  teacher::CachedFrame failed;
  failed.frame = 1;
  failed.status = teacher::JudgementStatus::failed;
  failed.error = "timeout after 3 attempts";
  failed.attempts = 3;
  file.add(failed);

  std::filesystem::create_directories(folder);
  file.write(folder + "/seed" + teacher::kRiskCacheExtension);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return rsd::fuzz::initialize_torch_harness(write_seed);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string folder = rsd::fuzz::scratch_dir() + "/cache";
  static const bool made = std::filesystem::create_directories(folder);
  (void)made;
  const std::string clip = "Fuzz_Town01_Route1_Weather1";
  const std::string path = folder + "/" + clip + teacher::kRiskCacheExtension;
  rsd::fuzz::write_input(path, data, size);
  const GridSpec grid = fuzz_grid();

  std::vector<int> frames = {0, 1, 2};
  try {
    const teacher::RiskCacheFile file = teacher::RiskCacheFile::read(path, &grid);
    for (const teacher::CachedFrame& frame : file.frames()) frames.push_back(frame.frame);
    file.serialize();
  } catch (const rsd::Error&) {
  }
  try {
    teacher::RiskCacheFile::read_header(path);
  } catch (const rsd::Error&) {
  }
  try {
    teacher::RiskCacheReaderOptions options;
    options.check = teacher::RiskCacheCheck::off;
    const teacher::RiskCacheReader reader(folder, grid, options);
    for (const std::string& name : reader.clips()) {
      reader.header(name);
      for (const int frame : frames) {
        reader.risk_map(name, frame);
        reader.frame_record(name, frame);
      }
    }
  } catch (const rsd::Error&) {
  }
  return 0;
}
