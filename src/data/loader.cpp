#include "rsd/data/loader.h"

#include <ATen/Context.h>
#include <c10/core/DeviceGuard.h>
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include "rsd/util/error.h"
#include "rsd/util/seed.h"

namespace rsd::data {
namespace {

using rsd::detail::concat;

constexpr uint64_t kShuffleStream = 0x73687566;  // "shuf"

// One built batch, or what went wrong while building it.
struct BatchResult {
  std::optional<Batch> batch;
  std::exception_ptr error;
  std::string context;
};

[[noreturn]] void rethrow_with_context(const BatchResult& result) {
  try {
    std::rethrow_exception(result.error);
  } catch (const DataError& e) {
    throw DataError(result.context + e.what());
  } catch (const c10::Error& e) {
    throw Error(result.context + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Error(result.context + e.what());
  } catch (...) {
    throw Error(result.context + "unknown exception");
  }
}

}  // namespace

struct Loader::State {
  std::mutex mutex;
  std::condition_variable wake_workers;   // the prefetch window moved, or stop
  std::condition_variable wake_consumer;  // a batch is ready
  std::vector<std::thread> threads;
  bool stop = false;
  bool started = false;
  int64_t epoch = 0;
  std::vector<int64_t> order;  // this rank's sample indices, in epoch order
  int64_t batches = 0;
  int64_t next_to_build = 0;
  int64_t next_to_deliver = 0;
  std::map<int64_t, BatchResult> ready;
  std::function<BatchResult(int64_t)> build;  // builds batch b of the current epoch
};

Loader::Loader(std::shared_ptr<const SampleDataset> dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), options_(options), state_(std::make_unique<State>()) {
  if (!dataset_) throw ConfigError("loader: no dataset");
  if (options_.batch_size < 1) {
    throw ConfigError(concat("data.loader.batch_size must be >= 1 (got ", options_.batch_size, ")"));
  }
  if (options_.workers < 0) {
    throw ConfigError(concat("data.loader.workers must be >= 0 (got ", options_.workers, ")"));
  }
  if (options_.prefetch < 1) {
    throw ConfigError(concat("data.loader.prefetch must be >= 1 (got ", options_.prefetch, ")"));
  }
  if (options_.world_size < 1 || options_.rank < 0 || options_.rank >= options_.world_size) {
    throw ConfigError(concat("loader: rank ", options_.rank, " is not in [0, world size ",
                             options_.world_size, ")"));
  }
  if (pins_memory() && !at::Context::hasCUDART()) {
    throw ConfigError(concat("data.loader.pin_memory: batches for ", options_.destination.str(),
                             " cannot be pinned, this libtorch has no CUDA"));
  }
}

Loader::~Loader() {
  std::unique_lock<std::mutex> lock(state_->mutex);
  state_->stop = true;
  lock.unlock();
  state_->wake_workers.notify_all();
  for (std::thread& thread : state_->threads) thread.join();
}

namespace {

// Sample indices of one rank for one epoch (see loader.h for the rule).
std::vector<int64_t> rank_order(int64_t samples, const LoaderOptions& options, int64_t epoch) {
  std::vector<int64_t> permutation(static_cast<size_t>(samples));
  std::iota(permutation.begin(), permutation.end(), 0);
  if (options.shuffle) {
    // Fisher-Yates with raw draws: the same order on every standard library.
    std::mt19937_64 rng = make_rng(options.seed, {kShuffleStream, static_cast<uint64_t>(epoch)});
    for (int64_t i = samples - 1; i > 0; --i) {
      const int64_t j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
      std::swap(permutation[static_cast<size_t>(i)], permutation[static_cast<size_t>(j)]);
    }
  }
  const int64_t world = options.world_size;
  const int64_t total = options.drop_last    ? samples / world * world
                        : options.pad_shards ? (samples + world - 1) / world * world
                                             : samples;
  std::vector<int64_t> order;
  if (samples == 0) return order;
  for (int64_t position = options.rank; position < total; position += world) {
    order.push_back(permutation[static_cast<size_t>(position % samples)]);
  }
  return order;
}

int64_t batch_count(int64_t samples, const LoaderOptions& options) {
  return options.drop_last ? samples / options.batch_size
                           : (samples + options.batch_size - 1) / options.batch_size;
}

}  // namespace

int64_t Loader::batches_per_epoch() const {
  return batch_count(static_cast<int64_t>(rank_order(dataset_->size(), options_, 0).size()), options_);
}

std::vector<int64_t> Loader::batch_indices(int64_t epoch, int64_t batch) const {
  const std::vector<int64_t> order = rank_order(dataset_->size(), options_, epoch);
  RSD_CHECK(batch >= 0 && batch < batch_count(static_cast<int64_t>(order.size()), options_),
            "loader: batch ", batch, " is not in epoch ", epoch);
  const size_t begin = static_cast<size_t>(batch * options_.batch_size);
  const size_t end = std::min(order.size(), begin + static_cast<size_t>(options_.batch_size));
  return {order.begin() + static_cast<std::ptrdiff_t>(begin),
          order.begin() + static_cast<std::ptrdiff_t>(end)};
}

void Loader::start_epoch(int64_t epoch, int64_t first_batch) {
  State& state = *state_;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    state.stop = true;
  }
  state.wake_workers.notify_all();
  for (std::thread& thread : state.threads) thread.join();
  state.threads.clear();

