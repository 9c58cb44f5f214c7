// Regression tests for what the fuzzers of tests/fuzz found (docs/testing.md), each with the input
// (or the essence of the input) that found it. Each names its harness.
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "rsd/data/clip_index.h"
#include "rsd/data/frame_reader.h"
#include "rsd/util/error.h"
#include "support/error_message.h"
#include "support/temp_dir.h"

namespace {

using rsd::test::error_message;

void write_gzip(const std::string& path, const std::string& text) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  ASSERT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

// fuzz_annotation and fuzz_split_file: a number beyond double's range is nlohmann's out_of_range
// (406), not a parse_error; it escaped the readers as a foreign exception (std::terminate in the
// data loader's worker) instead of a DataError naming the file.
TEST(FuzzFindings, NumbersBeyondDoubleRangeAreDataErrorsNamingTheFile) {
  const rsd::test::TempDir dir;
  rsd::data::ClipInfo clip;
  clip.name = "PedestrianCrossing_Town12_Route1_Weather3";
  clip.path = dir.path() + "/" + clip.name;
  clip.frames = {0};
  const std::string anno = rsd::data::annotation_path(clip, 0);
  dir.write(clip.name + "/anno/.keep", "");
  write_gzip(anno, "{\"x\": 622.435E078522866, \"bounding_boxes\": []}");
  const rsd::data::FrameReader reader;
  EXPECT_NE(error_message<rsd::DataError>([&] { reader.read(clip, 0); }).find(anno + ": bad JSON"),
            std::string::npos);

  const std::string split = dir.write("split.json", "{\"val\": [\"a\", 8888888888e88888]}");
  EXPECT_NE(error_message<rsd::DataError>([&] { rsd::data::read_split_val_list(split); })
                .find(split + ": bad JSON"),
            std::string::npos);
  const std::string list = dir.write("list.json", "[\"a\", -1e999]");
  EXPECT_NE(error_message<rsd::DataError>([&] { rsd::data::read_clip_list(list); })
                .find(list + ": bad JSON"),
            std::string::npos);
}

}  // namespace
