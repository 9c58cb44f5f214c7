#include "rsd/util/archive_integrity.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include "rsd/util/error.h"

namespace rsd {
namespace {

// The zip format (PKWARE APPNOTE 6.3): the records checked and their fixed sizes.
constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint64_t kLocalHeaderBytes = 30;
constexpr uint64_t kCentralHeaderBytes = 46;
constexpr uint64_t kEndBytes = 22;
constexpr uint64_t kZip64EndBytes = 56;
constexpr uint64_t kZip64LocatorBytes = 20;
constexpr uint64_t kMaxCommentBytes = 0xFFFF;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kMethodStored = 0;
constexpr uint16_t kMethodDeflated = 8;
constexpr uint16_t kFlagEncrypted = 0x1;
// A 32-bit field holding this value says "the real value is in the ZIP64 extra field".
constexpr uint32_t kZip64Marker = 0xFFFFFFFF;
// Deflate produces at most ~1032 bytes per input byte: a larger claimed size is damage, and
// refusing it bounds the time spent inflating.
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr std::size_t kChunkBytes = std::size_t{1} << 20;

uint16_t u16(std::string_view bytes, std::size_t at) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data()) + at;
  return static_cast<uint16_t>(b[0] | (b[1] << 8));
}
uint32_t u32(std::string_view bytes, std::size_t at) {
  return u16(bytes, at) | (static_cast<uint32_t>(u16(bytes, at + 2)) << 16);
}
uint64_t u64(std::string_view bytes, std::size_t at) {
  return u32(bytes, at) | (static_cast<uint64_t>(u32(bytes, at + 4)) << 32);
}

std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

// Where the archive's bytes come from: memory, or a file read in bounded pieces.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  /// Bytes [offset, offset + count), which the caller has checked lie inside size(); the view
  /// may point into `buffer`, valid until its next use.
  virtual std::string_view read(uint64_t offset, std::size_t count, std::string& buffer) = 0;
};

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  std::string_view read(uint64_t offset, std::size_t count, std::string&) override {
    return bytes_.substr(static_cast<std::size_t>(offset), count);
  }

 private:
  std::string_view bytes_;
};

class FileSource : public ByteSource {
 public:
  explicit FileSource(const std::string& path) : path_(path), file_(path, std::ios::binary) {
    if (!file_) throw CheckpointError(path + ": cannot open the file");
    file_.seekg(0, std::ios::end);
    const std::streamoff end = file_.tellg();
    if (end < 0) throw CheckpointError(path + ": cannot read the file's size");
    size_ = static_cast<uint64_t>(end);
  }
  uint64_t size() const override { return size_; }
  std::string_view read(uint64_t offset, std::size_t count, std::string& buffer) override {
    buffer.resize(count);
    file_.clear();
    file_.seekg(static_cast<std::streamoff>(offset));
    file_.read(buffer.data(), static_cast<std::streamsize>(count));
    if (file_.gcount() != static_cast<std::streamsize>(count)) {
      throw CheckpointError(path_ + ": cannot read " + std::to_string(count) + " bytes at byte " +
                            std::to_string(offset) + " (the file changed while it was read?)");
    }
    return buffer;
  }

 private:
  std::string path_;
  std::ifstream file_;
  uint64_t size_ = 0;
};

struct Entry {
  std::string name;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0;
  uint64_t uncompressed = 0;
  uint64_t local_offset = 0;
};

struct Directory {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t entries = 0;
};

class ArchiveChecker {
 public:
  ArchiveChecker(ByteSource& source, const std::string& name) : source_(source), name_(name) {}

