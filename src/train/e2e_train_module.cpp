#include "rsd/train/e2e_train_module.h"

#include <utility>

namespace rsd::train {

template class Trainer<data::Batch>;

E2ETrainModule::E2ETrainModule(model::E2EModel model, E2ELoss loss, E2ETrainModuleOptions options)
    : model_(std::move(model)), loss_(std::move(loss)), options_(options) {
  RSD_CHECK(!model_.is_empty(), "E2ETrainModule needs a model");
}

StepResult E2ETrainModule::training_step(const data::Batch& batch) {
  LossTerms terms = loss_(model_->forward(batch), batch);
  return {std::move(terms.total), std::move(terms.terms)};
}

std::vector<ParamGroup> E2ETrainModule::param_groups() {
  ParamGroup backbone{"image_encoder", {}, options_.backbone_lr_mult};
  ParamGroup rest{"rest", {}, 1.0};
  for (const auto& item : model_->named_parameters()) {
    ParamGroup& group = item.key().rfind("image_encoder.", 0) == 0 ? backbone : rest;
    group.parameters.push_back(item.value());
  }
  return {std::move(backbone), std::move(rest)};
}

}  // namespace rsd::train
