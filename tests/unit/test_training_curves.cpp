// Training curves (rsd/eval/training_curves.h): metrics.jsonl read back with its bad lines and
// null values counted, and the PNG checked pixel by pixel against the documented value -> pixel
// mapping, computed here on its own.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "rsd/eval/training_curves.h"
#include "rsd/util/error.h"
#include "rsd/util/metrics_writer.h"
#include "support/temp_dir.h"

namespace {

using rsd::eval::CurvePanel;
using rsd::eval::CurvePlotOptions;
using rsd::eval::TrainingLog;

// The documented defaults, spelled out so that the expected pixels do not follow the code.
CurvePlotOptions known_layout() {
  CurvePlotOptions options;
  options.panel_width = 480;
  options.panel_height = 320;
  options.columns = 3;
  options.margin_left = 64;
  options.margin_right = 16;
  options.margin_top = 56;
  options.margin_bottom = 36;
  return options;
}

cv::Vec3b bgr_of(std::size_t series) {
  const auto rgb = rsd::eval::curve_colour(series);
  return {rgb[2], rgb[1], rgb[0]};
}

// Whether a pixel within `radius` of (x, y) has exactly `colour`.
bool colour_near(const cv::Mat& picture, int x, int y, const cv::Vec3b& colour, int radius = 1) {
  for (int dy = -radius; dy <= radius; ++dy) {
    for (int dx = -radius; dx <= radius; ++dx) {
      const int px = x + dx, py = y + dy;
      if (px < 0 || py < 0 || px >= picture.cols || py >= picture.rows) continue;
      if (picture.at<cv::Vec3b>(py, px) == colour) return true;
    }
  }
  return false;
}

// Pixels of `colour` in the rectangle [x0, x1) x [y0, y1).
int count_colour(const cv::Mat& picture, int x0, int y0, int x1, int y1, const cv::Vec3b& colour) {
  int count = 0;
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) count += picture.at<cv::Vec3b>(y, x) == colour;
  }
  return count;
}

std::string train_line(int step, const std::string& more) {
  return R"({"mode": "train", "step": )" + std::to_string(step) + (more.empty() ? "" : ", ") +
         more + "}\n";
}

TEST(TrainingCurves, PointsLandOnTheDocumentedPixels) {
  rsd::test::TempDir dir;
  std::string lines;
  for (int step = 0; step <= 10; ++step) {
    lines += train_line(step, R"("loss": )" + std::to_string(step));
  }
  const std::string metrics = dir.write("run/metrics.jsonl", lines);
  const std::string png = dir.file("run/curves.png");
  const std::vector<CurvePanel> panels =
      rsd::eval::draw_training_curves({rsd::eval::read_training_log(metrics)}, png, known_layout());
  ASSERT_EQ(panels.size(), 1u);
  EXPECT_EQ(panels[0].title, "train loss");
  EXPECT_EQ(panels[0].labels, std::vector<std::string>{"run"});  // the folder names the run

  const cv::Mat picture = cv::imread(png, cv::IMREAD_COLOR);
  ASSERT_FALSE(picture.empty());
  ASSERT_EQ(picture.cols, 480);  // one panel
  ASSERT_EQ(picture.rows, 320);
  // Plot area 400 x 228 at (64, 56); steps 0..10 span its width, values 0..10 widened by 0.5.
  auto column = [](double step) { return 64 + static_cast<int>(std::lround(step / 10.0 * 399)); };
  auto row = [](double value) {
    return 56 + static_cast<int>(std::lround((10.5 - value) / 11.0 * 227));
  };
  const cv::Vec3b blue = bgr_of(0);
  for (int step = 0; step <= 10; ++step) {
    const int x = column(step), y = row(step);
    EXPECT_TRUE(colour_near(picture, x, y, blue)) << "step " << step << " at " << x << "," << y;
    // In the point's column the line covers only the rows next to the point.
    int lowest = picture.rows, highest = -1;
    for (int r = 56; r < 56 + 228; ++r) {
      if (picture.at<cv::Vec3b>(r, x) == blue) {
        lowest = std::min(lowest, r);
        highest = std::max(highest, r);
      }
    }
    EXPECT_GE(lowest, y - 3) << "step " << step;
    EXPECT_LE(highest, y + 3) << "step " << step;
  }
  // The other diagonal (a flipped axis would put the line there) stays empty.
  EXPECT_FALSE(colour_near(picture, column(0), row(10), blue, 3));
  EXPECT_FALSE(colour_near(picture, column(10), row(0), blue, 3));
}

