#include "data/camera_image.h"

#include <Eigen/LU>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "data/random_draws.h"
#include "rsd/util/error.h"

namespace rsd::data::detail {
namespace {

using rsd::detail::concat;

constexpr double kPi = 3.14159265358979323846;
// ImageNet statistics, RGB order, for inputs in [0, 1].
constexpr float kMean[3] = {0.485f, 0.456f, 0.406f};
constexpr float kStd[3] = {0.229f, 0.224f, 0.225f};

Eigen::Matrix3d translation(double x, double y) {
  Eigen::Matrix3d m = Eigen::Matrix3d::Identity();
  m(0, 2) = x;
  m(1, 2) = y;
  return m;
}

// The largest JPEG decoder reduction (1, 2, 4, 8) that neither upsamples afterwards nor changes
// the pixel grid (it must divide the image size, so that decoded pixels are exact k x k blocks).
int decode_reduction(int width, int height, double scale) {
  int reduction = 1;
  for (int k : {2, 4, 8}) {
    if (scale * k <= 1.0 && width % k == 0 && height % k == 0) reduction = k;
  }
  return reduction;
}

int imread_flag(int reduction) {
  switch (reduction) {
    case 2: return cv::IMREAD_REDUCED_COLOR_2;
    case 4: return cv::IMREAD_REDUCED_COLOR_4;
    case 8: return cv::IMREAD_REDUCED_COLOR_8;
    default: return cv::IMREAD_COLOR;
  }
}

std::string read_image_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(concat(path, ": image missing or unreadable"));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError(concat(path, ": read error"));
  return bytes;
}

// BGR uint8 HWC (rows contiguous) -> RGB float CHW, normalised with ImageNet's mean and std.
void normalise_bgr(const uint8_t* bgr, int width, int height, float* out) {
  const int64_t plane = static_cast<int64_t>(width) * height;
  float scale[3], offset[3];
  for (int c = 0; c < 3; ++c) {
    scale[c] = 1.0f / (255.0f * kStd[c]);
    offset[c] = -kMean[c] / kStd[c];
  }
  for (int y = 0; y < height; ++y) {
    const uint8_t* row = bgr + static_cast<int64_t>(y) * width * 3;
    float* red = out + static_cast<int64_t>(y) * width;
    float* green = red + plane;
    float* blue = green + plane;
    for (int x = 0; x < width; ++x) {
      blue[x] = row[3 * x + 0] * scale[2] + offset[2];
      green[x] = row[3 * x + 1] * scale[1] + offset[1];
      red[x] = row[3 * x + 2] * scale[0] + offset[0];
    }
  }
}

// `decoded` (BGR, the original image reduced by `reduction`) placed into the network input: float
// CHW RGB, normalised.
void warp_to_network(const cv::Mat& decoded, int reduction, const ImagePlacement& placement,
                     int out_width, int out_height, float* out) {
  // Decoded pixel grid -> original: x_original = reduction * x_decoded (corner convention).
  Eigen::Matrix3d m = placement.img_aug;
  m.leftCols<2>() *= reduction;
  // OpenCV's warp works on pixel indices (centres at integers): shift by half a pixel around it.
  const Eigen::Matrix3d to_index = [] {
    Eigen::Matrix3d t = Eigen::Matrix3d::Identity();
    t(0, 2) = t(1, 2) = -0.5;
    return t;
  }();
  const Eigen::Matrix3d from_index = to_index.inverse();
  const Eigen::Matrix3d warp = to_index * m * from_index;
  cv::Mat affine(2, 3, CV_64F);
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c) affine.at<double>(r, c) = warp(r, c);
  }
  cv::Mat placed;
  cv::warpAffine(decoded, placed, affine, cv::Size(out_width, out_height), cv::INTER_LINEAR,
                 cv::BORDER_CONSTANT, cv::Scalar::all(0));

  normalise_bgr(placed.ptr<uint8_t>(0), out_width, out_height, out);
}

}  // namespace

std::string jpeg_marker_problem(std::string_view head, std::string_view tail) {
  const auto is = [](std::string_view bytes, unsigned char first, unsigned char second) {
    return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == first &&
           static_cast<unsigned char>(bytes[1]) == second;
  };
  if (!is(head, 0xFF, 0xD8)) return "not a JPEG (no start-of-image marker)";
  if (!is(tail.size() >= 2 ? tail.substr(tail.size() - 2) : tail, 0xFF, 0xD9)) {
    return "truncated JPEG (no end-of-image marker)";
  }
  return "";
}

