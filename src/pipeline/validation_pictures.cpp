#include "rsd/pipeline/validation_pictures.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "rsd/eval/evaluator.h"
#include "rsd/pipeline/data_sources.h"
#include "rsd/pipeline/eval_config.h"
#include "rsd/util/error.h"

namespace rsd::pipeline {
namespace {

namespace fs = std::filesystem;

// A PNG file with the size and channels of its IHDR chunk, which follows the 8-byte signature:
// length, "IHDR", width, height (big-endian), bit depth, colour type.
EncodedImage read_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EncodedImage image;
  image.png.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (image.png.size() < 26 || image.png.compare(1, 3, "PNG") != 0 ||
      image.png.compare(12, 4, "IHDR") != 0) {
    throw Error("not a PNG file: " + path);
  }
  const auto big_endian = [&](std::size_t at) {
    int value = 0;
    for (std::size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(image.png[at + i]);
    return value;
  };
  image.width = big_endian(16);
  image.height = big_endian(20);
  switch (static_cast<uint8_t>(image.png[25])) {
    case 0: image.channels = 1; break;  // grey
    case 4: image.channels = 2; break;  // grey + alpha
    case 6: image.channels = 4; break;  // RGBA
    default: image.channels = 3;        // RGB or a palette
  }
  return image;
}

class ValidationPictures {
 public:
  ValidationPictures(Config config, model::E2EModel model,
                     std::shared_ptr<const data::RiskTargetSource> risk, const torch::Device& device,
                     std::string scratch_dir)
      : config_(std::move(config)),
        model_(std::move(model)),
        risk_(std::move(risk)),
        device_(device),
        scratch_dir_(std::move(scratch_dir)) {}

  TaggedImages draw() {
    if (!options_) {
      options_ = std::make_unique<eval::EvaluatorOptions>(evaluator_options_from(config_));
      options_->picture_dir = scratch_dir_;
      options_->max_batches = 1;
      options_->progress = false;
      loader_ = make_loader(config_, data::Split::val, false, 0, 1, risk_, device_);
    }
    fs::remove_all(scratch_dir_);
    fs::create_directories(scratch_dir_);
    eval::Evaluator evaluator(*options_);
    evaluator.run(model_, *loader_);
    TaggedImages images;
    for (const std::string& path : evaluator.pictures()) {
      images.emplace_back("pictures/" + fs::path(path).stem().string(), read_png(path));
    }
    fs::remove_all(scratch_dir_);
    return images;
  }

 private:
  Config config_;
  model::E2EModel model_;
  std::shared_ptr<const data::RiskTargetSource> risk_;
  torch::Device device_;
  std::string scratch_dir_;
  // Made at the first call, so that an eval section rsd_eval would refuse costs the pictures
  // only (a warning), never the training.
  std::unique_ptr<eval::EvaluatorOptions> options_;
  std::shared_ptr<data::Loader> loader_;
};

}  // namespace

std::function<TaggedImages(int64_t)> make_validation_pictures(
    const Config& config, model::E2EModel model,
    std::shared_ptr<const data::RiskTargetSource> risk, const torch::Device& device,
    std::string scratch_dir) {
  auto pictures = std::make_shared<ValidationPictures>(config, std::move(model), std::move(risk),
                                                       device, std::move(scratch_dir));
  return [pictures](int64_t) { return pictures->draw(); };
}

}  // namespace rsd::pipeline