TEST(TrainingCurves, LossesOverMoreThanTwoDecadesUseALogAxis) {
  rsd::test::TempDir dir;
  std::string lines;
  for (int step = 0; step <= 4; ++step) {
    lines += train_line(step * 100, R"("loss": )" + std::to_string(std::pow(10.0, 1 - step)) +
                                        R"(, "samples_per_s": 5.0)");
  }
  const std::string metrics = dir.write("run/metrics.jsonl", lines);
  const std::string png = dir.file("curves.png");
  const auto panels =
      rsd::eval::draw_training_curves({rsd::eval::read_training_log(metrics)}, png, known_layout());
  ASSERT_EQ(panels.size(), 2u);
  EXPECT_EQ(panels[1].title, "samples/s");
  const cv::Mat picture = cv::imread(png, cv::IMREAD_COLOR);
  ASSERT_EQ(picture.cols, 2 * 480);
  // log10 values 1 .. -3, widened by 0.2: equal distances between the decades.
  for (int step = 0; step <= 4; ++step) {
    const int x = 64 + static_cast<int>(std::lround(step / 4.0 * 399));
    const int y = 56 + static_cast<int>(std::lround((1.2 - (1 - step)) / 4.4 * 227));
    EXPECT_TRUE(colour_near(picture, x, y, bgr_of(0))) << "step " << step * 100;
  }
  // A flat series sits in the middle of its panel (widened by 5% of its value).
  EXPECT_TRUE(colour_near(picture, 480 + 64 + 200, 56 + 113, bgr_of(0)));

  CurvePlotOptions linear = known_layout();
  linear.log_scale_losses = false;
  rsd::eval::draw_training_curves({rsd::eval::read_training_log(metrics)}, png, linear);
  const cv::Mat linear_picture = cv::imread(png, cv::IMREAD_COLOR);
  // 0.001 and 0.01 both sit near the bottom on a linear axis: the log one's step 300 row is empty.
  const int x300 = 64 + static_cast<int>(std::lround(0.75 * 399));
  const int log_row = 56 + static_cast<int>(std::lround((1.2 + 2) / 4.4 * 227));
  EXPECT_FALSE(colour_near(linear_picture, x300, log_row, bgr_of(0), 2));
}

TEST(TrainingCurves, TruncatedGarbledLinesAndNullValuesAreCountedAndLeftOut) {
  rsd::test::TempDir dir;
  const std::string path = dir.file("metrics.jsonl");
  {
    rsd::MetricsWriter writer(path, /*append=*/false);
    writer.write(rsd::MetricsRecord().add("mode", "train").add("step", 1).add("loss", 2.0));
    writer.write(rsd::MetricsRecord()
                     .add("mode", "train")
                     .add("step", 2)
                     .add("loss", std::nan(""))  // written as null
                     .add("loss_planning", 0.5));
    writer.write(rsd::MetricsRecord().add("mode", "val").add("step", 2).add("loss", 1.5));
  }
  {
    std::ofstream out(path, std::ios::app);
    out << "not json at all\n";
    out << R"({"mode": "train"})" << "\n";              // no step
    out << R"({"mode": "train", "step": 3, "loss": "x"})" << "\n";  // a string for a number
    out << R"({"mode": "train", "step": 4, "loss": 1.)";            // a killed run's last line
  }
  const TrainingLog log = rsd::eval::read_training_log(path, "mine");
  EXPECT_EQ(log.name, "mine");
  EXPECT_EQ(log.unreadable_lines, 3);
  EXPECT_EQ(log.skipped_values, 2);  // the null and the string
  ASSERT_NE(log.find("train", "loss"), nullptr);
  EXPECT_EQ(log.find("train", "loss")->steps, std::vector<double>{1.0});
  EXPECT_EQ(log.find("train", "loss")->values, std::vector<double>{2.0});
  ASSERT_NE(log.find("train", "loss_planning"), nullptr);
  EXPECT_EQ(log.find("train", "loss_planning")->steps, std::vector<double>{2.0});
  ASSERT_NE(log.find("val", "loss"), nullptr);
  EXPECT_EQ(log.find("val", "loss")->values, std::vector<double>{1.5});

  const auto panels = rsd::eval::draw_training_curves({log}, dir.file("curves.png"));
  std::vector<std::string> titles;
  for (const CurvePanel& panel : panels) titles.push_back(panel.title);
  EXPECT_EQ(titles, (std::vector<std::string>{"train loss", "train loss_planning", "val loss"}));
}

