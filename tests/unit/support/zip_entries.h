// The entries of a zip archive (a checkpoint written by the tests), found independently of
// librsd's archive check, to damage chosen bytes or to forge a damaged entry's CRC-32.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace rsd::test {

struct ZipEntry {
  std::string name;
  std::size_t central_at = 0;  // its central-directory header
  std::size_t local_at = 0;    // its local header
  std::size_t data_at = 0;
  std::size_t data_bytes = 0;  // as stored (compressed)
  uint16_t method = 0;         // 0 stored, 8 deflated
};

inline uint64_t read_le(const std::string& bytes, std::size_t at, int width) {
  uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes.at(at + static_cast<std::size_t>(i)));
  }
  return value;
}

inline void write_le32(std::string& bytes, std::size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes.at(at + static_cast<std::size_t>(i)) = static_cast<char>(value >> (8 * i));
}

/// Where the central directory starts (the ZIP64 end record's value when the archive has one,
/// as libtorch writes them). The archive must have no comment.
inline std::size_t zip_directory_offset(const std::string& bytes) {
  const std::size_t end = bytes.size() - 22;
  EXPECT_EQ(read_le(bytes, end, 4), 0x06054b50u) << "no end record where a comment-less zip has it";
  if (end >= 20 && read_le(bytes, end - 20, 4) == 0x07064b50u) {
    return static_cast<std::size_t>(read_le(bytes, static_cast<std::size_t>(read_le(bytes, end - 12, 8)) + 48, 8));
  }
  return static_cast<std::size_t>(read_le(bytes, end + 16, 4));
}

/// The archive's entries in central-directory order (no ZIP64 sizes: the tests' archives are small).
inline std::vector<ZipEntry> zip_entries(const std::string& bytes) {
  std::vector<ZipEntry> entries;
  for (std::size_t at = zip_directory_offset(bytes); read_le(bytes, at, 4) == 0x02014b50u;) {
    ZipEntry entry;
    entry.central_at = at;
    entry.method = static_cast<uint16_t>(read_le(bytes, at + 10, 2));
    entry.data_bytes = static_cast<std::size_t>(read_le(bytes, at + 20, 4));
    const auto name_bytes = static_cast<std::size_t>(read_le(bytes, at + 28, 2));
    entry.name = bytes.substr(at + 46, name_bytes);
    entry.local_at = static_cast<std::size_t>(read_le(bytes, at + 42, 4));
    entry.data_at = entry.local_at + 30 + static_cast<std::size_t>(read_le(bytes, entry.local_at + 26, 2)) +
                    static_cast<std::size_t>(read_le(bytes, entry.local_at + 28, 2));
    entries.push_back(entry);
    at += 46 + name_bytes + read_le(bytes, at + 30, 2) + read_le(bytes, at + 32, 2);
  }
  return entries;
}

/// The entry whose stored data hold byte `at`; fails the test when none does.
inline ZipEntry zip_entry_holding(const std::string& bytes, std::size_t at) {
  for (const ZipEntry& entry : zip_entries(bytes)) {
    if (at >= entry.data_at && at < entry.data_at + entry.data_bytes) return entry;
  }
  ADD_FAILURE() << "no entry holds byte " << at;
  return {};
}

/// Writes the CRC-32 of a stored entry's (edited) data into both its headers: a crafted archive
/// that the CRC check cannot tell from a sound one.
inline void forge_crc(std::string& bytes, const ZipEntry& entry) {
  ASSERT_EQ(entry.method, 0) << entry.name << " is not stored";
  const auto crc = static_cast<uint32_t>(
      crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data() + entry.data_at),
            static_cast<uInt>(entry.data_bytes)));
  write_le32(bytes, entry.central_at + 16, crc);
  write_le32(bytes, entry.local_at + 14, crc);
}

/// forge_crc of every stored entry.
inline void forge_crcs(std::string& bytes) {
  for (const ZipEntry& entry : zip_entries(bytes)) {
    if (entry.method == 0) forge_crc(bytes, entry);
  }
}

}  // namespace rsd::test
