#include "rsd/data/dataset.h"

#include <Eigen/LU>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>

#include "data/camera_image.h"
#include "data/matrix_tensor.h"
#include "rsd/data/frame_sample.h"
#include "rsd/data/frame_reader.h"
#include "rsd/util/error.h"
#include "rsd/util/logging.h"
#include "rsd/util/seed.h"

namespace rsd::data {
namespace {

using rsd::detail::concat;

// Stream tag of the augmentation draws, so that other decisions seeded from (seed, epoch, index)
// never share them.
constexpr uint64_t kAugmentationStream = 0x617567;  // "aug"

using detail::write_matrix;

bool inside_bev(const GridSpec& grid, const Eigen::Vector3d& p) {
  return grid.x().cell_of(p.x()) >= 0 && grid.y().cell_of(p.y()) >= 0;
}

}  // namespace

SampleDataset::~SampleDataset() = default;

struct Bench2DriveDataset::Impl {
  Impl(DatasetOptions options_in, ClipIndex clips_in, std::shared_ptr<const RiskTargetSource> risk_in)
      : options(std::move(options_in)),
        clips(std::move(clips_in)),
        reader(options.cameras),
        risk(std::move(risk_in)) {}

  DatasetOptions options;
  ClipIndex clips;
  FrameReader reader;
  std::shared_ptr<const RiskTargetSource> risk;
  std::vector<Item> items;
  // Ego poses by clip and position in ClipInfo::frames, read once (trajectories of every sample
  // need 10 of them).
  mutable std::mutex pose_mutex;
  mutable std::vector<std::vector<std::optional<Eigen::Matrix4d>>> poses;
  mutable std::atomic<int64_t> skipped{0};

  Eigen::Matrix4d pose(int64_t clip_index, int frame) const {
    const ClipInfo& clip = clips.clips()[static_cast<size_t>(clip_index)];
    const size_t position = static_cast<size_t>(
        std::lower_bound(clip.frames.begin(), clip.frames.end(), frame) - clip.frames.begin());
    {
      std::lock_guard<std::mutex> lock(pose_mutex);
      const auto& cached = poses[static_cast<size_t>(clip_index)][position];
      if (cached) return *cached;
    }
    const Eigen::Matrix4d ego2world = reader.read_ego_pose(clip, frame);
    std::lock_guard<std::mutex> lock(pose_mutex);
    poses[static_cast<size_t>(clip_index)][position] = ego2world;
    return ego2world;
  }

  // Positions of the ego at frame + sign * step * (k + 1), k < steps, in the augmented ego frame.
  void trajectory(int64_t clip_index, int frame, const Eigen::Matrix4d& world2ego,
                  const BevAugmentation& augmentation, int64_t steps, int sign,
                  torch::Tensor& waypoints, torch::Tensor& mask) const {
    const ClipInfo& clip = clips.clips()[static_cast<size_t>(clip_index)];
    waypoints = torch::zeros({steps, 2}, torch::kFloat32);
    mask = torch::zeros({steps}, torch::kBool);
    float* w = waypoints.data_ptr<float>();
    bool* m = mask.data_ptr<bool>();
    for (int64_t k = 0; k < steps; ++k) {
      const int other = frame + sign * static_cast<int>(options.step_frames * (k + 1));
      if (!clip.has_frame(other)) continue;
      const Eigen::Vector3d position = (world2ego * pose(clip_index, other)).topRightCorner<3, 1>();
      const Eigen::Vector3d augmented = augmentation.point(position);
      w[2 * k] = static_cast<float>(augmented.x());
      w[2 * k + 1] = static_cast<float>(augmented.y());
      m[k] = true;
    }
  }

