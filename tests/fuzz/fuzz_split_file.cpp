// The official split file ({"val": [...]}) and the clip-list reader (JSON list or one name a
// line), both read from a file.
#include "fuzz_input.h"
#include "rsd/data/clip_index.h"
#include "rsd/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = rsd::fuzz::scratch_dir() + "/split.json";
  rsd::fuzz::write_bytes(path, rsd::fuzz::as_string(data, size));
  try {
    rsd::data::read_split_val_list(path);
  } catch (const rsd::Error&) {
  }
  try {
    rsd::data::read_clip_list(path);
  } catch (const rsd::Error&) {
  }
  return 0;
}
