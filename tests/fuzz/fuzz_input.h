// What the harnesses share: a private scratch folder per fuzzing process and writing the input
// there, since the readers under test take paths; the RSD_FUZZ_WRITE_SEED switch of the harnesses
// that write their own seed inputs.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace rsd::fuzz {

/// A folder of this process (several fuzzers, or -jobs, must not share files), under /dev/shm
/// when it exists: the readers open a file per input.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const std::filesystem::path root =
        std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    const std::filesystem::path path = root / ("rsd_fuzz." + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    return path.string();
  }();
  return dir;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string as_string(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

/// The fuzzer's input as the file `path`, for readers that take a path.
inline void write_input(const std::string& path, const uint8_t* data, size_t size) {
  write_bytes(path, as_string(data, size));
}

/// For LLVMFuzzerInitialize: RSD_FUZZ_WRITE_SEED=<folder> has the harness write real inputs of
/// its format there (scripts/fuzz.sh seeds the corpus with them) and exit instead of fuzzing.
inline void write_seed_if_asked(void (*write_seed)(const std::string& folder)) {
  if (const char* folder = std::getenv("RSD_FUZZ_WRITE_SEED")) {
    write_seed(folder);
    std::exit(0);
  }
}

/// `text` cut at each line equal to `separator` (the line itself dropped).
inline std::vector<std::string> split_sections(const std::string& text,
                                               const std::string& separator) {
  std::vector<std::string> parts(1);
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find('\n', begin);
    const bool last = end == std::string::npos;
    if (last) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    if (line == separator) {
      parts.emplace_back();
    } else {
      parts.back() += line;
      if (!last) parts.back() += '\n';
    }
    begin = end + 1;
  }
  return parts;
}

}  // namespace rsd::fuzz
