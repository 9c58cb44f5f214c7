// TensorBoard event files: `tensorboard --logdir` shows the scalars, images and text written here.
// Each writer creates a new file events.out.tfevents.<unix time>.<hostname> in its folder (a
// resumed run adds a file; TensorBoard reads a folder's files in name order as one stream).
// The messages are encoded with protobuf from librsd's own .proto files of TensorBoard's
// format (src/util/tensorboard/); nothing of protobuf appears here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace rsd {

/// An encoded picture for TensorBoard's image dashboard.
struct EncodedImage {
  std::string png;  // the PNG file's bytes
  int height = 0;
  int width = 0;
  int channels = 3;  // 1 grey, 3 RGB, 4 RGBA
};

class TensorBoardWriter {
 public:
  /// Creates `directory` when missing and a new events file in it, whose first record holds
  /// the file version. Throws rsd::Error when either cannot be created.
  explicit TensorBoardWriter(const std::string& directory);
  ~TensorBoardWriter();  // flushes
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  /// `wall_time` in seconds since the Unix epoch; now when absent. TensorBoard stores scalars as
  /// float32.
  void add_scalar(const std::string& tag, double value, int64_t step,
                  std::optional<double> wall_time = std::nullopt);
  void add_image(const std::string& tag, const EncodedImage& image, int64_t step,
                 std::optional<double> wall_time = std::nullopt);
  /// Markdown (TensorBoard's text dashboard renders it).
  void add_text(const std::string& tag, const std::string& text, int64_t step,
                std::optional<double> wall_time = std::nullopt);
  /// Makes every record so far visible to readers. Throws rsd::Error when writing failed.
  void flush();

  /// The events file written.
  const std::string& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rsd
