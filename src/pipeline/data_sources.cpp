#include "rsd/pipeline/data_sources.h"

#include <string>

#include "rsd/config/config_checks.h"
#include "rsd/data/dataset.h"
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
  return std::make_shared<teacher::RiskCacheReader>(config.get<std::string>("data.risk_cache"),
                                                    grid_spec_from(config), std::move(options));
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
