#include "record_framing.h"

#include <cstdint>
#include <fstream>
#include <iterator>

#include "crc32c.h"
#include "rsd/util/error.h"

namespace rsd::tensorboard {
namespace {

constexpr std::size_t kLengthBytes = 8;
constexpr std::size_t kCrcBytes = 4;

// Little-endian whatever the host's byte order.
template <typename Unsigned>
void append_little_endian(std::string& out, Unsigned value) {
  for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
  }
}

template <typename Unsigned>
Unsigned read_little_endian(std::string_view bytes) {
  Unsigned value = 0;
  for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
    value |= static_cast<Unsigned>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  }
  return value;
}

}  // namespace

std::string frame_record(std::string_view data) {
  std::string out;
  out.reserve(kLengthBytes + 2 * kCrcBytes + data.size());
  append_little_endian<uint64_t>(out, data.size());
  append_little_endian<uint32_t>(out, masked_crc32c(out));
  out.append(data);
  append_little_endian<uint32_t>(out, masked_crc32c(data));
  return out;
}

std::vector<std::string> unframe_records(std::string_view framed, const std::string& source) {
  std::vector<std::string> records;
  std::size_t offset = 0;
  while (offset < framed.size()) {
    const std::string_view rest = framed.substr(offset);
    if (rest.size() < kLengthBytes + kCrcBytes) {
      throw DataError(source + ": record at byte " + std::to_string(offset) +
                      " is cut short in its header");
    }
    const std::string_view length_bytes = rest.substr(0, kLengthBytes);
    if (read_little_endian<uint32_t>(rest.substr(kLengthBytes)) != masked_crc32c(length_bytes)) {
      throw DataError(source + ": record at byte " + std::to_string(offset) +
                      " has a length that fails its CRC-32C");
    }
    const uint64_t length = read_little_endian<uint64_t>(length_bytes);
    const std::size_t header = kLengthBytes + kCrcBytes;
    if (length > rest.size() - header || rest.size() - header - length < kCrcBytes) {
      throw DataError(source + ": record at byte " + std::to_string(offset) + " of " +
                      std::to_string(length) + " bytes is cut short");
    }
    const std::string_view data = rest.substr(header, length);
    if (read_little_endian<uint32_t>(rest.substr(header + length)) != masked_crc32c(data)) {
      throw DataError(source + ": record at byte " + std::to_string(offset) +
                      " has data that fails its CRC-32C");
    }
    records.emplace_back(data);
    offset += header + length + kCrcBytes;
  }
  return records;
}

std::vector<std::string> read_records(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open " + path);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError("cannot read " + path);
  return unframe_records(bytes, path);
}

}  // namespace rsd::tensorboard
