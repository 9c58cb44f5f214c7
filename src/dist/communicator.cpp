#include "rsd/dist/communicator.h"

#include "rsd/util/torch_compat.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if RSD_TORCH_HAS_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstring>
#include <map>
#include <tuple>
#include <sstream>

#include "rsd/util/error.h"
#include "rsd/util/logging.h"

namespace rsd::dist {

struct Communicator::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<torch_compat::CollectiveBackend> process_group;
};

namespace {

std::chrono::milliseconds timeout_of(const DistOptions& options) {
  return std::chrono::milliseconds(static_cast<int64_t>(options.timeout_s * 1000.0));
}

std::string seconds(double value) {
  std::ostringstream text;
  text << value << " s";
  return text.str();
}

std::string where(const DistOptions& o) {
  return o.master_addr + ":" + std::to_string(o.master_port);
}

std::string message_of(const std::exception& e) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&e)) {
    return torch_error->what_without_backtrace();
  }
  return e.what();
}

// Waits for one c10d work item, turning its failure into an rsd::Error that says what to check.
void wait_for(const c10::intrusive_ptr<c10d::Work>& work, const DistOptions& o, const char* what) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    throw Error(std::string(what) + " failed on rank " + std::to_string(o.rank) + " of " +
                std::to_string(o.world_size) + " (a peer exited, or did not answer within " +
                seconds(o.timeout_s) + " = dist.timeout_s): " + message_of(e));
  }
}

class WorkPending : public Communicator::Pending {
 public:
  WorkPending(c10::intrusive_ptr<c10d::Work> work, const DistOptions& options)
      : work_(std::move(work)), options_(options) {}
  void wait() override { wait_for(work_, options_, "gradient all-reduce"); }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
  DistOptions options_;
};

class DonePending : public Communicator::Pending {
 public:
  void wait() override {}
};

// Refuses a backend that cannot work for ranks on `device`, before anything is opened.
void check_backend(const DistOptions& o, const c10::Device& device) {
  if (o.backend != "nccl") return;
  if (!device.is_cuda()) {
    throw ConfigError("dist.backend 'nccl' all-reduces CUDA tensors only, but this rank computes on " +
                      device.str() + "; use dist.backend: gloo (or auto) on the CPU");
  }
  if (!nccl_available()) {
    throw ConfigError("dist.backend 'nccl' needs a libtorch built with CUDA and NCCL (torch >= 2.3, "
                      "such as PyPI's: scripts/setup.sh --torch pypi); this libtorch has no NCCL, "
                      "use dist.backend: gloo");
  }
}

c10::intrusive_ptr<torch_compat::CollectiveBackend> gloo_group(
    const c10::intrusive_ptr<c10d::Store>& store, const DistOptions& o) {
  auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout_of(o));
  // Loopback for single-machine jobs; otherwise the address this host resolves to.
  gloo_options->devices.push_back(o.master_addr == "127.0.0.1" || o.master_addr == "localhost"
                                      ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                      : c10d::ProcessGroupGloo::createDefaultDevice());
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, o.rank, o.world_size, gloo_options);
}

c10::intrusive_ptr<torch_compat::CollectiveBackend> nccl_group(
    const c10::intrusive_ptr<c10d::Store>& store, const DistOptions& o, const c10::Device& device) {
#if RSD_TORCH_HAS_NCCL
  auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
  nccl_options->timeout = timeout_of(o);
  auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, o.rank, o.world_size, nccl_options);
  // Barriers and the lazily created NCCL communicators use this GPU rather than a guess from the rank.
  group->setBoundDeviceId(device);
  return group;
#else
  (void)store;
  (void)o;
  (void)device;
  throw Error("unreachable: nccl without NCCL passes check_backend");
#endif
}

}  // namespace

bool nccl_available() { return RSD_TORCH_HAS_NCCL != 0; }

Communicator::Communicator(const DistOptions& options, const c10::Device& device)
    : options_(options), device_(device), value_device_(c10::kCPU) {
  options_.backend = resolve_backend(options_.backend, device_);
  check_backend(options_, device_);
  if (options_.backend == "nccl") value_device_ = device_;
  if (!options_.distributed()) return;
  group_ = std::make_unique<Group>();
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(options_.master_port);
  store_options.isServer = options_.rank == 0;
  store_options.numWorkers = options_.world_size;
  store_options.waitWorkers = false;  // the process group's own rendezvous waits, with our timeout
  store_options.timeout = timeout_of(options_);
  try {
    group_->store = c10::make_intrusive<c10d::TCPStore>(options_.master_addr, store_options);
  } catch (const std::exception& e) {
    if (options_.rank == 0) {
      throw Error("rank 0 cannot serve the rendezvous at " + where(options_) +
                  " (is the port in use by another job? set MASTER_PORT or dist.master_port): " +
                  message_of(e));
    }
    throw Error("rank " + std::to_string(options_.rank) + " cannot reach the rendezvous at " +
                where(options_) + " within " + seconds(options_.timeout_s) +
                " (is rank 0 running? is MASTER_ADDR right?): " + message_of(e));
  }
  try {
    group_->process_group = options_.backend == "nccl" ? nccl_group(group_->store, options_, device_)
                                                      : gloo_group(group_->store, options_);
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(options_.rank) + ": the " +
                std::to_string(options_.world_size) + " ranks did not all join at " +
                where(options_) + " within " + seconds(options_.timeout_s) + " (" +
                options_.backend + "): " + message_of(e));
  }
  logging::info("joined data-parallel job at " + where(options_) + " as rank " +
                std::to_string(options_.rank) + " of " + std::to_string(options_.world_size) +
                " (" + options_.backend + ", " + device_.str() + ")");
}

