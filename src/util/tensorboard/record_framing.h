// The record framing of TensorBoard's event files (TFRecord's): per record
//   uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes | data |
//   uint32 masked CRC-32C of data (little-endian)
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rsd::tensorboard {

/// The bytes of one framed record holding `data`.
std::string frame_record(std::string_view data);

/// The records of `framed` (a whole file's bytes) in order. Throws rsd::DataError naming `source`
/// and the record's offset on a truncated record or a CRC mismatch.
std::vector<std::string> unframe_records(std::string_view framed, const std::string& source);

/// unframe_records of a file's contents; throws rsd::DataError when it cannot be read.
std::vector<std::string> read_records(const std::string& path);

}  // namespace rsd::tensorboard