TEST(TrainingCurves, ComparedRunsDrawTheUnionOfTheirPanelsOneColourPerRun) {
  rsd::test::TempDir dir;
  std::string a, b;
  for (int step = 1; step <= 5; ++step) {
    a += train_line(step, R"("loss": )" + std::to_string(1.0 / step) + R"(, "loss_risk": 0.3)");
    b += train_line(step, R"("loss": )" + std::to_string(2.0 / step) +
                              R"(, "loss_collision": 0.2, "lr_backbone": 1e-4, "lr": 1e-3)");
  }
  a += R"({"mode": "val", "step": 5, "loss": 0.4})" "\n";
  dir.write("runs/off/metrics.jsonl", a);
  dir.write("runs/on/metrics.jsonl", b);
  std::filesystem::create_directories(dir.file("runs/off/eval/val"));
  std::filesystem::create_directories(dir.file("elsewhere"));

  // An evaluation folder finds its run's file two levels up.
  EXPECT_EQ(rsd::eval::find_training_log(dir.file("runs/off/eval/val/")),
            dir.file("runs/off/metrics.jsonl"));
  EXPECT_EQ(rsd::eval::find_training_log(dir.file("elsewhere")), "");

  const std::vector<TrainingLog> runs = {
      rsd::eval::read_training_log(dir.file("runs/off/metrics.jsonl")),
      rsd::eval::read_training_log(dir.file("runs/on/metrics.jsonl"))};
  const std::vector<CurvePanel> panels = rsd::eval::plan_curve_panels(runs);
  std::vector<std::string> titles;
  for (const CurvePanel& panel : panels) titles.push_back(panel.title);
  ASSERT_EQ(titles, (std::vector<std::string>{"train loss", "train loss_risk",
                                              "train loss_collision", "val loss",
                                              "learning rate"}));
  EXPECT_EQ(panels[0].labels, (std::vector<std::string>{"off", "on"}));
  EXPECT_EQ(panels[1].labels, std::vector<std::string>{"off"});
  EXPECT_EQ(panels[2].labels, std::vector<std::string>{"on"});
  EXPECT_EQ(panels[2].colours, std::vector<std::size_t>{1});  // "on" keeps its colour
  EXPECT_EQ(panels[4].labels, (std::vector<std::string>{"on: lr_backbone", "on: lr"}));
  EXPECT_EQ(panels[4].colours, (std::vector<std::size_t>{0, 1}));

  const std::string png = dir.file("compare_curves.png");
  ASSERT_TRUE(rsd::eval::draw_compared_training_curves(
      {dir.file("runs/off/eval/val"), dir.file("runs/on")}, png));
  const cv::Mat picture = cv::imread(png, cv::IMREAD_COLOR);
  const CurvePlotOptions layout{};  // draw_compared_training_curves' default layout
  ASSERT_EQ(picture.cols, 3 * layout.panel_width);
  ASSERT_EQ(picture.rows, 2 * layout.panel_height);
  // Pixels of each run's colour inside panel i's plot area (legends lie outside it).
  auto in_plot = [&](int panel, std::size_t series) {
    const int x0 = (panel % 3) * layout.panel_width + layout.margin_left;
    const int y0 = (panel / 3) * layout.panel_height + layout.margin_top;
    return count_colour(picture, x0, y0,
                        x0 + layout.panel_width - layout.margin_left - layout.margin_right,
                        y0 + layout.panel_height - layout.margin_top - layout.margin_bottom,
                        bgr_of(series));
  };
  EXPECT_GT(in_plot(0, 0), 0);   // train loss: both runs
  EXPECT_GT(in_plot(0, 1), 0);
  EXPECT_GT(in_plot(1, 0), 0);   // loss_risk: "off" only
  EXPECT_EQ(in_plot(1, 1), 0);
  EXPECT_EQ(in_plot(2, 0), 0);   // loss_collision: "on" only, in its own colour
  EXPECT_GT(in_plot(2, 1), 0);
  EXPECT_GT(in_plot(4, 0), 0);   // learning rate: two groups of "on"
  EXPECT_GT(in_plot(4, 1), 0);

  EXPECT_FALSE(rsd::eval::draw_compared_training_curves({dir.file("elsewhere")},
                                                        dir.file("none.png")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("none.png")));
}

TEST(TrainingCurves, AnEmptyLogDrawsANoDataPanelAndAMissingOneIsAnError) {
  rsd::test::TempDir dir;
  const std::string metrics = dir.write("metrics.jsonl", "");
  const std::string png = dir.file("curves.png");
  const CurvePlotOptions layout = known_layout();
  const TrainingLog empty = rsd::eval::read_training_log(metrics);
  EXPECT_TRUE(empty.series.empty());
  EXPECT_TRUE(rsd::eval::draw_training_curves({empty}, png, layout).empty());
  const cv::Mat picture = cv::imread(png, cv::IMREAD_COLOR);
  ASSERT_EQ(picture.cols, layout.panel_width);
  ASSERT_EQ(picture.rows, layout.panel_height);
  const cv::Mat not_white = picture.reshape(1) != 255;
  EXPECT_GT(cv::countNonZero(not_white), 0);  // the note's text on white

  EXPECT_THROW(rsd::eval::read_training_log(dir.file("missing/metrics.jsonl")), rsd::DataError);
}

}  // namespace