  Sample build(int64_t index, int64_t epoch) const {
    const Item item = items[static_cast<size_t>(index)];
    const ClipInfo& clip = clips.clips()[static_cast<size_t>(item.clip)];
    const Frame frame = reader.read(clip, item.frame);
    {
      std::lock_guard<std::mutex> lock(pose_mutex);
      const size_t position = static_cast<size_t>(
          std::lower_bound(clip.frames.begin(), clip.frames.end(), item.frame) - clip.frames.begin());
      poses[static_cast<size_t>(item.clip)][position] = frame.ego2world;
    }
    std::mt19937_64 rng = make_rng(options.seed, {kAugmentationStream, static_cast<uint64_t>(epoch),
                                                  static_cast<uint64_t>(index)});
    const BevAugmentation augmentation =
        options.augment ? BevAugmentation::sample(options.bev_augment, rng) : BevAugmentation{};
    const Eigen::Matrix4d bev_matrix = augmentation.matrix();

    Sample sample;
    sample.clip = clip.name;
    sample.frame = item.frame;
    const int64_t cameras = static_cast<int64_t>(frame.cameras.size());
    const int64_t height = options.image_height, width = options.image_width;
    sample.images = torch::empty({cameras, 3, height, width}, torch::kFloat32);
    sample.intrinsics = torch::empty({cameras, 3, 3}, torch::kFloat32);
    sample.img_aug = torch::empty({cameras, 3, 3}, torch::kFloat32);
    sample.cam2ego = torch::empty({cameras, 4, 4}, torch::kFloat32);
    for (int64_t n = 0; n < cameras; ++n) {
      const Camera& camera = frame.cameras[static_cast<size_t>(n)];
      const detail::ImagePlacement placement = detail::place_image(
          camera.width, camera.height, static_cast<int>(width), static_cast<int>(height),
          options.augment ? &options.image_augment : nullptr, options.augment ? &rng : nullptr);
      detail::load_network_image(camera.image_path, camera.width, camera.height, placement,
                                 static_cast<int>(width), static_cast<int>(height),
                                 sample.images[n].data_ptr<float>());
      write_matrix(camera.intrinsics, sample.intrinsics[n].data_ptr<float>());
      write_matrix(placement.img_aug, sample.img_aug[n].data_ptr<float>());
      write_matrix(Eigen::Matrix4d(bev_matrix * camera.cam2ego), sample.cam2ego[n].data_ptr<float>());
    }
    sample.bev_aug = torch::empty({4, 4}, torch::kFloat32);
    write_matrix(bev_matrix, sample.bev_aug.data_ptr<float>());

    sample.ego_status = ego_status_tensor(augmentation.ego_status(frame.ego));
    sample.command = static_cast<int64_t>(augmentation.command(frame.command));

    const Eigen::Matrix4d world2ego = frame.ego2world.inverse();
    trajectory(item.clip, item.frame, world2ego, augmentation, options.future_steps, +1,
               sample.future_waypoints, sample.future_mask);
    trajectory(item.clip, item.frame, world2ego, augmentation, options.past_steps, -1,
               sample.past_waypoints, sample.past_mask);

    std::vector<Box> kept;
    for (const Box& box : frame.boxes) {
      Box augmented = augmentation.box(box);
      if (inside_bev(options.grid, augmented.center)) kept.push_back(std::move(augmented));
    }
    const int64_t count = static_cast<int64_t>(kept.size());
    sample.boxes = torch::empty({count, kBoxDim}, torch::kFloat32);
    sample.box_classes = torch::empty({count}, torch::kInt64);
    float* b = sample.boxes.data_ptr<float>();
    int64_t* classes = sample.box_classes.data_ptr<int64_t>();
    for (int64_t i = 0; i < count; ++i) {
      const Box& box = kept[static_cast<size_t>(i)];
      const double values[kBoxDim] = {box.center.x(), box.center.y(), box.center.z(),
                                      box.size.x(),   box.size.y(),   box.size.z(),
                                      box.yaw,        box.velocity.x(), box.velocity.y()};
      for (int64_t f = 0; f < kBoxDim; ++f) b[i * kBoxDim + f] = static_cast<float>(values[f]);
      classes[i] = static_cast<int64_t>(box.object_class);
      sample.box_ids.push_back(box.id);
    }

    sample.risk_target = torch::zeros({options.grid.ny(), options.grid.nx()}, torch::kFloat32);
    if (risk) {
      torch::Tensor map = risk->risk_map(clip.name, item.frame);
      if (map.defined()) {
        if (map.dim() != 2 || map.size(0) != options.grid.ny() || map.size(1) != options.grid.nx()) {
          throw DataError(concat("risk target of clip ", clip.name, " frame ", item.frame,
                                 " has shape ", map.sizes(), ", expected (", options.grid.ny(),
                                 ", ", options.grid.nx(), ") for grid ", options.grid.to_string()));
        }
        sample.risk_target =
            augmentation.heatmap(map.to(torch::kCPU, torch::kFloat32).contiguous(), options.grid);
        sample.risk_mask = true;
      }
    }
    return sample;
  }
};

Bench2DriveDataset::Bench2DriveDataset(DatasetOptions options,
                                       std::shared_ptr<const RiskTargetSource> risk)
    : Bench2DriveDataset(options,
                         ClipIndex::scan(options.root)
                             .select(options.split, options.split_file, options.clip_list),
                         std::move(risk)) {}

Bench2DriveDataset::Bench2DriveDataset(DatasetOptions options, ClipIndex clips,
                                       std::shared_ptr<const RiskTargetSource> risk)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(clips), std::move(risk))) {
  const DatasetOptions& o = impl_->options;
  if (o.image_height < 1 || o.image_width < 1) {
    throw ConfigError(concat("network image size ", o.image_width, "x", o.image_height, " is empty"));
  }
  if (impl_->risk && impl_->risk->grid() != o.grid) {
    throw DataError(concat("the risk targets were rasterised on grid ",
                           impl_->risk->grid().to_string(), " but data.grid is ",
                           o.grid.to_string(), "; rebuild the risk cache for this grid"));
  }
  const auto& clip_list = impl_->clips.clips();
  impl_->poses.resize(clip_list.size());
  for (size_t c = 0; c < clip_list.size(); ++c) {
    impl_->poses[c].resize(clip_list[c].frames.size());
    for (const int frame : clip_list[c].frames) {
      impl_->items.push_back({static_cast<int64_t>(c), frame});
    }
  }
  for (const DataProblem& problem : impl_->clips.problems()) {
    logging::warn(concat("dataset: ", problem.path, ": ", problem.message));
  }
  if (impl_->items.empty()) {
    logging::warn(concat("dataset: no frames in split '", to_string(o.split), "' of ",
                         impl_->clips.root()));
  }
}