ImagePlacement place_image(int width, int height, int out_width, int out_height,
                           const ImageAugmentOptions* augment, std::mt19937_64* rng) {
  const bool random = augment != nullptr && rng != nullptr;
  const double base = std::max(static_cast<double>(out_width) / width,
                               static_cast<double>(out_height) / height);
  // Draws in a fixed order and number, whether or not an option is active.
  const double factor = random ? uniform(*rng, augment->resize_min, augment->resize_max) : 1.0;
  const double scale = base * factor;
  const int resized_width = std::max(1, static_cast<int>(std::lround(width * scale)));
  const int resized_height = std::max(1, static_cast<int>(std::lround(height * scale)));
  const int spare_x = resized_width - out_width;
  const int crop_x = random ? static_cast<int>(uniform_int(*rng, std::min(0, spare_x),
                                                           std::max(0, spare_x)))
                            : spare_x / 2;
  const int crop_y = resized_height - out_height;  // keep the bottom rows
  const bool flip = random ? coin(*rng) && augment->flip : false;
  const double angle_deg = random ? uniform(*rng, -augment->rotate_deg, augment->rotate_deg) : 0.0;

  Eigen::Matrix3d resize = Eigen::Matrix3d::Identity();
  resize(0, 0) = static_cast<double>(resized_width) / width;
  resize(1, 1) = static_cast<double>(resized_height) / height;
  Eigen::Matrix3d m = translation(-crop_x, -crop_y) * resize;
  if (flip) {
    Eigen::Matrix3d mirror = Eigen::Matrix3d::Identity();
    mirror(0, 0) = -1.0;
    mirror(0, 2) = out_width;
    m = mirror * m;
  }
  if (angle_deg != 0.0) {
    const double a = angle_deg * kPi / 180.0;
    Eigen::Matrix3d rotation = Eigen::Matrix3d::Identity();
    rotation << std::cos(a), -std::sin(a), 0, std::sin(a), std::cos(a), 0, 0, 0, 1;
    const double cx = out_width / 2.0, cy = out_height / 2.0;
    m = translation(cx, cy) * rotation * translation(-cx, -cy) * m;
  }
  ImagePlacement placement;
  placement.img_aug = m;
  placement.scale = std::sqrt(std::fabs(resize(0, 0) * resize(1, 1)));
  return placement;
}

void load_network_image(const std::string& path, int width, int height,
                        const ImagePlacement& placement, int out_width, int out_height,
                        float* out) {
  const std::string bytes = read_image_bytes(path);
  const std::string_view view(bytes);
  if (const std::string problem = jpeg_marker_problem(view.substr(0, 2), view); !problem.empty()) {
    throw DataError(concat(path, ": ", problem));
  }
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  int reduction = decode_reduction(width, height, placement.scale);
  cv::Mat decoded = cv::imdecode(buffer, imread_flag(reduction));
  if (!decoded.empty() && reduction > 1 &&
      (decoded.cols != width / reduction || decoded.rows != height / reduction)) {
    reduction = 1;  // a decoder that does not reduce by whole blocks: decode in full
    decoded = cv::imdecode(buffer, cv::IMREAD_COLOR);
  }
  if (decoded.empty()) {
    throw DataError(concat(path, ": cannot decode the image (corrupt JPEG)"));
  }
  if (decoded.cols * reduction != width || decoded.rows * reduction != height) {
    throw DataError(concat(path, ": image is ", decoded.cols * reduction, "x",
                           decoded.rows * reduction, " but its annotation says ", width, "x",
                           height, " (the intrinsics would not match)"));
  }
  warp_to_network(decoded, reduction, placement, out_width, out_height, out);
}

void network_image_from_bgr(const uint8_t* bgr, int width, int height,
                            const ImagePlacement& placement, int out_width, int out_height,
                            float* out) {
  const cv::Mat image(height, width, CV_8UC3, const_cast<uint8_t*>(bgr));
  warp_to_network(image, 1, placement, out_width, out_height, out);
}

void network_image_from_placed_bgr(const uint8_t* bgr, int width, int height, float* out) {
  normalise_bgr(bgr, width, height, out);
}

}  // namespace rsd::data::detail
