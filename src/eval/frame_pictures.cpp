#include "frame_pictures.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <optional>

#include "data/bev_picture.h"
#include "rsd/util/error.h"

namespace rsd::eval::detail {
namespace {

const cv::Scalar kGroundTruthColor(60, 200, 60);  // BGR
const cv::Scalar kPredictedColor(40, 40, 235);
const cv::Scalar kEgoColor(255, 255, 255);
const cv::Scalar kTextColor(255, 255, 255);
const cv::Scalar kEmptyBackground(40, 40, 40);
constexpr int kCaptionLineHeight = 16;
constexpr const char* kLegend = "GT green, prediction red, ego white";

// ImageNet normalisation of data::Sample::images (src/data/camera_image.cpp).
constexpr double kImageMean[3] = {0.485, 0.456, 0.406};
constexpr double kImageStd[3] = {0.229, 0.224, 0.225};

using data::detail::BevProjection;

void draw_footprint(cv::Mat& picture, const Footprint& footprint, const BevProjection& to_pixel,
                    const cv::Scalar& colour) {
  data::detail::draw_bev_outline(picture, footprint_corners(footprint), to_pixel, colour);
  // A tick from the centre to the front edge shows the heading.
  const Eigen::Vector2d front =
      footprint.center +
      0.5 * footprint.length * Eigen::Vector2d(std::cos(footprint.yaw), std::sin(footprint.yaw));
  cv::line(picture, to_pixel(footprint.center), to_pixel(front), colour, 1, cv::LINE_AA);
}

void draw_trajectory(cv::Mat& picture, const std::vector<cv::Point2d>& points,
                     const cv::Scalar& colour) {
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (i > 0) cv::line(picture, points[i - 1], points[i], colour, 2, cv::LINE_AA);
    cv::circle(picture, points[i], 3, colour, cv::FILLED, cv::LINE_AA);
  }
}

// `picture` below one text line per entry of `lines`.
cv::Mat with_caption(const cv::Mat& picture, const std::vector<std::string>& lines) {
  const int height = kCaptionLineHeight * static_cast<int>(lines.size());
  cv::Mat framed(picture.rows + height, picture.cols, CV_8UC3, cv::Scalar(0, 0, 0));
  picture.copyTo(framed(cv::Rect(0, height, picture.cols, picture.rows)));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    cv::putText(framed, lines[i], cv::Point(4, kCaptionLineHeight * static_cast<int>(i + 1) - 5),
                cv::FONT_HERSHEY_SIMPLEX, 0.4, kTextColor, 1, cv::LINE_AA);
  }
  return framed;
}

Eigen::MatrixXd matrix_of(const torch::Tensor& tensor) {
  const torch::Tensor cpu = tensor.detach().to(torch::kCPU, torch::kDouble).contiguous();
  RSD_CHECK_EQ(cpu.dim(), 2, "expected a matrix");
  Eigen::MatrixXd matrix(cpu.size(0), cpu.size(1));
  const auto values = cpu.accessor<double, 2>();
  for (int64_t r = 0; r < cpu.size(0); ++r) {
    for (int64_t c = 0; c < cpu.size(1); ++c) matrix(r, c) = values[r][c];
  }
  return matrix;
}

}  // namespace

cv::Mat render_bev(const BevScene& scene, const GridSpec& grid, int cell_pixels) {
  const BevProjection to_pixel(grid, cell_pixels);

  std::vector<std::pair<std::string, cv::Mat>> panels;
  if (scene.teacher_risk.defined())
    panels.emplace_back("teacher risk", data::detail::bev_heatmap(scene.teacher_risk, cell_pixels));
  if (scene.student_risk.defined())
    panels.emplace_back("student risk", data::detail::bev_heatmap(scene.student_risk, cell_pixels));
  if (panels.empty()) {
    panels.emplace_back("no risk map", cv::Mat(to_pixel.size(), CV_8UC3, kEmptyBackground));
  }

  std::vector<cv::Point2d> ground_truth, predicted;
  for (const auto& point : scene.ground_truth_trajectory) ground_truth.push_back(to_pixel(point));
  for (const auto& point : scene.predicted_trajectory) predicted.push_back(to_pixel(point));

  std::vector<cv::Mat> framed;
  for (auto& [title, panel] : panels) {
    for (const Footprint& box : scene.ground_truth_boxes)
      draw_footprint(panel, box, to_pixel, kGroundTruthColor);
    for (const Footprint& box : scene.predicted_boxes)
      draw_footprint(panel, box, to_pixel, kPredictedColor);
    draw_footprint(panel, scene.ego, to_pixel, kEgoColor);
    draw_trajectory(panel, ground_truth, kGroundTruthColor);
    draw_trajectory(panel, predicted, kPredictedColor);
    framed.push_back(with_caption(panel, {title}));
  }
  cv::Mat row;
  cv::hconcat(framed, row);
  std::vector<std::string> lines = scene.caption;
  lines.push_back(kLegend);
  return with_caption(row, lines);
}

cv::Mat render_camera(const CameraScene& scene) {
  RSD_CHECK(scene.image.dim() == 3 && scene.image.size(0) == 3,
            "camera image must be (3, H, W), got ", scene.image.sizes());
  const torch::Tensor mean =
      torch::tensor({kImageMean[0], kImageMean[1], kImageMean[2]}).view({3, 1, 1});
  const torch::Tensor deviation =
      torch::tensor({kImageStd[0], kImageStd[1], kImageStd[2]}).view({3, 1, 1});
  const torch::Tensor rgb =
      (scene.image.detach().to(torch::kCPU, torch::kDouble) * deviation + mean)
          .mul(255.0)
          .clamp(0.0, 255.0)
          .round()
          .to(torch::kUInt8)
          .permute({1, 2, 0})
          .contiguous();
  const cv::Mat rgb_view(static_cast<int>(rgb.size(0)), static_cast<int>(rgb.size(1)), CV_8UC3,
                         rgb.data_ptr<uint8_t>());
  cv::Mat picture;
  cv::cvtColor(rgb_view, picture, cv::COLOR_RGB2BGR);

  const Eigen::Matrix3d projection = matrix_of(scene.img_aug) * matrix_of(scene.intrinsics);
  const Eigen::Matrix4d ego2cam = matrix_of(scene.cam2ego).inverse();
  const auto project = [&](const std::vector<Eigen::Vector2d>& points) {
    std::vector<cv::Point2d> pixels;
    for (const Eigen::Vector2d& point : points) {
      const Eigen::Vector4d camera = ego2cam * Eigen::Vector4d(point.x(), point.y(), 0.0, 1.0);
      if (camera.z() <= 0.1) continue;  // behind (or at) the camera: no meaningful pixel
      const Eigen::Vector3d uv = projection * (camera.head<3>() / camera.z());
      pixels.emplace_back(uv.x() / uv.z(), uv.y() / uv.z());
    }
    return pixels;
  };
  draw_trajectory(picture, project(scene.ground_truth_trajectory), kGroundTruthColor);
  draw_trajectory(picture, project(scene.predicted_trajectory), kPredictedColor);
  std::vector<std::string> lines = scene.caption;
  lines.push_back("GT green, prediction red");
  return with_caption(picture, lines);
}

}  // namespace rsd::eval::detail
