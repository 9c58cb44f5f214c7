// One camera image, from its JPEG to the network input: decode (at a reduced size when the final
// scale allows it), resize, crop, mirror and rotate in a single warp, with the matrix that maps
// original pixels to network pixels (pixel centres at +0.5, see include/rsd/data/batch.h).
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "rsd/data/augment_options.h"

namespace rsd::data::detail {

/// Where an original image lands in the network input.
struct ImagePlacement {
  Eigen::Matrix3d img_aug = Eigen::Matrix3d::Identity();  // original pixels -> network pixels
  double scale = 1.0;                                     // mean resize factor (decode choice)
};

/// The placement of a width x height image in an out_width x out_height input. The base scale is
/// the smallest at which the image covers the input; the crop keeps the bottom rows (the road) and
/// is centred horizontally. With `augment` (and `rng`), a random resize factor, horizontal crop,
/// mirror and rotation are drawn (always the same number of draws, in the same order).
ImagePlacement place_image(int width, int height, int out_width, int out_height,
                           const ImageAugmentOptions* augment, std::mt19937_64* rng);

/// "" when `head` starts with JPEG's start-of-image marker and `tail` ends with its end-of-image
/// marker, else what is wrong (a truncated JPEG lacks the end marker; decoders only warn about it
/// and return a grey-filled image).
std::string jpeg_marker_problem(std::string_view head, std::string_view tail);

/// Decodes `path` (whose stored size must be width x height) and writes the network input as
/// float CHW RGB, normalised with ImageNet's mean and std, into `out` (3 * out_height * out_width
/// floats). Throws rsd::DataError naming the file when it is missing, truncated, cannot be decoded
/// or has another size.
void load_network_image(const std::string& path, int width, int height,
                        const ImagePlacement& placement, int out_width, int out_height, float* out);

/// The same placement for an image already in memory: `bgr` holds height x width x 3 bytes,
/// row-major (what a renderer or a camera driver gives).
void network_image_from_bgr(const uint8_t* bgr, int width, int height,
                            const ImagePlacement& placement, int out_width, int out_height,
                            float* out);

/// An image that already is the network input (rendered straight at the placement): only the
/// conversion to normalised float CHW RGB.
void network_image_from_placed_bgr(const uint8_t* bgr, int width, int height, float* out);

}  // namespace rsd::data::detail
