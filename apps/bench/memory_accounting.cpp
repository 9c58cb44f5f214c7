#include "bench/memory_accounting.h"

#include <c10/core/CPUAllocator.h>

#include <atomic>
#include <fstream>
#include <string>

#include "rsd/util/torch_compat.h"

namespace rsd::bench {
namespace {

// Wraps libtorch's CPU allocator and counts live bytes.
class CountingAllocator final : public torch_compat::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* base) : base_(base) {}
  c10::DataPtr allocate_bytes(size_t bytes) const override {
    auto* context = new Context{base_->allocate(bytes), bytes, this};
    const int64_t now = live_.fetch_add(static_cast<int64_t>(bytes)) + static_cast<int64_t>(bytes);
    int64_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
    return {context->inner.get(), context, &Context::release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return nullptr; }
  int64_t live() const { return live_.load(); }
  int64_t peak() const { return peak_.load(); }
  void reset_peak() const { peak_.store(live_.load()); }
  c10::Allocator* base() const { return base_; }

 private:
  struct Context {
    c10::DataPtr inner;
    size_t bytes;
    const CountingAllocator* owner;
    static void release(void* pointer) {
      auto* context = static_cast<Context*>(pointer);
      context->owner->live_.fetch_sub(static_cast<int64_t>(context->bytes));
      delete context;
    }
  };
  c10::Allocator* base_;
  mutable std::atomic<int64_t> live_{0};
  mutable std::atomic<int64_t> peak_{0};
};

// A "Vm...:   1234 kB" line of /proc/self/status, in bytes; -1 when absent.
int64_t status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
  }
  return -1;
}

}  // namespace

int64_t peak_rss_extra_bytes(const std::function<void()>& body) {
  {
    std::ofstream reset("/proc/self/clear_refs");
    reset << "5";  // resets VmHWM to the current RSS
    if (!reset.flush()) return -1;
  }
  const int64_t before = status_bytes("VmRSS");
  body();
  const int64_t peak = status_bytes("VmHWM");
  return before < 0 || peak < 0 ? -1 : peak - before;
}

int64_t peak_extra_bytes(const std::function<void()>& body) {
  static CountingAllocator counting(c10::GetCPUAllocator());
  constexpr uint8_t kPriority = 100;
  c10::SetCPUAllocator(&counting, kPriority);
  counting.reset_peak();
  const int64_t before = counting.live();
  body();
  const int64_t peak = counting.peak() - before;
  c10::SetCPUAllocator(counting.base(), kPriority);
  return peak;
}

}  // namespace rsd::bench
