#include "rsd/pipeline/data_sources.h"

#include <string>
#include <vector>

#include "rsd/config/config_checks.h"
#include "rsd/data/dataset.h"
#include "rsd/data/risk_target_control.h"
#include "rsd/pipeline/data_config.h"
#include "rsd/pipeline/teacher_factory.h"
#include "rsd/teacher/risk_cache_reader.h"
#include "rsd/util/logging.h"

namespace rsd::pipeline {

std::shared_ptr<const data::RiskTargetSource> risk_source_from(const Config& config) {
  if (!config.has_value("data.risk_cache")) return nullptr;
  teacher::RiskCacheReaderOptions options;
  options.check = require_choice<teacher::RiskCacheCheck>(
      config.section("data"), "risk_cache_check",
      {{"strict", teacher::RiskCacheCheck::strict},
       {"warn", teacher::RiskCacheCheck::warn},
       {"off", teacher::RiskCacheCheck::off}});
  if (options.check != teacher::RiskCacheCheck::off) {
    options.expected_settings = risk_cache_settings_from(config);
  }
  auto reader = std::make_shared<teacher::RiskCacheReader>(
      config.get<std::string>("data.risk_cache"), grid_spec_from(config), std::move(options));
  const auto control = require_choice<data::RiskTargetControl>(
      config.section("data"), "risk_target_control",
      {{"none", data::RiskTargetControl::none},
       {"shuffle_frames", data::RiskTargetControl::shuffle_frames},
       {"permute_cells", data::RiskTargetControl::permute_cells}});
  const auto seed = static_cast<uint64_t>(config.get<int64_t>("run.seed"));
  switch (control) {
    case data::RiskTargetControl::none:
      return reader;
    case data::RiskTargetControl::shuffle_frames: {
      std::vector<data::RiskFrameKey> frames;
      for (const std::string& clip : reader->clips()) {
        for (int frame : reader->labelled_frames(clip)) frames.emplace_back(clip, frame);
      }
      logging::info("data.risk_target_control: shuffle_frames over " +
                    std::to_string(frames.size()) + " labelled frames (seed " +
                    std::to_string(seed) + ")");
      return std::make_shared<data::FrameShuffledRiskSource>(reader, std::move(frames), seed);
    }
    case data::RiskTargetControl::permute_cells:
      logging::info("data.risk_target_control: permute_cells (seed " + std::to_string(seed) + ")");
      return std::make_shared<data::CellPermutedRiskSource>(reader, seed);
  }
  return reader;
}

std::shared_ptr<data::Loader> make_loader(const Config& config, data::Split split, bool training,
                                          int64_t rank, int64_t world_size,
                                          std::shared_ptr<const data::RiskTargetSource> risk,
                                          const torch::Device& destination) {
  auto dataset = std::make_shared<data::Bench2DriveDataset>(
      dataset_options_from(config, split, training), std::move(risk));
  data::LoaderOptions options = loader_options_from(config, training, destination);
  options.rank = rank;
  options.world_size = world_size;
  logging::info(std::string(data::to_string(split)) + " split: " + std::to_string(dataset->size()) +
                " samples");
  return std::make_shared<data::Loader>(dataset, options);
}

}  // namespace rsd::pipeline
