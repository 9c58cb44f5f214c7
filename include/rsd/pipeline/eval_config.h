// Config -> the evaluator's options (configs/base/eval.yaml with the data, model and run keys it
// depends on).
#pragma once

#include "rsd/config/config.h"
#include "rsd/eval/evaluator.h"

namespace rsd::pipeline {

/// eval.* with the grid, waypoint steps, cameras and root of data.* (the agents' annotated
/// futures are read from the clips there), the detection classes and decoding of
/// model.detection_head.* and run.progress. Throws rsd::ConfigError naming the key for invalid
/// values (a horizon that is not a whole number of waypoint steps, an unknown picture camera).
eval::EvaluatorOptions evaluator_options_from(const Config& config);

}  // namespace rsd::pipeline
