// Uses rsd::core through its installed headers and package only, as a user adding RSD to another
// stack does: voxel pooling against a hand-computed sum, RiskHead + the distillation loss with a
// gradient step, the risk cache reader's error for a missing folder, and the logging sink.
#include <rsd/geometry/grid_spec.h>
#include <rsd/model/risk_head.h>
#include <rsd/model/risk_loss.h>
#include <rsd/ops/voxel_pool.h>
#include <rsd/teacher/risk_cache_reader.h>
#include <rsd/util/error.h>
#include <rsd/util/logging.h>
#include <rsd/version.h>
#include <torch/torch.h>

#include <iostream>
#include <string>

int main() {
  try {
    RSD_CHECK(rsd::version() == std::string(RSD_VERSION_STRING), "header and library versions differ");
    const rsd::GridSpec grid({-4.0, 4.0, 1.0}, {-4.0, 4.0, 1.0}, {-2.0, 2.0, 4.0});  // 8 x 8 x 1

    // Two frustum points of one pixel in cell (y=5, x=4), one outside the grid.
    torch::Tensor points = torch::zeros({1, 1, 3, 1, 1, 3});
    points[0][0][0][0][0] = torch::tensor({0.5, 1.5, 0.0});
    points[0][0][1][0][0] = torch::tensor({0.25, 1.25, 0.5});
    points[0][0][2][0][0] = torch::tensor({9.0, 0.0, 0.0});
    const torch::Tensor depth = torch::tensor({0.5, 0.25, 0.25}).view({1, 1, 3, 1, 1});
    const torch::Tensor feat = torch::tensor({2.0, -4.0}).view({1, 1, 1, 1, 2});
    const auto index = rsd::ops::build_voxel_pool_index(points, grid);
    const torch::Tensor bev = rsd::ops::voxel_pool(depth, feat, index);
    RSD_CHECK(bev.sizes() == torch::IntArrayRef({1, 2, 8, 8}), "pooled shape ", bev.sizes());
    RSD_CHECK(index.kept() == 2, "kept ", index.kept(), " points, expected 2");
    // (0.5 + 0.25) * feat, everything else zero.
    RSD_CHECK(bev[0][0][5][4].item<float>() == 1.5f && bev[0][1][5][4].item<float>() == -3.0f,
              "pooled values ", bev[0][0][5][4].item<float>(), ", ", bev[0][1][5][4].item<float>());
    RSD_CHECK(bev.abs().sum().item<float>() == 4.5f, "values outside the cell");

    // RiskHead on BEV features + the L1 distillation loss: one step lowers the loss.
    torch::manual_seed(0);
    rsd::model::RiskHead head = rsd::model::make_risk_head(rsd::model::RiskHeadOptions(8, grid));
    rsd::model::RiskDistillationLoss loss;
    const torch::Tensor features = torch::randn({2, 8, 8, 8});
    const torch::Tensor target = torch::zeros({2, 1, 8, 8});
    const torch::Tensor mask = torch::ones({2}, torch::kBool);
    torch::optim::SGD optimizer(head->parameters(), torch::optim::SGDOptions(0.5));
    const torch::Tensor before = loss(head(features), target, mask);
    optimizer.zero_grad();
    before.backward();
    optimizer.step();
    const torch::Tensor after = loss(head(features), target, mask);
    RSD_CHECK(after.item<double>() < before.item<double>(), "the distillation loss did not fall: ",
              before.item<double>(), " -> ", after.item<double>());

    // Library messages reach the program's sink; a missing cache folder is a DataError naming it.
    std::string logged;
    rsd::logging::set_sink({[&](rsd::logging::Level, const std::string& m) { logged += m; }, {}});
    bool named = false;
    try {
      rsd::teacher::RiskCacheReader reader("/nonexistent/risk_cache", grid);
    } catch (const rsd::DataError& e) {
      named = std::string(e.what()).find("/nonexistent/risk_cache") != std::string::npos;
    }
    RSD_CHECK(named, "a missing risk cache folder was not refused with its name");
    rsd::logging::warn("to the sink");
    RSD_CHECK(logged.find("to the sink") != std::string::npos, "the sink got nothing");

    std::cout << rsd::build_summary() << ": core consumer OK\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "core consumer failed: " << e.what() << "\n";
    return 1;
  }
}