  state.stop = false;
  state.started = true;
  state.epoch = epoch;
  state.order = rank_order(dataset_->size(), options_, epoch);
  state.batches = batch_count(static_cast<int64_t>(state.order.size()), options_);
  RSD_CHECK(first_batch >= 0 && first_batch <= state.batches, "loader: first batch ", first_batch,
            " of an epoch with ", state.batches, " batches");
  state.next_to_build = first_batch;
  state.next_to_deliver = first_batch;
  state.ready.clear();

  state.build = [this](int64_t batch) {
    const State& s = *state_;
    BatchResult result;
    const size_t begin = static_cast<size_t>(batch * options_.batch_size);
    const size_t end = std::min(s.order.size(), begin + static_cast<size_t>(options_.batch_size));
    int64_t current = -1;
    try {
      std::vector<Sample> samples;
      for (size_t i = begin; i < end; ++i) {
        current = s.order[i];
        samples.push_back(dataset_->get(current, s.epoch));
      }
      current = -1;
      result.batch = collate(samples);
      if (pins_memory()) {
        const c10::DeviceGuard on_destination(options_.destination);
        result.batch = result.batch->pin_memory();
      }
    } catch (...) {
      result.error = std::current_exception();
      result.context = concat("loader: epoch ", s.epoch, " batch ", batch,
                              current >= 0 ? concat(" sample ", current) : std::string(" collate"),
                              ": ");
    }
    return result;
  };

  for (int64_t w = 0; w < options_.workers; ++w) {
    state.threads.emplace_back([this]() {
      cv::setNumThreads(0);  // OpenCV's own pool would fight the loader threads for the cores
      State& s = *state_;
      while (true) {
        std::unique_lock<std::mutex> lock(s.mutex);
        s.wake_workers.wait(lock, [&] {
          return s.stop || (s.next_to_build < s.batches &&
                            s.next_to_build < s.next_to_deliver + options_.prefetch);
        });
        if (s.stop) return;
        const int64_t batch = s.next_to_build++;
        lock.unlock();
        BatchResult result = s.build(batch);
        lock.lock();
        s.ready[batch] = std::move(result);
        lock.unlock();
        s.wake_consumer.notify_all();
      }
    });
  }
}

std::optional<Batch> Loader::next() {
  State& state = *state_;
  if (!state.started) throw Error("loader: call start_epoch() before next()");
  std::unique_lock<std::mutex> lock(state.mutex);
  if (state.next_to_deliver >= state.batches) return std::nullopt;
  const int64_t batch = state.next_to_deliver;
  BatchResult result;
  if (options_.workers == 0) {
    lock.unlock();
    result = state.build(batch);
    lock.lock();
  } else {
    state.wake_consumer.wait(lock, [&] { return state.ready.count(batch) > 0; });
    result = std::move(state.ready[batch]);
    state.ready.erase(batch);
  }
  state.next_to_deliver = batch + 1;
  if (result.error) {
    // The epoch ends here: workers stop claiming batches.
    state.next_to_deliver = state.batches;
    state.next_to_build = state.batches;
    lock.unlock();
    state.wake_workers.notify_all();
    rethrow_with_context(result);
  }
  lock.unlock();
  state.wake_workers.notify_all();
  return std::move(result.batch);
}

}  // namespace rsd::data
