#include "rsd/dist/gradient_sync.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <chrono>
#include <functional>
#include <mutex>

#include "rsd/dist/communicator.h"
#include "rsd/util/error.h"
#include "rsd/util/torch_compat.h"

namespace rsd::dist {

struct GradientSynchronizer::State {
  struct Bucket {
    std::vector<std::size_t> members;  // parameter indices
    torch::Tensor flat;                // the bucket's gradients, concatenated
    std::size_t ready = 0;
    std::unique_ptr<Communicator::Pending> pending;
  };

  std::shared_ptr<Communicator> communicator;
  std::vector<torch::Tensor> parameters;
  std::vector<std::size_t> bucket_of;                       // parameter -> bucket
  std::vector<Bucket> buckets;
  std::vector<torch_compat::NodePtr> accumulators;  // kept alive for the hooks
  std::vector<uintptr_t> hook_keys;
  std::mutex mutex;
  bool armed = false;
  std::vector<bool> seen;            // gradient arrived in the armed backward
  std::size_t next_to_start = 0;     // buckets start strictly in order
  double last_wait_seconds = 0.0;

  // Copies a bucket's gradients into its flat buffer and starts the all-reduce. One extra value
  // per parameter counts the ranks that have a gradient for it: a parameter no rank touched keeps
  // an undefined gradient, as it would in a single process (so the optimiser skips it there too).
  // Every piece takes its parameter's options, so the buffer lives where the gradients do (a GPU
  // for NCCL) and has their dtype.
  void start(Bucket& bucket) {
    std::vector<torch::Tensor> pieces;
    std::vector<double> has_gradient;
    for (const std::size_t index : bucket.members) {
      const torch::Tensor& p = parameters[index];
      const torch::Tensor grad = p.grad();
      pieces.push_back(grad.defined() ? grad.reshape(-1) : torch::zeros({p.numel()}, p.options()));
      has_gradient.push_back(grad.defined() ? 1.0 : 0.0);
    }
    pieces.push_back(torch::tensor(has_gradient, pieces.front().options()));
    bucket.flat = torch::cat(pieces);
    std::vector<torch::Tensor> tensors{bucket.flat};
    bucket.pending = communicator->all_reduce_sum_async(tensors);
  }

  void start_ready_buckets() {
    while (next_to_start < buckets.size() &&
           buckets[next_to_start].ready == buckets[next_to_start].members.size()) {
      start(buckets[next_to_start++]);
    }
  }

  void gradient_ready(std::size_t index) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed || seen[index]) return;
    seen[index] = true;
    ++buckets[bucket_of[index]].ready;
    start_ready_buckets();
  }
};

namespace {

// Runs after autograd accumulated a parameter's gradient into .grad.
class AfterAccumulation : public torch::autograd::FunctionPostHook {
 public:
  explicit AfterAccumulation(std::function<void()> on_ready) : on_ready_(std::move(on_ready)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    on_ready_();
    return outputs;
  }

 private:
  std::function<void()> on_ready_;
};

}  // namespace

GradientSynchronizer::GradientSynchronizer(std::shared_ptr<Communicator> communicator,
                                           std::vector<torch::Tensor> parameters, double bucket_mb)
    : state_(std::make_shared<State>()) {
  RSD_CHECK(communicator != nullptr);
  State& s = *state_;
  s.communicator = std::move(communicator);
  for (auto& p : parameters) {
    if (p.requires_grad()) s.parameters.push_back(p);
  }
  s.bucket_of.resize(s.parameters.size());
  s.seen.assign(s.parameters.size(), false);
  if (s.communicator->world_size() == 1) return;

  const auto capacity = static_cast<int64_t>(bucket_mb * 1024.0 * 1024.0);
  int64_t filled = 0;
  for (std::size_t k = s.parameters.size(); k-- > 0;) {
    const int64_t bytes = s.parameters[k].numel() * s.parameters[k].element_size();
    if (s.buckets.empty() || (filled > 0 && filled + bytes > capacity)) {
      s.buckets.emplace_back();
      filled = 0;
    }
    s.buckets.back().members.push_back(k);
    s.bucket_of[k] = s.buckets.size() - 1;
    filled += bytes;
  }
  for (std::size_t k = 0; k < s.parameters.size(); ++k) {
    auto accumulator = torch::autograd::impl::grad_accumulator(s.parameters[k]);
    RSD_CHECK(accumulator != nullptr, "parameter ", k, " is not a leaf that accumulates gradients");
    std::weak_ptr<State> weak = state_;
    s.hook_keys.push_back(accumulator->add_post_hook(std::make_unique<AfterAccumulation>([weak, k] {
      if (auto state = weak.lock()) state->gradient_ready(k);
    })));
    s.accumulators.push_back(std::move(accumulator));
  }
}

GradientSynchronizer::~GradientSynchronizer() {
  for (std::size_t k = 0; k < state_->accumulators.size(); ++k) {
    state_->accumulators[k]->del_post_hook(state_->hook_keys[k]);
  }
}

void GradientSynchronizer::arm() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  State& s = *state_;
  s.armed = true;
  s.next_to_start = 0;
  std::fill(s.seen.begin(), s.seen.end(), false);
  for (auto& bucket : s.buckets) {
    bucket.ready = 0;
    bucket.pending.reset();
  }
}

void GradientSynchronizer::finish() {
  State& s = *state_;
  const auto begin = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.armed = false;
    // Buckets whose parameters got no gradient in this backward still take part, in order.
    while (s.next_to_start < s.buckets.size()) s.start(s.buckets[s.next_to_start++]);
  }
  const double scale = 1.0 / static_cast<double>(s.communicator->world_size());
  torch::NoGradGuard no_grad;
  for (auto& bucket : s.buckets) {
    bucket.pending->wait();
    const int64_t members = static_cast<int64_t>(bucket.members.size());
    // One copy to the host per bucket (a GPU bucket would otherwise synchronise per parameter).
    const torch::Tensor ranks_with_gradient =
        bucket.flat.narrow(0, bucket.flat.numel() - members, members).to(torch::kCPU, torch::kDouble);
    const double* ranks = ranks_with_gradient.data_ptr<double>();
    int64_t offset = 0;
    for (int64_t m = 0; m < members; ++m) {
      torch::Tensor& p = s.parameters[bucket.members[static_cast<std::size_t>(m)]];
      const int64_t n = p.numel();
      if (ranks[m] == 0.0) {
        offset += n;
        continue;
      }
      const torch::Tensor averaged = bucket.flat.narrow(0, offset, n).view(p.sizes()).mul_(scale);
      if (p.grad().defined()) {
        p.mutable_grad().copy_(averaged);
      } else {
        p.mutable_grad() = averaged.clone();
      }
      offset += n;
    }
    bucket.pending.reset();
  }
  s.last_wait_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
}

int64_t GradientSynchronizer::bucket_count() const {
  return static_cast<int64_t>(state_->buckets.size());
}

double GradientSynchronizer::last_wait_seconds() const { return state_->last_wait_seconds; }

}  // namespace rsd::dist
