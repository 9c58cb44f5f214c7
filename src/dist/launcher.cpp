#include "rsd/dist/launcher.h"

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "rsd/util/error.h"
#include "rsd/util/logging.h"

extern char** environ;

namespace rsd::dist {
namespace {

bool is_rendezvous_variable(const std::string& entry) {
  for (const char* name : {"MASTER_ADDR=", "MASTER_PORT=", "RANK=", "WORLD_SIZE=", "LOCAL_RANK="}) {
    if (entry.rfind(name, 0) == 0) return true;
  }
  return false;
}

pid_t spawn_worker(const std::vector<std::string>& argv, const LaunchOptions& options, int rank,
                   int port) {
  std::vector<std::string> env = {"MASTER_ADDR=" + options.master_addr,
                                  "MASTER_PORT=" + std::to_string(port),
                                  "RANK=" + std::to_string(rank),
                                  "LOCAL_RANK=" + std::to_string(rank),
                                  "WORLD_SIZE=" + std::to_string(options.nproc)};
  for (char** e = environ; *e != nullptr; ++e) {
    if (!is_rendezvous_variable(*e)) env.emplace_back(*e);
  }
  std::vector<char*> args;
  std::vector<std::string> argv_copy = argv;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int status = posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), envp.data());
  if (status != 0) {
    throw Error("cannot start worker " + std::to_string(rank) + " (" + argv[0] +
                "): " + std::strerror(status));
  }
  return pid;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGPIPE: return "SIGPIPE";
    default: return ::strsignal(signal);  // POSIX, not in <cstring>
  }
}

// How a worker ended, for the person reading the launcher's log: a bare "status 137" hides both
// which rank died and that the kernel's OOM killer is the usual sender of SIGKILL.
std::string describe_exit(int rank, pid_t pid, int status) {
  std::string text = "worker rank " + std::to_string(rank) + " (pid " + std::to_string(pid) + ")";
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    text += " was killed by signal " + std::to_string(signal) + " (" + signal_name(signal) +
            (signal == SIGKILL ? "; out of memory?" : "") + ")";
  } else {
    text += " exited";
  }
  return text + " with status " + std::to_string(exit_code(status));
}

}  // namespace

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) throw Error("cannot find a free loopback port");
  return ntohs(address.sin_port);
}

int launch_local(const std::vector<std::string>& argv, const LaunchOptions& options) {
  RSD_CHECK(!argv.empty(), "no program to launch");
  RSD_CHECK(options.nproc >= 1, "--nproc must be at least 1, got ", options.nproc);
  const int port = options.master_port > 0 ? options.master_port : free_local_port();
  logging::info("starting " + std::to_string(options.nproc) + " workers, rendezvous at " +
                options.master_addr + ":" + std::to_string(port));

  std::vector<pid_t> running;
  std::map<pid_t, int> rank_of;
  for (int rank = 0; rank < options.nproc; ++rank) {
    try {
      running.push_back(spawn_worker(argv, options, rank, port));
      rank_of[running.back()] = rank;
    } catch (...) {
      for (const pid_t pid : running) ::kill(pid, SIGTERM);
      for (const pid_t pid : running) ::waitpid(pid, nullptr, 0);
      throw;
    }
  }

  int result = 0;
  bool stopping = false;
  auto stop_deadline = std::chrono::steady_clock::now();
  while (!running.empty()) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, stopping ? WNOHANG : 0);
    if (pid > 0) {
      const auto worker = rank_of.find(pid);
      if (worker == rank_of.end()) continue;  // a child of this process that is no worker
      running.erase(std::remove(running.begin(), running.end(), pid), running.end());
      const int code = exit_code(status);
      if (code != 0 && result == 0) {
        result = code;
        logging::error(describe_exit(worker->second, pid, status) + "; stopping the others");
        for (const pid_t other : running) ::kill(other, SIGTERM);
        stopping = true;
        stop_deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(options.grace_s * 1000));
      }
    } else if (pid < 0 && errno != EINTR) {
      break;
    } else if (stopping) {
      if (std::chrono::steady_clock::now() > stop_deadline) {
        for (const pid_t other : running) ::kill(other, SIGKILL);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return result;
}

}  // namespace rsd::dist
