#include "rsd/util/tensorboard_writer.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "record_framing.h"
#include "rsd/util/error.h"
#include "tensorboard_event.pb.h"

namespace rsd {
namespace {

namespace fs = std::filesystem;

double seconds_since_epoch() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(now).count();
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// TensorBoard's own name; a second writer within the same second (a quickly resumed run) gets a
// suffix, which sorts after the first file, as its records follow them.
fs::path new_events_path(const fs::path& directory) {
  const auto seconds = static_cast<int64_t>(seconds_since_epoch());
  const std::string name = "events.out.tfevents." + std::to_string(seconds) + "." + host_name();
  fs::path path = directory / name;
  for (int suffix = 1; fs::exists(path); ++suffix) {
    path = directory / (name + "." + std::to_string(suffix));
  }
  return path;
}

}  // namespace

struct TensorBoardWriter::Impl {
  std::string path;
  std::ofstream out;

  void write(tensorboard::Event& event, std::optional<double> wall_time) {
    event.set_wall_time(wall_time ? *wall_time : seconds_since_epoch());
    std::string data;
    if (!event.SerializeToString(&data)) throw Error("cannot encode a TensorBoard event for " + path);
    out << tensorboard::frame_record(data);
    if (!out) throw Error("cannot write TensorBoard events to " + path);
  }

  // Makes `event` hold one summary value for `tag` at `step`; returns it for the caller to fill.
  static tensorboard::Summary::Value* summary_value(tensorboard::Event& event,
                                                    const std::string& tag, int64_t step) {
    event.set_step(step);
    tensorboard::Summary::Value* value = event.mutable_summary()->add_value();
    value->set_tag(tag);
    return value;
  }
};

TensorBoardWriter::TensorBoardWriter(const std::string& directory) : impl_(std::make_unique<Impl>()) {
  std::error_code error;
  fs::create_directories(directory, error);
  if (error) throw Error("cannot create the TensorBoard folder " + directory + ": " + error.message());
  impl_->path = new_events_path(directory).string();
  impl_->out.open(impl_->path, std::ios::binary | std::ios::trunc);
  if (!impl_->out) throw Error("cannot create the TensorBoard events file " + impl_->path);
  tensorboard::Event version;
  version.set_file_version("brain.Event:2");
  impl_->write(version, std::nullopt);
  flush();
}

TensorBoardWriter::~TensorBoardWriter() {
  if (impl_) impl_->out.flush();
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step,
                                   std::optional<double> wall_time) {
  tensorboard::Event event;
  tensorboard::Summary::Value* summary = Impl::summary_value(event, tag, step);
  summary->set_simple_value(static_cast<float>(value));
  impl_->write(event, wall_time);
}

void TensorBoardWriter::add_image(const std::string& tag, const EncodedImage& image, int64_t step,
                                  std::optional<double> wall_time) {
  tensorboard::Event event;
  tensorboard::Summary::Value* summary = Impl::summary_value(event, tag, step);
  tensorboard::Summary::Image* picture = summary->mutable_image();
  picture->set_height(image.height);
  picture->set_width(image.width);
  picture->set_colorspace(image.channels);
  picture->set_encoded_image_string(image.png);
  impl_->write(event, wall_time);
}

void TensorBoardWriter::add_text(const std::string& tag, const std::string& text, int64_t step,
                                 std::optional<double> wall_time) {
  tensorboard::Event event;
  tensorboard::Summary::Value* summary = Impl::summary_value(event, tag, step);
  // The text plugin's form: a scalar string tensor, claimed by the plugin's metadata.
  summary->mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
  tensorboard::TensorProto* tensor = summary->mutable_tensor();
  tensor->set_dtype(tensorboard::DT_STRING);
  tensor->mutable_tensor_shape();
  tensor->add_string_val(text);
  impl_->write(event, wall_time);
}

void TensorBoardWriter::flush() {
  impl_->out.flush();
  if (!impl_->out) throw Error("cannot write TensorBoard events to " + impl_->path);
}

const std::string& TensorBoardWriter::path() const { return impl_->path; }

}  // namespace rsd
