// Regression tests for what the fuzzers of tests/fuzz found (docs/testing.md), each with the input
// (or the essence of the input) that found it. Each names its harness.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "rsd/data/clip_index.h"
#include "rsd/data/frame_reader.h"
#include "rsd/teacher/risk_cache.h"
#include "rsd/teacher/risk_cache_reader.h"
#include "rsd/train/checkpoint.h"
#include "rsd/util/error.h"
#include "rsd/util/fs.h"
#include "support/error_message.h"
#include "support/temp_dir.h"
#include "support/zip_entries.h"

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

// fuzz_risk_cache: training's lazy reader (RiskCacheReader) allocated whatever size the file's
// header or frame table claimed before reading it (a corrupt file asked for 369 GB: bad_alloc or the
// OOM killer). Sizes are now checked against the file's length first.
TEST(FuzzFindings, RiskCacheSizesBeyondTheFileAreTruncationErrorsNotAllocations) {
  const rsd::test::TempDir dir;
  const rsd::GridSpec grid({-2.0, 2.0, 1.0}, {-2.0, 2.0, 1.0}, {-5.0, 3.0, 8.0});
  rsd::teacher::RiskCacheHeader header(grid);
  header.complete = true;
  header.clip = "PedestrianCrossing_Town12_Route1_Weather3";
  header.teacher = {"rule", "rule-v1", ""};
  rsd::teacher::RiskCacheFile file(header);
  rsd::teacher::CachedFrame frame;
  frame.frame = 0;
  frame.map = torch::rand({4, 4});
  file.add(frame);
  const std::string good = file.serialize();
  const auto patch_u64 = [](std::string bytes, std::size_t at, uint64_t value) {
    std::memcpy(bytes.data() + at, &value, sizeof value);  // the format is little-endian
    return bytes;
  };
  rsd::teacher::RiskCacheReaderOptions options;
  options.check = rsd::teacher::RiskCacheCheck::off;

  // The frame count (offset 96, 32 bits): a frame table of 2^32 - 1 entries, 160 GiB.
  const std::string folder = dir.path() + "/count";
  std::string many_frames = good;
  const uint32_t count = 0xFFFFFFFFu;
  std::memcpy(many_frames.data() + 96, &count, sizeof count);
  dir.write("count/" + header.clip + rsd::teacher::kRiskCacheExtension, many_frames);
  EXPECT_NE(error_message<rsd::DataError>([&] { rsd::teacher::RiskCacheReader(folder, grid, options); })
                .find("truncated frame table"),
            std::string::npos);

  // Frame 0's record size (its table entry's last field): 1 TiB.
  uint32_t meta_bytes = 0;
  std::memcpy(&meta_bytes, good.data() + 100, sizeof meta_bytes);
  const std::size_t record_bytes_at = 104 + meta_bytes + 32;
  const std::string big_record = patch_u64(good, record_bytes_at, uint64_t{1} << 40);
  dir.write("record/" + header.clip + rsd::teacher::kRiskCacheExtension, big_record);
  const rsd::teacher::RiskCacheReader reader(dir.path() + "/record", grid, options);
  EXPECT_NE(error_message<rsd::DataError>([&] { reader.frame_record(header.clip, 0); })
                .find("truncated at frame 0"),
            std::string::npos);
}

