#include "rsd/util/metrics_writer.h"

#include <nlohmann/json.hpp>

#include <cmath>

#include "rsd/util/error.h"

namespace rsd {

std::string MetricsRecord::to_json() const {
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  for (const auto& [key, value] : fields_) {
    std::visit(
        [&, &key = key](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, double>) {
            line[key] = std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json();
          } else {
            line[key] = v;
          }
        },
        value);
  }
  return line.dump();
}

MetricsWriter::MetricsWriter(const std::string& path, bool append)
    : path_(path), out_(path, append ? std::ios::app : std::ios::trunc) {
  if (!out_) throw Error("cannot open metrics file " + path + " for writing");
}

void MetricsWriter::write(const MetricsRecord& record) {
  out_ << record.to_json() << '\n';
  out_.flush();
  if (!out_) throw Error("cannot write to metrics file " + path_);
}

}  // namespace rsd
