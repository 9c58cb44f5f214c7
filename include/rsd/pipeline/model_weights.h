// The E2E model's weights in and out of the pipeline: the model a training run starts from (random,
// model.image_encoder.pretrained, or every weight from model.init_weights, e.g. a state dict saved
// in Python), and a checkpoint's or a config's weights as a file Python's torch.load reads
// (rsd_export; docs/model.md, "Weights to and from Python").
#pragma once

#include <optional>
#include <string>

#include "rsd/config/config.h"
#include "rsd/model/e2e_model.h"
#include "rsd/model/weights.h"

namespace rsd::pipeline {

/// The model `config` describes, as a training run starts it. With model.init_weights set, every
/// parameter and buffer comes from that file (read_named_tensors formats), strictly: the file must
/// hold exactly the model's names (docs/model.md) with its shapes, else rsd::CheckpointError names
/// the file and the first names at fault. Throws rsd::ConfigError when model.init_weights and
/// model.image_encoder.pretrained are both set (the first would overwrite the second).
model::E2EModel build_e2e_model(const Config& config);

/// The parameters and buffers of the model saved in `checkpoint`, built from the config the
/// checkpoint stores (as `rsd_eval --model-from checkpoint` does). Throws rsd::CheckpointError
/// naming the file when it is unreadable, stores no config, or does not fit its config's model.
model::NamedTensors checkpoint_weights(const std::string& checkpoint);

/// "float32", "float16" or "bfloat16" -> the dtype; throws rsd::ConfigError otherwise.
torch::Dtype float_dtype_from(const std::string& name);

/// Writes, for each tensor, its name, dtype, shape and the sum of its elements (in double) as JSON
/// {"tensors": {name: {"dtype": "float32", "shape": [..], "sum": x}}}: what a reader of an exported
/// file in another tool can check it against. Written atomically.
void write_weights_manifest(const std::string& path, const model::NamedTensors& tensors);

}  // namespace rsd::pipeline
