// TensorBoard's file format as librsd writes it: CRC-32C against its standard check value, the
// record framing read back by its own parser (both CRCs verified, corruption detected), and the
// writer's events decoded with the generated message classes. Built without libtorch (see
// tests/CMakeLists.txt), so it links the writer's objects directly.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "crc32c.h"
#include "record_framing.h"
#include "rsd/util/error.h"
#include "rsd/util/tensorboard_writer.h"
#include "tensorboard_event.pb.h"

namespace {

namespace fs = std::filesystem;
using rsd::tensorboard::crc32c;
using rsd::tensorboard::Event;
using rsd::tensorboard::frame_record;
using rsd::tensorboard::masked_crc32c;
using rsd::tensorboard::unframe_records;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "rsd_tb_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<Event> read_events(const std::string& path) {
  std::vector<Event> events;
  for (const std::string& record : rsd::tensorboard::read_records(path)) {
    Event event;
    EXPECT_TRUE(event.ParseFromString(record));
    events.push_back(event);
  }
  return events;
}

TEST(Crc32c, MatchesTheStandardCheckValues) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0x00000000u);
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros and 32 bytes of 0xFF.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
}

TEST(Crc32c, MaskRotatesAndOffsets) {
  const uint32_t crc = crc32c("123456789");
  EXPECT_EQ(masked_crc32c("123456789"), ((crc >> 15) | (crc << 17)) + 0xA282EAD8u);
  EXPECT_NE(masked_crc32c("123456789"), crc);
}

TEST(RecordFraming, LayoutIsLengthCrcDataCrc) {
  const std::string framed = frame_record("abc");
  ASSERT_EQ(framed.size(), 8u + 4u + 3u + 4u);
  EXPECT_EQ(framed.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(framed.substr(12, 3), "abc");
  const uint32_t data_crc = masked_crc32c("abc");
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(static_cast<uint8_t>(framed[15 + i]), (data_crc >> (8 * i)) & 0xFFu) << i;
  }
}

TEST(RecordFraming, RoundTripsRecordsOfAnySize) {
  const std::vector<std::string> records = {"", "x", std::string(70000, '\x7f'),
                                            std::string("with\0zero", 9)};
  std::string file;
  for (const std::string& record : records) file += frame_record(record);
  EXPECT_EQ(unframe_records(file, "memory"), records);
}

TEST(RecordFraming, DetectsCorruptionAndTruncation) {
  const std::string good = frame_record("payload") + frame_record("second");
  std::string bad_data = good;
  bad_data[13] ^= 0x01;  // inside the first record's data
  EXPECT_THROW(unframe_records(bad_data, "memory"), rsd::DataError);
  std::string bad_length = good;
  bad_length[0] ^= 0x01;
  EXPECT_THROW(unframe_records(bad_length, "memory"), rsd::DataError);
  EXPECT_THROW(unframe_records(good.substr(0, good.size() - 1), "memory"), rsd::DataError);
  EXPECT_THROW(unframe_records(good.substr(0, 5), "memory"), rsd::DataError);
}

TEST(TensorBoardWriter, WritesVersionScalarsImagesAndText) {
  TempDir dir;
  std::string path;
  {
    rsd::TensorBoardWriter writer((dir.path() / "tb").string());
    path = writer.path();
    writer.add_scalar("train/loss", 0.25, 3, 1700000000.5);
    writer.add_scalar("train/loss", 0.125, 4);
    writer.add_image("val/bev", {std::string("\x89PNG fake", 9), 20, 30, 3}, 4);
    writer.add_text("config", "run:\n  name: x\n", 0);
    writer.flush();
  }
  EXPECT_EQ(fs::path(path).parent_path(), dir.path() / "tb");
  EXPECT_EQ(fs::path(path).filename().string().rfind("events.out.tfevents.", 0), 0u);

  const std::vector<Event> events = read_events(path);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_GT(events[0].wall_time(), 1.5e9);

  EXPECT_EQ(events[1].step(), 3);
  EXPECT_EQ(events[1].wall_time(), 1700000000.5);
  ASSERT_EQ(events[1].summary().value_size(), 1);
  EXPECT_EQ(events[1].summary().value(0).tag(), "train/loss");
  EXPECT_EQ(events[1].summary().value(0).simple_value(), 0.25f);
  EXPECT_EQ(events[2].step(), 4);
  EXPECT_EQ(events[2].summary().value(0).simple_value(), 0.125f);

  const auto& image = events[3].summary().value(0);
  EXPECT_EQ(image.tag(), "val/bev");
  EXPECT_EQ(image.image().height(), 20);
  EXPECT_EQ(image.image().width(), 30);
  EXPECT_EQ(image.image().colorspace(), 3);
  EXPECT_EQ(image.image().encoded_image_string(), std::string("\x89PNG fake", 9));

  const auto& text = events[4].summary().value(0);
  EXPECT_EQ(text.tag(), "config");
  EXPECT_EQ(text.metadata().plugin_data().plugin_name(), "text");
  EXPECT_EQ(text.tensor().dtype(), rsd::tensorboard::DT_STRING);
  ASSERT_EQ(text.tensor().string_val_size(), 1);
  EXPECT_EQ(text.tensor().string_val(0), "run:\n  name: x\n");
}

TEST(TensorBoardWriter, ASecondWriterAddsAFileThatSortsAfterTheFirst) {
  TempDir dir;
  rsd::TensorBoardWriter first(dir.path().string());
  rsd::TensorBoardWriter second(dir.path().string());
  EXPECT_NE(first.path(), second.path());
  EXPECT_LT(first.path(), second.path());
}

}  // namespace