// fuzz_checkpoint: a damaged type annotation in the archive's pickled code (one byte:
// "exp_avg : Tensor" -> "exp_avg :`Tensor") made libtorch's TorchScript parser throw a
// std::runtime_error, not a c10::Error, which escaped CheckpointManager::load (std::terminate in
// rsd_train --resume and rsd_eval) instead of a CheckpointError naming the file. The archive check
// now refuses such a damaged file first, so the entry's CRC-32 is forged: a crafted archive still
// reaches libtorch's parser.
TEST(FuzzFindings, CheckpointWithDamagedPickledTypesIsACheckpointError) {
  const rsd::test::TempDir dir;
  torch::nn::Linear model(3, 2);
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-3));
  model->forward(torch::rand({4, 3})).sum().backward();
  optimizer.step();  // the optimiser's state (exp_avg, ...) is what carries the typed code
  const rsd::train::CheckpointManager manager(dir.path(), 2);
  const std::string path = manager.save(rsd::train::TrainingProgress{}, *model, optimizer, false);

  std::string bytes = rsd::read_file(path);
  const std::size_t at = bytes.find("exp_avg : Tensor");
  ASSERT_NE(at, std::string::npos) << "the archive's layout changed: find another typed line";
  bytes[at + std::strlen("exp_avg :")] = '`';
  rsd::test::forge_crc(bytes, rsd::test::zip_entry_holding(bytes, at));
  const std::string damaged = dir.write("damaged.pt", bytes);
  EXPECT_NE(error_message<rsd::CheckpointError>([&] {
              rsd::train::CheckpointManager::load(damaged, *model, &optimizer);
            }).find(damaged + ": not a readable checkpoint"),
            std::string::npos);
}

struct FuzzNetImpl : torch::nn::Module {  // the model of tests/fuzz/fuzz_checkpoint.cpp
  FuzzNetImpl()
      : conv(register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 3, 3)))),
        norm(register_module("norm", torch::nn::BatchNorm2d(3))),
        head(register_module("head", torch::nn::Linear(3, 2))) {}
  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d norm;
  torch::nn::Linear head;
};

// fuzz_checkpoint (tests/unit/data/fuzz_checkpoint_optimizer_field.pt, a checkpoint of the
// harness's model with a damaged optimiser archive): AdamW::load threw
// torch::jit::ObjectAttributeError ("does not have a field with name 'params/6'"), not a
// c10::Error, which escaped CheckpointManager::load instead of a CheckpointError naming the file.
// Its CRCs are forged, so that it passes the archive check and still reaches libtorch.
TEST(FuzzFindings, CheckpointWithDamagedOptimiserStateIsACheckpointError) {
  FuzzNetImpl model;
  torch::optim::AdamW optimizer(model.parameters(), torch::optim::AdamWOptions(1e-3));
  const rsd::test::TempDir dir;
  std::string bytes = rsd::read_file(std::string(RSD_SOURCE_DIR) +
                                     "/tests/unit/data/fuzz_checkpoint_optimizer_field.pt");
  rsd::test::forge_crcs(bytes);
  const std::string path = dir.write("step_1.pt", bytes);
  const std::string message = error_message<rsd::CheckpointError>(
      [&] { rsd::train::CheckpointManager::load(path, model, &optimizer); });
  EXPECT_NE(message.find(path + ": "), std::string::npos) << message;
  EXPECT_EQ(message.find("damaged archive"), std::string::npos) << message;
}

// fuzz_checkpoint, inside libtorch 1.13 (tests/unit/data/fuzz/checkpoint_libtorch_*.pt: a
// segmentation fault in ScriptTypeParser::parseClassConstant, another crash and an allocation of
// gigabytes in the unpickler, found with -fork=1 -ignore_crashes=1): damaged bytes reached
// libtorch's reader, which checks no CRC. The archive check refuses them before libtorch reads.
TEST(FuzzFindings, CheckpointsThatCrashedLibtorchAreRefusedByTheArchiveCheck) {
  FuzzNetImpl model;
  torch::optim::AdamW optimizer(model.parameters(), torch::optim::AdamWOptions(1e-3));
  for (const char* name : {"segv", "crash", "oom"}) {
    const std::string path = std::string(RSD_SOURCE_DIR) + "/tests/unit/data/fuzz/checkpoint_libtorch_" +
                             name + ".pt";
    EXPECT_NE(error_message<rsd::CheckpointError>([&] {
                rsd::train::CheckpointManager::load(path, model, &optimizer);
              }).find(path + ": damaged archive: "),
              std::string::npos)
        << path;
  }
}

}  // namespace
