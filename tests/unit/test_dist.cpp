// Data-parallel training over c10d: two processes on loopback against one process on the combined
// batch, and the failures that must end in a clear error instead of a hang.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "rsd/dist/dist_options.h"
#include "rsd/util/error.h"
#include "support/temp_dir.h"

extern char** environ;

namespace {

// A port that was free a moment ago (the kernel's choice for port 0).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

struct Worker {
  pid_t pid = -1;
  std::string log;
};

// Starts one rsd_dist_worker as `rank` of `world`, its output going to a log file.
Worker start_worker(const rsd::test::TempDir& dir, int rank, int world, int port,
                    const std::vector<std::string>& args) {
  Worker worker;
  worker.log = dir.file("rank" + std::to_string(rank) + ".log");
  std::vector<std::string> env_strings = {
      "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port),
      "RANK=" + std::to_string(rank), "WORLD_SIZE=" + std::to_string(world),
      "LOCAL_RANK=" + std::to_string(rank), "OMP_NUM_THREADS=1"};
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (entry.rfind("RANK=", 0) != 0 && entry.rfind("WORLD_SIZE=", 0) != 0 &&
        entry.rfind("MASTER_", 0) != 0 && entry.rfind("LOCAL_RANK=", 0) != 0) {
      env_strings.push_back(entry);
    }
  }
  std::vector<std::string> argv_strings = {RSD_DIST_WORKER};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, worker.log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  EXPECT_EQ(posix_spawn(&worker.pid, argv[0], &actions, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&actions);
  return worker;
}

int wait_exit_code(const Worker& worker) {
  int status = 0;
  ::waitpid(worker.pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<torch::Tensor> load_parameters(const std::string& path) {
  std::vector<torch::Tensor> parameters;
  torch::load(parameters, path);
  return parameters;
}

// Trains with `world` processes and returns rank 0's final parameters (checking all ranks agree).
std::vector<torch::Tensor> train(const rsd::test::TempDir& dir, int world, int accumulate,
                                 const std::string& bucket_mb) {
  const int port = free_port();
  std::vector<Worker> workers;
  for (int rank = 0; rank < world; ++rank) {
    const std::string out = dir.file("w" + std::to_string(world) + "_r" + std::to_string(rank) + ".pt");
    workers.push_back(start_worker(dir, rank, world, port,
                                   {"train", out, "5", std::to_string(accumulate), bucket_mb, "30"}));
  }
  for (int rank = 0; rank < world; ++rank) {
    EXPECT_EQ(wait_exit_code(workers[rank]), 0) << rsd::test::read_text(workers[rank].log);
  }
  const auto first = load_parameters(dir.file("w" + std::to_string(world) + "_r0.pt"));
  for (int rank = 1; rank < world; ++rank) {
    const auto other = load_parameters(dir.file("w" + std::to_string(world) + "_r" +
                                                std::to_string(rank) + ".pt"));
    for (std::size_t i = 0; i < first.size(); ++i) EXPECT_TRUE(torch::equal(first[i], other[i]));
  }
  return first;
}

TEST(Dist, TwoProcessesEqualOneProcessOnTheCombinedBatch) {
  rsd::test::TempDir dir;
  // Tiny buckets: many all-reduces started during backward, plus gradient accumulation and a
  // parameter that never receives a gradient.
  const auto single = train(dir, 1, 2, "0.0005");
  const auto pair = train(dir, 2, 2, "0.0005");
  ASSERT_EQ(single.size(), pair.size());
  for (std::size_t i = 0; i < single.size(); ++i) {
    EXPECT_LT((single[i] - pair[i]).abs().max().item<double>(), 1e-6) << "parameter " << i;
  }
}

TEST(Dist, ADeadRankEndsTheOtherWithATimeoutErrorNotAHang) {
  rsd::test::TempDir dir;
  const int port = free_port();
  const auto begin = std::chrono::steady_clock::now();
  Worker rank0 = start_worker(dir, 0, 2, port, {"die", dir.file("x.pt"), "5", "1", "25", "3"});
  Worker rank1 = start_worker(dir, 1, 2, port, {"die", dir.file("y.pt"), "5", "1", "25", "3"});
  EXPECT_EQ(wait_exit_code(rank1), 0);
  EXPECT_EQ(wait_exit_code(rank0), 1);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  EXPECT_LT(seconds, 25.0);
  const std::string log = rsd::test::read_text(rank0.log);
  EXPECT_NE(log.find("failed on rank 0 of 2"), std::string::npos) << log;
}

TEST(Dist, APortInUseIsReportedAsSuch) {
  rsd::test::TempDir dir;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int busy = ntohs(address.sin_port);
  Worker rank0 = start_worker(dir, 0, 2, busy, {"train", dir.file("x.pt"), "1", "1", "25", "3"});
  EXPECT_EQ(wait_exit_code(rank0), 1);
  ::close(fd);
  const std::string log = rsd::test::read_text(rank0.log);
  EXPECT_NE(log.find("port in use"), std::string::npos) << log;
}

}  // namespace
