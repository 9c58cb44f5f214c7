// Where the training samples get their risk targets from: one BEV risk map per (clip, frame),
// produced offline by a risk teacher and cached (the teacher area implements this interface over its
// risk cache; the data area only reads through it).
#pragma once

#include <torch/types.h>

#include <string>

#include "rsd/geometry/grid_spec.h"

namespace rsd::data {

/// A read-only source of BEV risk maps.
///
/// Thread safety: risk_map() is called concurrently from the loader's worker threads, so it must
/// be safe to call from several threads at once (const and internally synchronised).
///
/// Frame: the maps live on grid() in the UN-augmented right-handed ego frame of the frame they
/// belong to (x forward, y left, z up); the dataset applies the BEV augmentation itself.
class RiskTargetSource {
 public:
  virtual ~RiskTargetSource();

  /// The grid the maps are rasterised on. The dataset refuses a source whose grid differs from the
  /// configured data.grid (rsd::DataError naming both grids).
  virtual const GridSpec& grid() const = 0;

  /// float (Y, X) = (grid().ny(), grid().nx()) with values in [0, 1] on grid(), row iy <-> y and
  /// column ix <-> x as every BEV tensor; or an undefined tensor when (clip, frame) has no teacher
  /// label (the sample then gets risk_mask = false). `clip` is the clip folder name
  /// (ClipInfo::name), `frame` the frame number (the NNNNN of its files). Throws rsd::DataError
  /// naming the cache file when the stored label is unreadable.
  virtual torch::Tensor risk_map(const std::string& clip, int frame) const = 0;
};

}  // namespace rsd::data
