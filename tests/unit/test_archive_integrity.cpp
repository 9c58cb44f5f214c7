// The zip integrity check run before libtorch reads a checkpoint or a weights file
// (rsd/util/archive_integrity.h): sound archives pass, damaged ones are refused naming the file
// and the entry.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "rsd/train/checkpoint.h"
#include "rsd/util/archive_integrity.h"
#include "rsd/util/error.h"
#include "rsd/util/fs.h"
#include "support/error_message.h"
#include "support/temp_dir.h"
#include "support/zip_entries.h"

namespace {

using rsd::test::error_message;
using rsd::train::CheckpointManager;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A model with its optimiser after one step, so that the checkpoint holds optimiser state.
struct TrainedModel {
  TrainedModel() : model(3, 2), optimizer(model->parameters(), torch::optim::AdamWOptions(1e-3)) {
    model->forward(torch::rand({4, 3})).sum().backward();
    optimizer.step();
  }
  torch::nn::Linear model;
  torch::optim::AdamW optimizer;
};

std::string save_checkpoint(const rsd::test::TempDir& dir, const TrainedModel& run) {
  const CheckpointManager manager(dir.file("checkpoints"), 2);
  rsd::train::TrainingProgress progress;
  progress.step = 10;
  return manager.save(progress, *run.model, run.optimizer, false);
}

TEST(ArchiveIntegrity, ACheckpointOfTheManagerPassesAndLoads) {
  const rsd::test::TempDir dir;
  TrainedModel run;
  const std::string path = save_checkpoint(dir, run);
  EXPECT_NO_THROW(rsd::verify_zip_file(path));
  EXPECT_NO_THROW(rsd::verify_zip_archive(rsd::read_file(path), path));
  EXPECT_EQ(CheckpointManager::load(path, *run.model, &run.optimizer).step, 10);
}

TEST(ArchiveIntegrity, ATorchSaveFileOfPythonPasses) {
  const std::string path = std::string(RSD_SOURCE_DIR) + "/tests/unit/data/torch_save_dict.pt";
  EXPECT_NO_THROW(rsd::verify_zip_file(path));
  EXPECT_TRUE(rsd::looks_like_zip(rsd::read_file(path)));
}

// libtorch does not check CRCs: without the check the damaged weight loads silently.
TEST(ArchiveIntegrity, OneFlippedByteOfATensorIsRefusedNamingTheEntry) {
  const rsd::test::TempDir dir;
  TrainedModel run;
  std::string bytes = rsd::read_file(save_checkpoint(dir, run));
  const rsd::test::ZipEntry* weight = nullptr;
  const auto entries = rsd::test::zip_entries(bytes);
  for (const auto& entry : entries) {
    if (entry.name == "archive/data/0") weight = &entry;
  }
  ASSERT_NE(weight, nullptr) << "the archive's layout changed: no archive/data/0";
  bytes[weight->data_at + weight->data_bytes / 2] ^= 0x10;
  const std::string damaged = dir.write("step_11.pt", bytes);
  const std::string message = error_message<rsd::CheckpointError>(
      [&] { CheckpointManager::load(damaged, *run.model, &run.optimizer); });
  EXPECT_TRUE(contains(message, damaged + ": damaged archive: entry 'archive/data/0' has CRC-32 0x"))
      << message;
  EXPECT_TRUE(contains(message, "the central directory records 0x")) << message;
}

TEST(ArchiveIntegrity, ADamagedDeflatedEntryIsRefused) {
  const rsd::test::TempDir dir;
  TrainedModel run;
  std::string bytes = rsd::read_file(save_checkpoint(dir, run));
  const rsd::test::ZipEntry* deflated = nullptr;
  const auto entries = rsd::test::zip_entries(bytes);
  for (const auto& entry : entries) {
    if (entry.method == 8 && deflated == nullptr) deflated = &entry;
  }
  ASSERT_NE(deflated, nullptr) << "libtorch no longer deflates its code entries";
  bytes[deflated->data_at + deflated->data_bytes / 2] ^= 0x01;
  const std::string damaged = dir.write("damaged.pt", bytes);
  const std::string message = error_message<rsd::CheckpointError>([&] { rsd::verify_zip_file(damaged); });
  EXPECT_TRUE(contains(message, damaged + ": damaged archive: entry '" + deflated->name + "'"))
      << message;
}

TEST(ArchiveIntegrity, ATruncatedFileIsRefusedNamingTheFile) {
  const rsd::test::TempDir dir;
  TrainedModel run;
  const std::string bytes = rsd::read_file(save_checkpoint(dir, run));
  for (const std::size_t kept : {bytes.size() - 1, bytes.size() / 2, std::size_t{10}, std::size_t{0}}) {
    const std::string cut = dir.write("cut_" + std::to_string(kept) + ".pt", bytes.substr(0, kept));
    const std::string message = error_message<rsd::CheckpointError>(
        [&] { CheckpointManager::load(cut, *run.model, &run.optimizer); });
    EXPECT_TRUE(contains(message, cut + ": damaged archive: ")) << message;
  }
  const std::string end_cut = dir.write("end_cut.pt", bytes.substr(0, bytes.size() - 1));
  EXPECT_TRUE(contains(error_message<rsd::CheckpointError>([&] { rsd::verify_zip_file(end_cut); }),
                       "no end-of-central-directory record"));
}

TEST(ArchiveIntegrity, ADamagedCentralDirectoryIsRefused) {
  const rsd::test::TempDir dir;
  TrainedModel run;
  const std::string good = rsd::read_file(save_checkpoint(dir, run));
  const auto entries = rsd::test::zip_entries(good);
  ASSERT_GE(entries.size(), 2u);
  const rsd::test::ZipEntry& entry = entries[1];
  const auto refusal = [&](std::string bytes) {
    const std::string path = dir.write("damaged.pt", bytes);
    return error_message<rsd::CheckpointError>(
        [&] { CheckpointManager::load(path, *run.model, &run.optimizer); });
  };

  std::string renamed = good;  // a byte of the entry's name
  renamed[entry.central_at + 46 + entry.name.size() - 1] ^= 0x01;
  EXPECT_TRUE(contains(refusal(renamed), "its local header names '" + entry.name + "'"));

  std::string wrong_crc = good;  // the recorded CRC-32
  wrong_crc[entry.central_at + 16] ^= 0x01;
  EXPECT_TRUE(contains(refusal(wrong_crc), "entry '" + entry.name + "' has CRC-32"));

  std::string moved = good;  // the local header's offset
  moved[entry.central_at + 42] ^= 0x04;
  EXPECT_TRUE(contains(refusal(moved), "entry '" + entry.name + "'"));

  std::string no_signature = good;  // the header's signature
  no_signature[entry.central_at] = 'X';
  EXPECT_TRUE(contains(refusal(no_signature), "central directory entry 1 "));

  std::string oversized = good;  // a size beyond the file
  oversized[entry.central_at + 23] = 0x7f;
  oversized[entry.central_at + 27] = 0x7f;
  EXPECT_TRUE(contains(refusal(oversized), "entry '" + entry.name + "'"));
}

TEST(ArchiveIntegrity, BytesThatAreNoZipAreRefused) {
  EXPECT_FALSE(rsd::looks_like_zip("\x80\x02}q\x00."));
  EXPECT_TRUE(contains(error_message<rsd::CheckpointError>(
                           [] { rsd::verify_zip_archive(std::string(100, 'x'), "weights file w.pt"); }),
                       "weights file w.pt: damaged archive: no end-of-central-directory record"));
  EXPECT_TRUE(contains(error_message<rsd::CheckpointError>(
                           [] { rsd::verify_zip_archive("", "empty.pt"); }),
                       "empty.pt: damaged archive: only 0 bytes"));
}

}  // namespace
