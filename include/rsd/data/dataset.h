// Training samples from Bench2Drive clips: every annotated frame of the selected clips is one
// sample (see batch.h for what a sample holds).
//
//   rsd::data::DatasetOptions options(grid);
//   options.root = "data/bench2drive";
//   auto dataset = std::make_shared<rsd::data::Bench2DriveDataset>(options, risk_source);
//   rsd::data::Loader loader(dataset, rsd::data::LoaderOptions{});
// (rsd::pipeline::dataset_options_from and loader_options_from fill them from a config.)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rsd/data/augment_options.h"
#include "rsd/data/batch.h"
#include "rsd/data/bev_augmentation.h"
#include "rsd/data/clip_index.h"
#include "rsd/data/risk_target_source.h"
#include "rsd/geometry/grid_spec.h"

namespace rsd::data {

/// What the Loader draws samples from.
class SampleDataset {
 public:
  virtual ~SampleDataset();
  virtual int64_t size() const = 0;
  /// Sample `index` (0 <= index < size()) as drawn in epoch `epoch`: random augmentation is seeded
  /// by (seed, epoch, index) only, so the result does not depend on threads or call order.
  /// Must be thread-safe.
  virtual Sample get(int64_t index, int64_t epoch) const = 0;
};

/// What to do with a frame that cannot be read (corrupt annotation or image).
enum class BadFramePolicy { error, skip };

struct DatasetOptions {
  explicit DatasetOptions(GridSpec grid) : grid(grid) {}

  std::string root;                 // folder of clip folders
  Split split = Split::all;
  std::string split_file;           // needed unless split is all
  std::string clip_list;            // optional restriction (e.g. Bench2Drive mini)
  std::vector<std::string> cameras = {"CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT",
                                      "CAM_BACK",  "CAM_BACK_LEFT",  "CAM_BACK_RIGHT"};
  int64_t image_height = 256;       // network input, pixels
  int64_t image_width = 704;
  GridSpec grid;                    // BEV range of the boxes and grid of the risk targets
  int64_t future_steps = 6;         // T
  int64_t past_steps = 4;           // P
  int64_t step_frames = 5;          // frames between waypoints (0.5 s at 10 Hz)
  bool augment = false;             // random image and BEV augmentation (training)
  ImageAugmentOptions image_augment;
  BevAugmentOptions bev_augment;
  uint64_t seed = 42;               // run.seed: the augmentation streams derive from it
  BadFramePolicy on_bad_frame = BadFramePolicy::error;
};

/// The samples of one split of a Bench2Drive root.
class Bench2DriveDataset : public SampleDataset {
 public:
  /// Scans options.root and selects the split. `risk` may be null (no risk targets: risk_mask is
  /// always false); a source whose grid() differs from options.grid is refused (rsd::DataError
  /// naming both grids).
  explicit Bench2DriveDataset(DatasetOptions options,
                              std::shared_ptr<const RiskTargetSource> risk = nullptr);
  /// Uses `clips` as given (already scanned and selected) instead of scanning options.root.
  Bench2DriveDataset(DatasetOptions options, ClipIndex clips,
                     std::shared_ptr<const RiskTargetSource> risk = nullptr);
  ~Bench2DriveDataset() override;
  Bench2DriveDataset(const Bench2DriveDataset&) = delete;
  Bench2DriveDataset& operator=(const Bench2DriveDataset&) = delete;

  int64_t size() const override;
  /// Builds sample `index` of epoch `epoch`. Throws rsd::DataError naming the clip, frame and file
  /// when something cannot be read; with on_bad_frame = skip, the next readable sample (index + 1,
  /// + 2, ... wrapping) is returned instead and the skip is logged and counted.
  Sample get(int64_t index, int64_t epoch) const override;

  /// Clip index and frame number of sample `index`.
  struct Item {
    int64_t clip = 0;
    int frame = 0;
  };
  Item item(int64_t index) const;
  const ClipIndex& clips() const;
  const DatasetOptions& options() const;
  /// Samples skipped so far under on_bad_frame = skip.
  int64_t skipped() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rsd::data