Bench2DriveDataset::~Bench2DriveDataset() = default;

int64_t Bench2DriveDataset::size() const { return static_cast<int64_t>(impl_->items.size()); }

Sample Bench2DriveDataset::get(int64_t index, int64_t epoch) const {
  RSD_CHECK(index >= 0 && index < size(), "sample index ", index, " outside [0, ", size(), ")");
  const auto context = [&](int64_t i) {
    const Item item = impl_->items[static_cast<size_t>(i)];
    return concat("clip ", impl_->clips.clips()[static_cast<size_t>(item.clip)].name, " frame ",
                  item.frame, ": ");
  };
  if (impl_->options.on_bad_frame == BadFramePolicy::error) {
    try {
      return impl_->build(index, epoch);
    } catch (const DataError& e) {
      throw DataError(context(index) + e.what());
    }
  }
  for (int64_t attempt = 0; attempt < size(); ++attempt) {
    const int64_t candidate = (index + attempt) % size();
    try {
      return impl_->build(candidate, epoch);
    } catch (const DataError& e) {
      const int64_t skipped = ++impl_->skipped;
      logging::warn(concat("dataset: skipping a bad frame (", skipped, " so far): ",
                           context(candidate), e.what()));
    }
  }
  throw DataError(concat("dataset: every sample of ", impl_->clips.root(), " failed to load"));
}

Bench2DriveDataset::Item Bench2DriveDataset::item(int64_t index) const {
  RSD_CHECK(index >= 0 && index < size(), "sample index ", index, " outside [0, ", size(), ")");
  return impl_->items[static_cast<size_t>(index)];
}

const ClipIndex& Bench2DriveDataset::clips() const { return impl_->clips; }

const DatasetOptions& Bench2DriveDataset::options() const { return impl_->options; }

int64_t Bench2DriveDataset::skipped() const { return impl_->skipped.load(); }

}  // namespace rsd::data