  void check() {
    const Directory directory = find_directory();
    std::vector<Entry> entries = read_directory(directory);
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.local_offset < b.local_offset; });
    uint64_t previous_end = 0;
    const Entry* previous = nullptr;
    for (const Entry& entry : entries) {
      if (entry.local_offset < previous_end) {
        fail("entry '" + entry.name + "' (at byte " + std::to_string(entry.local_offset) +
             ") overlaps entry '" + previous->name + "'");
      }
      previous_end = check_entry(entry, directory.offset);
      previous = &entry;
    }
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw CheckpointError(name_ + ": damaged archive: " + problem + ": the file is damaged");
  }

  // The end-of-central-directory record (and its ZIP64 twin): where the directory is.
  Directory find_directory() {
    const uint64_t size = source_.size();
    if (size < kEndBytes) {
      fail("only " + std::to_string(size) + " bytes, fewer than a zip archive's end record");
    }
    const uint64_t window = std::min(size, kEndBytes + kMaxCommentBytes);
    const uint64_t window_start = size - window;
    std::string buffer;
    const std::string_view tail = source_.read(window_start, static_cast<std::size_t>(window), buffer);
    std::size_t at = static_cast<std::size_t>(window - kEndBytes);
    // The record closest to the end whose comment ends exactly at the end of the file.
    while (!(u32(tail, at) == kEndSignature && at + kEndBytes + u16(tail, at + 20) == window)) {
      if (at == 0) {
        fail("no end-of-central-directory record in its last " + std::to_string(window) +
             " bytes (cut short, or not a zip archive)");
      }
      --at;
    }
    const uint64_t end_at = window_start + at;
    Directory directory;
    directory.entries = u16(tail, at + 10);
    directory.size = u32(tail, at + 12);
    directory.offset = u32(tail, at + 16);
    if (u16(tail, at + 4) != 0 || u16(tail, at + 6) != 0 || u16(tail, at + 8) != u16(tail, at + 10)) {
      fail("its end record describes an archive of several disks");
    }
    uint64_t records_at = end_at;  // the directory must end where the end records begin

    std::string locator_buffer;
    const bool has_locator =
        end_at >= kZip64LocatorBytes &&
        u32(source_.read(end_at - kZip64LocatorBytes, 4, locator_buffer), 0) == kZip64LocatorSignature;
    if (has_locator) {
      const std::string_view locator =
          source_.read(end_at - kZip64LocatorBytes, kZip64LocatorBytes, locator_buffer);
      const uint64_t record_at = u64(locator, 8);
      if (record_at > end_at - kZip64LocatorBytes ||
          end_at - kZip64LocatorBytes - record_at < kZip64EndBytes) {
        fail("its ZIP64 locator points to byte " + std::to_string(record_at) +
             ", where no ZIP64 end record fits");
      }
      std::string record_buffer;
      const std::string_view record = source_.read(record_at, kZip64EndBytes, record_buffer);
      if (u32(record, 0) != kZip64EndSignature) {
        fail("no ZIP64 end record at byte " + std::to_string(record_at) + ", where its locator points");
      }
      if (u32(record, 16) != 0 || u32(record, 20) != 0 || u64(record, 24) != u64(record, 32)) {
        fail("its ZIP64 end record describes an archive of several disks");
      }
      directory.entries = u64(record, 32);
      directory.size = u64(record, 40);
      directory.offset = u64(record, 48);
      records_at = record_at;
    } else if (directory.entries == 0xFFFF || directory.size == kZip64Marker ||
               directory.offset == kZip64Marker) {
      fail("its end record defers to a ZIP64 record that is missing");
    }

    if (directory.offset > records_at || records_at - directory.offset != directory.size) {
      fail("the central directory (" + std::to_string(directory.size) + " bytes at byte " +
           std::to_string(directory.offset) + ") does not end where the end record begins (byte " +
           std::to_string(records_at) + ")");
    }
    if (directory.entries > directory.size / kCentralHeaderBytes) {
      fail("the end record counts " + std::to_string(directory.entries) + " entries, more than " +
           std::to_string(directory.size) + " bytes of central directory can hold");
    }
    return directory;
  }

  // The ZIP64 extra field holds, in this order, the values whose 32-bit fields are the marker.
  void read_zip64_extra(std::string_view extra, Entry& entry, bool size_marked,
                        bool compressed_marked, bool offset_marked) const {
    std::size_t at = 0;
    while (extra.size() - at >= 4) {
      const uint16_t id = u16(extra, at);
      const std::size_t length = u16(extra, at + 2);
      at += 4;
      if (extra.size() - at < length) fail("entry '" + entry.name + "': its extra field is cut short");
      if (id == kZip64ExtraId) {
        std::size_t field = at;
        const auto next = [&](uint64_t& value) {
          if (field + 8 > at + length) {
            fail("entry '" + entry.name + "': its ZIP64 extra field lacks a size or offset");
          }
          value = u64(extra, field);
          field += 8;
        };
        if (size_marked) next(entry.uncompressed);
        if (compressed_marked) next(entry.compressed);
        if (offset_marked) next(entry.local_offset);
        return;
      }
      at += length;
    }
    if (size_marked || compressed_marked || offset_marked) {
      fail("entry '" + entry.name + "' defers its sizes or offset to a ZIP64 extra field it lacks");
    }
  }

  std::vector<Entry> read_directory(const Directory& directory) {
    std::string buffer;  // at most the file's size: the directory was checked to lie inside it
    const std::string_view bytes =
        source_.read(directory.offset, static_cast<std::size_t>(directory.size), buffer);
    std::vector<Entry> entries;
    entries.reserve(static_cast<std::size_t>(directory.entries));
    std::size_t at = 0;
    for (uint64_t index = 0; index < directory.entries; ++index) {
      const std::string where = "central directory entry " + std::to_string(index) + " (byte " +
                                std::to_string(directory.offset + at) + ")";
      if (bytes.size() - at < kCentralHeaderBytes) fail(where + " is cut short");
      if (u32(bytes, at) != kCentralHeaderSignature) fail(where + " has no entry signature");
      const std::size_t name_bytes = u16(bytes, at + 28);
      const std::size_t extra_bytes = u16(bytes, at + 30);
      const std::size_t comment_bytes = u16(bytes, at + 32);
      if (bytes.size() - at - kCentralHeaderBytes < name_bytes + extra_bytes + comment_bytes) {
        fail(where + " runs past the end of the central directory");
      }
      Entry entry;
      entry.name = std::string(bytes.substr(at + kCentralHeaderBytes, name_bytes));
      const uint16_t flags = u16(bytes, at + 8);
      entry.method = u16(bytes, at + 10);
      entry.crc = u32(bytes, at + 16);
      entry.compressed = u32(bytes, at + 20);
      entry.uncompressed = u32(bytes, at + 24);
      entry.local_offset = u32(bytes, at + 42);
      read_zip64_extra(bytes.substr(at + kCentralHeaderBytes + name_bytes, extra_bytes), entry,
                       entry.uncompressed == kZip64Marker, entry.compressed == kZip64Marker,
                       entry.local_offset == kZip64Marker);
      if ((flags & kFlagEncrypted) != 0) fail("entry '" + entry.name + "' is encrypted");
      if (entry.method != kMethodStored && entry.method != kMethodDeflated) {
        fail("entry '" + entry.name + "' uses compression method " + std::to_string(entry.method) +
             " (only stored and deflated entries are read)");
      }
      if (entry.method == kMethodStored && entry.compressed != entry.uncompressed) {
        fail("entry '" + entry.name + "' is stored but its sizes differ (" +
             std::to_string(entry.compressed) + " and " + std::to_string(entry.uncompressed) +
             " bytes)");
      }
      entries.push_back(std::move(entry));
      at += kCentralHeaderBytes + name_bytes + extra_bytes + comment_bytes;
    }
    if (at != bytes.size()) {
      fail("the central directory holds " + std::to_string(bytes.size() - at) +
           " bytes beyond its " + std::to_string(directory.entries) + " entries");
    }
    return entries;
  }

  // Checks the local header and the data of `entry`; returns where its data end.
  uint64_t check_entry(const Entry& entry, uint64_t directory_offset) {
    const std::string about = "entry '" + entry.name + "'";
    if (entry.local_offset > directory_offset ||
        directory_offset - entry.local_offset < kLocalHeaderBytes) {
      fail(about + ": its local header (byte " + std::to_string(entry.local_offset) +
           ") lies past the entries, which end at byte " + std::to_string(directory_offset));
    }
    std::string buffer;
    const std::string_view header = source_.read(entry.local_offset, kLocalHeaderBytes, buffer);
    if (u32(header, 0) != kLocalHeaderSignature) {
      fail(about + ": no local header at byte " + std::to_string(entry.local_offset));
    }
    const uint16_t method = u16(header, 8);
    const uint64_t name_bytes = u16(header, 26);
    const uint64_t data_at = entry.local_offset + kLocalHeaderBytes + name_bytes + u16(header, 28);
    if (data_at > directory_offset) {
      fail(about + ": its local header runs past the entries, which end at byte " +
           std::to_string(directory_offset));
    }
    const std::string_view local_name =
        source_.read(entry.local_offset + kLocalHeaderBytes, static_cast<std::size_t>(name_bytes), buffer);
    if (local_name != entry.name) {
      fail(about + ": its local header names '" + std::string(local_name) + "'");
    }
    if (method != entry.method) {
      fail(about + ": its local header says compression method " + std::to_string(method) +
           ", the central directory " + std::to_string(entry.method));
    }
    if (entry.compressed > directory_offset - data_at) {
      fail(about + ": its " + std::to_string(entry.compressed) + " bytes at byte " +
           std::to_string(data_at) + " run past the entries, which end at byte " +
           std::to_string(directory_offset));
    }
    const uint32_t crc = entry.method == kMethodStored ? stored_crc(entry, data_at)
                                                       : inflated_crc(entry, data_at);
    if (crc != entry.crc) {
      fail(about + " has CRC-32 " + hex32(crc) + ", the central directory records " +
           hex32(entry.crc));
    }
    return data_at + entry.compressed;
  }

  uint32_t stored_crc(const Entry& entry, uint64_t data_at) {
    uLong crc = crc32(0L, Z_NULL, 0);
    std::string buffer;
    for (uint64_t done = 0; done < entry.compressed;) {
      const auto count = static_cast<std::size_t>(std::min<uint64_t>(kChunkBytes, entry.compressed - done));
      const std::string_view chunk = source_.read(data_at + done, count, buffer);
      crc = crc32(crc, reinterpret_cast<const Bytef*>(chunk.data()), static_cast<uInt>(chunk.size()));
      done += count;
    }
    return static_cast<uint32_t>(crc);
  }

  uint32_t inflated_crc(const Entry& entry, uint64_t data_at) {
    const std::string about = "entry '" + entry.name + "'";
    if (entry.uncompressed / kMaxDeflateRatio > entry.compressed) {
      fail(about + " claims " + std::to_string(entry.uncompressed) + " bytes inflated from " +
           std::to_string(entry.compressed) + ", more than deflate can produce");
    }
    z_stream stream{};
    if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) {  // raw deflate: zip entries have no header
      throw CheckpointError(name_ + ": zlib could not start inflating " + about);
    }
    const std::unique_ptr<z_stream, int (*)(z_stream*)> end_stream(&stream, inflateEnd);
    std::vector<Bytef> output(kChunkBytes);
    std::string buffer;
    uLong crc = crc32(0L, Z_NULL, 0);
    uint64_t produced = 0;
    uint64_t consumed = 0;
    int status = Z_OK;
    while (status != Z_STREAM_END) {
      if (stream.avail_in == 0 && consumed < entry.compressed) {
        const auto count =
            static_cast<std::size_t>(std::min<uint64_t>(kChunkBytes, entry.compressed - consumed));
        const std::string_view chunk = source_.read(data_at + consumed, count, buffer);
        stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
        stream.avail_in = static_cast<uInt>(count);
        consumed += count;
      }
      stream.next_out = output.data();
      stream.avail_out = static_cast<uInt>(output.size());
      status = inflate(&stream, Z_NO_FLUSH);
      if (status == Z_BUF_ERROR) fail(about + ": its deflated data end early");  // no input left
      if (status != Z_OK && status != Z_STREAM_END) {
        fail(about + ": its deflated data are corrupt (zlib: " +
             (stream.msg != nullptr ? stream.msg : std::to_string(status)) + ")");
      }
      const std::size_t count = output.size() - stream.avail_out;
      produced += count;
      if (produced > entry.uncompressed) {
        fail(about + " inflates to more than the " + std::to_string(entry.uncompressed) +
             " bytes its directory records");
      }
      crc = crc32(crc, output.data(), static_cast<uInt>(count));
    }
    if (produced != entry.uncompressed) {
      fail(about + " inflates to " + std::to_string(produced) + " bytes, its directory records " +
           std::to_string(entry.uncompressed));
    }
    return static_cast<uint32_t>(crc);
  }

  ByteSource& source_;
  const std::string& name_;
};

}  // namespace

void verify_zip_archive(std::string_view bytes, const std::string& name) {
  MemorySource source(bytes);
  ArchiveChecker(source, name).check();
}

void verify_zip_file(const std::string& path) {
  FileSource source(path);
  ArchiveChecker(source, path).check();
}

bool looks_like_zip(std::string_view bytes) {
  return bytes.size() >= 4 && u32(bytes, 0) == kLocalHeaderSignature;
}

}  // namespace rsd