Communicator::~Communicator() = default;

void Communicator::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  all_reduce_sum_async(tensors)->wait();
}

std::unique_ptr<Communicator::Pending> Communicator::all_reduce_sum_async(
    std::vector<torch::Tensor>& tensors) {
  if (!group_ || tensors.empty()) return std::make_unique<DonePending>();
  c10d::AllreduceOptions reduce;
  reduce.reduceOp = c10d::ReduceOp::SUM;
  reduce.timeout = timeout_of(options_);
  return std::make_unique<WorkPending>(group_->process_group->allreduce(tensors, reduce), options_);
}

void Communicator::broadcast(std::vector<torch::Tensor>& tensors, int root) {
  if (!group_ || tensors.empty()) return;
  c10d::BroadcastOptions cast;
  cast.rootRank = root;
  cast.timeout = timeout_of(options_);
  // Gloo broadcasts one tensor per call when given several; do them in order.
  for (auto& tensor : tensors) {
    std::vector<torch::Tensor> one{tensor};
    wait_for(group_->process_group->broadcast(one, cast), options_, "broadcast");
  }
}

void Communicator::broadcast_bytes(std::string& bytes, int root) {
  if (!group_) return;
  const auto on_device = torch::TensorOptions(torch::kInt64).device(value_device_);
  std::vector<torch::Tensor> length{
      torch::tensor({static_cast<int64_t>(bytes.size())}, on_device)};
  broadcast(length, root);
  const int64_t size = length[0].to(torch::kCPU).item<int64_t>();
  if (size == 0) {
    bytes.clear();
    return;
  }
  torch::Tensor host = torch::empty({size}, torch::kUInt8);
  if (options_.rank == root) std::memcpy(host.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  std::vector<torch::Tensor> data{host.to(value_device_)};
  broadcast(data, root);
  host = data[0].to(torch::kCPU).contiguous();
  bytes.assign(reinterpret_cast<const char*>(host.data_ptr<uint8_t>()), static_cast<std::size_t>(size));
}

void Communicator::barrier() {
  if (!group_) return;
  c10d::BarrierOptions options;
  options.timeout = timeout_of(options_);
  wait_for(group_->process_group->barrier(options), options_, "barrier");
}

double Communicator::mean(double value) { return mean(std::vector<double>{value}).front(); }

std::vector<double> Communicator::mean(std::vector<double> values) {
  if (!group_ || values.empty()) return values;
  std::vector<torch::Tensor> packed{
      torch::tensor(values, torch::TensorOptions(torch::kFloat64).device(value_device_))};
  all_reduce_sum(packed);
  const torch::Tensor sums = packed[0].to(torch::kCPU);
  const double* sum = sums.data_ptr<double>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = sum[i] / static_cast<double>(options_.world_size);
  }
  return values;
}

void broadcast_module(Communicator& communicator, torch::nn::Module& module) {
  if (communicator.world_size() == 1) return;
  std::vector<torch::Tensor> tensors;
  for (const auto& p : module.parameters()) tensors.push_back(p.detach());
  for (const auto& b : module.buffers()) tensors.push_back(b.detach());
  torch::NoGradGuard no_grad;
  communicator.broadcast(tensors, 0);
}

void broadcast_buffers(Communicator& communicator, torch::nn::Module& module) {
  if (communicator.world_size() == 1) return;
  // Grouped by dtype and device (a concatenation needs one of each), in registration order so
  // that every rank packs the same layout.
  std::map<std::tuple<int, int, int>, std::vector<torch::Tensor>> groups;
  for (const auto& buffer : module.buffers(/*recurse=*/true)) {
    if (!buffer.defined() || buffer.numel() == 0) continue;
    const auto key = std::make_tuple(static_cast<int>(buffer.scalar_type()),
                                     static_cast<int>(buffer.device().type()),
                                     static_cast<int>(buffer.device().index()));
    groups[key].push_back(buffer.detach());
  }
  torch::NoGradGuard no_grad;
  for (auto& [key, buffers] : groups) {
    std::vector<torch::Tensor> flat_pieces;
    for (const auto& buffer : buffers) flat_pieces.push_back(buffer.reshape(-1));
    std::vector<torch::Tensor> packed{torch::cat(flat_pieces)};
    communicator.broadcast(packed, 0);
    int64_t offset = 0;
    for (auto& buffer : buffers) {
      buffer.copy_(packed[0].narrow(0, offset, buffer.numel()).view(buffer.sizes()));
      offset += buffer.numel();
    }
  }
}

}  // namespace rsd::dist
