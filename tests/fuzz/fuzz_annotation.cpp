// The Bench2Drive annotation reader: gzip, Python's NaN/Infinity tokens, and FrameReader's typed
// reading of the JSON. An input that is not gzip is compressed first, so that the fuzzer mutates
// the JSON itself; inputs that start with the gzip magic reach the decompressor as they are.
#include <zlib.h>

#include "data/annotation_json.h"
#include "fuzz_input.h"
#include "rsd/data/frame_reader.h"
#include "rsd/util/error.h"

namespace {

std::string gzip(const std::string& raw) {
  z_stream stream{};
  deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, raw.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  stream.avail_in = static_cast<uInt>(raw.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes = rsd::fuzz::as_string(data, size);
  const bool is_gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  if (!is_gzip) bytes = gzip(bytes);

  rsd::data::ClipInfo clip;
  clip.name = "Fuzz_Town01_Route1_Weather1";
  clip.path = rsd::fuzz::scratch_dir() + "/clip";
  clip.frames = {0};
  static const bool made = std::filesystem::create_directories(clip.path + "/anno");
  (void)made;
  rsd::fuzz::write_bytes(clip.path + "/anno/00000.json.gz", bytes);

  try {
    rsd::data::FrameReaderOptions options;
    options.derive_velocity_from_motion = true;
    const rsd::data::FrameReader reader({"CAM_FRONT"}, options);
    reader.read(clip, 0);
  } catch (const rsd::Error&) {
    // Refusing bad input with a clear error is the expected outcome.
  }
  try {
    rsd::data::FrameReader({}, rsd::data::FrameReaderOptions{}).read_ego_pose(clip, 0);
  } catch (const rsd::Error&) {
  }
  return 0;
}
