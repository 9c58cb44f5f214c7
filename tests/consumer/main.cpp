// Uses librsd through its installed headers and package only: config loading with an override,
// the error type, and a libtorch tensor, then checks the answers.
#include <rsd/config/config.h>
#include <rsd/util/error.h>
#include <rsd/version.h>
#include <torch/torch.h>

#include <iostream>

int main() {
  try {
    if (rsd::version() != RSD_VERSION_STRING) {
      std::cerr << "header version " << RSD_VERSION_STRING << " != library " << rsd::version() << "\n";
      return 1;
    }
    rsd::Config config = rsd::Config::defaults();
    config.apply_override("train.lr=5e-4");
    const double lr = config.get<double>("train.lr");
    RSD_CHECK(lr == 5e-4, "override not applied: ", lr);

    bool refused = false;
    try {
      config.apply_override("train.lrr=1");
    } catch (const rsd::ConfigError& e) {
      refused = std::string(e.what()).find("train.lr") != std::string::npos;
    }
    RSD_CHECK(refused, "a misspelled key was not refused with a suggestion");

    const torch::Tensor x = torch::arange(4, torch::kFloat32);
    RSD_CHECK(x.sum().item<float>() == 6.0f);
    std::cout << rsd::build_summary() << ": consumer OK\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "consumer failed: " << e.what() << "\n";
    return 1;
  }
}
