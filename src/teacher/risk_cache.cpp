#include "rsd/teacher/risk_cache.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>

#include "risk_cache_format.h"
#include "util/fnv1a.h"
#include "rsd/util/error.h"
#include "rsd/util/fs.h"

namespace rsd::teacher {
namespace detail {
namespace {

bool little_endian_host() {
  const uint16_t probe = 1;
  uint8_t first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

template <typename T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

template <typename T>
T get(const std::string& bytes, std::size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

// Reasons come from models and files: never let a stray invalid UTF-8 byte abort a write.
std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string encode_map(const torch::Tensor& map) {
  const torch::Tensor half = map.to(torch::kCPU).to(torch::kHalf).contiguous();
  const auto raw_bytes = static_cast<uLong>(half.numel() * sizeof(at::Half));
  std::string compressed(compressBound(raw_bytes), '\0');
  uLongf compressed_bytes = compressed.size();
  const int status = compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressed_bytes,
                               static_cast<const Bytef*>(half.data_ptr()), raw_bytes, 6);
  RSD_CHECK(status == Z_OK, "zlib compress2 failed with status ", status);
  compressed.resize(compressed_bytes);
  return compressed;
}

nlohmann::json encode_record(const CachedFrame& frame) {
  nlohmann::json objects = nlohmann::json::array();
  for (const auto& object : frame.objects) {
    objects.push_back({{"id", object.risk.object_id},
                       {"class", data::to_string(object.object_class)},
                       {"score", object.risk.score},
                       {"reason", object.risk.reason},
                       {"center", {object.center.x(), object.center.y(), object.center.z()}},
                       {"size", {object.size.x(), object.size.y(), object.size.z()}},
                       {"yaw", object.yaw}});
  }
  nlohmann::json unmatched = nlohmann::json::array();
  for (const auto& object : frame.unmatched) {
    unmatched.push_back({{"description", object.description},
                         {"score", object.score},
                         {"reason", object.reason},
                         {"why", object.why}});
  }
  return {{"frame", frame.frame},   {"status", to_string(frame.status)},
          {"attempts", frame.attempts}, {"error", frame.error},
          {"answer_excerpt", frame.answer_excerpt}, {"objects", objects},
          {"unmatched", unmatched}};
}

data::ObjectClass class_from(const std::string& name, const std::string& where) {
  for (int c = 0; c < data::kNumObjectClasses; ++c) {
    const auto object_class = static_cast<data::ObjectClass>(c);
    if (name == data::to_string(object_class)) return object_class;
  }
  throw DataError(where + ": unknown object class '" + name + "'");
}

Eigen::Vector3d vector3(const nlohmann::json& value) {
  return {value.at(0).get<double>(), value.at(1).get<double>(), value.at(2).get<double>()};
}

// "teacher.rule.ttc_critical_s" -> "teacher.rule": the config section a setting belongs to.
std::string setting_group(const std::string& key) {
  const auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(0, dot);
}

}  // namespace

ByteReader stream_reader(std::istream& in, const std::string& path) {
  return [&in, path](uint64_t offset, uint64_t size) {
    // Offsets and sizes come from the file: check them against its length before allocating.
    in.clear();
    in.seekg(0, std::ios::end);
    const std::streamoff end = in.tellg();
    if (end < 0 || offset > static_cast<uint64_t>(end) || size > static_cast<uint64_t>(end) - offset) {
      throw Error(path + ": truncated");
    }
    std::string bytes(size, '\0');
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    if (!in || static_cast<uint64_t>(in.gcount()) != size) throw Error(path + ": truncated");
    return bytes;
  };
}

CacheIndex read_cache_index(const std::string& path, const ByteReader& read) {
  std::string fixed;
  try {
    fixed = read(0, kFixedHeaderBytes);
  } catch (const Error&) {
    throw DataError(path + " is not a librsd risk cache (shorter than its header)");
  }
  if (std::memcmp(fixed.data(), kRiskCacheMagic, sizeof kRiskCacheMagic) != 0) {
    throw DataError(path + " is not a librsd risk cache (wrong magic bytes)");
  }
  const auto version = get<uint32_t>(fixed, 8);
  if (version != kRiskCacheFormatVersion) {
    throw DataError(path + ": risk cache format version " + std::to_string(version) +
                    ", but this librsd reads version " + std::to_string(kRiskCacheFormatVersion) +
                    "; delete it and rebuild it with rsd_cache_risk");
  }
  const auto flags = get<uint32_t>(fixed, 12);
  double g[9];
  for (int i = 0; i < 9; ++i) g[i] = get<double>(fixed, 16 + 8 * i);
  GridSpec grid = [&] {
    try {
      return GridSpec({g[0], g[1], g[2]}, {g[3], g[4], g[5]}, {g[6], g[7], g[8]});
    } catch (const Error& e) {
      throw DataError(path + ": invalid grid in the header: " + e.what());
    }
  }();
  CacheIndex index{RiskCacheHeader(grid), get<uint32_t>(fixed, 88), get<uint32_t>(fixed, 92), {}};
  const auto frame_count = get<uint32_t>(fixed, 96);
  const auto meta_bytes = get<uint32_t>(fixed, 100);
  if (index.ny != grid.ny() || index.nx != grid.nx()) {
    throw DataError(path + ": map size " + std::to_string(index.ny) + "x" + std::to_string(index.nx) +
                    " does not match its grid " + grid.to_string());
  }
  std::string recorded_hash;
  try {
    const nlohmann::json meta = nlohmann::json::parse(read(kFixedHeaderBytes, meta_bytes));
    RiskCacheHeader& header = index.header;
    header.format_version = version;
    header.complete = (flags & 1u) != 0;
    header.clip = meta.at("clip").get<std::string>();
    header.teacher.type = meta.at("teacher").at("type").get<std::string>();
    header.teacher.model = meta.at("teacher").at("model").get<std::string>();
    header.teacher.prompt_hash = meta.at("teacher").at("prompt_hash").get<std::string>();
    header.created = meta.at("created").get<std::string>();
    header.librsd_version = meta.value("librsd_version", "");
    // Caches written before the settings were recorded have neither key: unknown settings.
    if (meta.contains("settings")) {
      header.settings = meta.at("settings").get<SettingsMap>();
      recorded_hash = meta.at("settings_hash").get<std::string>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path + ": malformed header: " + e.what());
  } catch (const Error&) {
    throw DataError(path + ": truncated header");
  }
  if (recorded_hash != settings_hash(index.header.settings)) {
    throw DataError(path + ": malformed header: settings_hash " + recorded_hash +
                    " is not the hash of its settings (" + settings_hash(index.header.settings) +
                    "); the file was edited or damaged, rebuild it with rsd_cache_risk");
  }
  std::string table;
  try {
    table = read(kFixedHeaderBytes + meta_bytes, uint64_t{frame_count} * kFrameEntryBytes);
  } catch (const Error&) {
    throw DataError(path + ": truncated frame table");
  }
  for (uint32_t i = 0; i < frame_count; ++i) {
    const std::size_t at = i * kFrameEntryBytes;
    index.table.push_back({get<int32_t>(table, at), get<uint32_t>(table, at + 4),
                           get<uint64_t>(table, at + 8), get<uint64_t>(table, at + 16),
                           get<uint64_t>(table, at + 24), get<uint64_t>(table, at + 32)});
    if (index.table.back().status > static_cast<uint32_t>(JudgementStatus::failed)) {
      throw DataError(path + ": frame " + std::to_string(index.table.back().frame) +
                      ": unknown status " + std::to_string(index.table.back().status));
    }
  }
  return index;
}

void check_grid(const RiskCacheHeader& header, const GridSpec& expected, const std::string& path) {
  if (header.grid != expected) {
    throw DataError(path + " was built for the grid " + header.grid.to_string() +
                    ", but the config's grid (data.grid) is " + expected.to_string() +
                    "; use a cache built for this grid, or delete it and run rsd_cache_risk again");
  }
}

torch::Tensor decode_map(const std::string& blob, uint32_t ny, uint32_t nx, const std::string& path,
                         int frame) {
  torch::Tensor half = torch::empty({static_cast<int64_t>(ny), static_cast<int64_t>(nx)}, torch::kHalf);
  uLongf raw_bytes = static_cast<uLongf>(half.numel() * sizeof(at::Half));
  const uLongf expected = raw_bytes;
  const int status = uncompress(static_cast<Bytef*>(half.data_ptr()), &raw_bytes,
                                reinterpret_cast<const Bytef*>(blob.data()), blob.size());
  if (status != Z_OK || raw_bytes != expected) {
    throw DataError(path + ": frame " + std::to_string(frame) + ": corrupt risk map (zlib status " +
                    std::to_string(status) + ")");
  }
  return half.to(torch::kFloat32);
}

CachedFrame decode_record(const std::string& blob, const std::string& path, int frame) {
  const std::string where = path + ": frame " + std::to_string(frame);
  try {
    const nlohmann::json record = nlohmann::json::parse(blob);
    CachedFrame cached;
    cached.frame = record.at("frame").get<int>();
    cached.status = record.at("status").get<std::string>() == "ok" ? JudgementStatus::ok
                                                                   : JudgementStatus::failed;
    cached.attempts = record.value("attempts", 1);
    cached.error = record.value("error", "");
    cached.answer_excerpt = record.value("answer_excerpt", "");
    for (const auto& object : record.at("objects")) {
      CachedObject o;
      o.risk = {object.at("id").get<std::string>(), object.at("score").get<double>(),
                object.value("reason", "")};
      o.object_class = class_from(object.at("class").get<std::string>(), where);
      o.center = vector3(object.at("center"));
      o.size = vector3(object.at("size"));
      o.yaw = object.at("yaw").get<double>();
      cached.objects.push_back(std::move(o));
    }
    for (const auto& object : record.at("unmatched")) {
      cached.unmatched.push_back({object.at("description").get<std::string>(),
                                  object.at("score").get<double>(), object.value("reason", ""),
                                  object.value("why", "")});
    }
    return cached;
  } catch (const nlohmann::json::exception& e) {
    throw DataError(where + ": malformed record: " + e.what());
  }
}

}  // namespace detail

std::string settings_hash(const SettingsMap& settings) {
  if (settings.empty()) return "";
  return fnv1a_64_hex(detail::dump(nlohmann::json(settings)));
}

std::string settings_difference(const SettingsMap& cached, const SettingsMap& expected) {
  if (cached == expected) return "";
  const std::string now = "settings hash " + settings_hash(expected) + " now";
  if (cached.empty()) {
    return "the cache records no settings (written before librsd recorded them), " + now;
  }
  constexpr std::size_t kShown = 4;
  std::set<std::string> keys;
  for (const auto& [key, value] : cached) keys.insert(key);
  for (const auto& [key, value] : expected) keys.insert(key);
  const auto value_in = [](const SettingsMap& settings, const std::string& key) -> std::string {
    const auto it = settings.find(key);
    return it == settings.end() ? "(absent)" : it->second;
  };
  std::set<std::string> groups;
  std::vector<std::string> differences;
  for (const auto& key : keys) {
    const std::string before = value_in(cached, key);
    const std::string after = value_in(expected, key);
    if (before == after) continue;
    groups.insert(detail::setting_group(key));
    differences.push_back(key + ": " + before + " in the cache, " + after + " now");
  }
  std::string text = "settings hash " + settings_hash(cached) + " in the cache, " + now +
                     "; differing settings of ";
  for (auto it = groups.begin(); it != groups.end(); ++it) {
    text += (it == groups.begin() ? "" : ", ") + *it + ".*";
  }
  text += ": ";
  for (std::size_t i = 0; i < differences.size() && i < kShown; ++i) {
    text += (i == 0 ? "" : "; ") + differences[i];
  }
  if (differences.size() > kShown) {
    text += " (and " + std::to_string(differences.size() - kShown) + " more)";
  }
  return text;
}

const CachedFrame* RiskCacheFile::find(int frame) const {
  const auto it = std::lower_bound(frames_.begin(), frames_.end(), frame,
                                   [](const CachedFrame& f, int value) { return f.frame < value; });
  return it != frames_.end() && it->frame == frame ? &*it : nullptr;
}

void RiskCacheFile::add(CachedFrame frame) {
  if (frame.status == JudgementStatus::ok) {
    RSD_CHECK(frame.map.defined() && frame.map.dim() == 2 &&
                  frame.map.size(0) == header_.grid.ny() && frame.map.size(1) == header_.grid.nx(),
              "frame ", frame.frame, ": the risk map must be (", header_.grid.ny(), ", ",
              header_.grid.nx(), ")");
  } else {
    frame.map = torch::Tensor();
  }
  const auto it = std::lower_bound(frames_.begin(), frames_.end(), frame.frame,
                                   [](const CachedFrame& f, int value) { return f.frame < value; });
  if (it != frames_.end() && it->frame == frame.frame) {
    *it = std::move(frame);
  } else {
    frames_.insert(it, std::move(frame));
  }
}

std::string RiskCacheFile::serialize() const {
  RSD_CHECK(detail::little_endian_host(), "the risk cache layout is little-endian");
  const GridSpec& grid = header_.grid;
  nlohmann::json meta = {
      {"clip", header_.clip},
      {"teacher",
       {{"type", header_.teacher.type},
        {"model", header_.teacher.model},
        {"prompt_hash", header_.teacher.prompt_hash}}},
      {"created", header_.created},
      {"librsd_version", header_.librsd_version},
      {"map_encoding", "zlib(float16 little-endian, row-major (Y, X))"}};
  if (!header_.settings.empty()) {
    meta["settings"] = header_.settings;
    meta["settings_hash"] = settings_hash(header_.settings);
  }
  const std::string meta_text = detail::dump(meta);

  std::vector<std::string> maps, records;
  for (const auto& frame : frames_) {
    maps.push_back(frame.status == JudgementStatus::ok ? detail::encode_map(frame.map) : "");
    records.push_back(detail::dump(detail::encode_record(frame)));
  }

  std::string out;
  out.append(detail::kRiskCacheMagic, sizeof detail::kRiskCacheMagic);
  detail::put<uint32_t>(out, header_.format_version);
  detail::put<uint32_t>(out, header_.complete ? 1u : 0u);
  for (const GridAxis* axis : {&grid.x(), &grid.y(), &grid.z()}) {
    detail::put<double>(out, axis->min);
    detail::put<double>(out, axis->max);
    detail::put<double>(out, axis->step);
  }
  detail::put<uint32_t>(out, static_cast<uint32_t>(grid.ny()));
  detail::put<uint32_t>(out, static_cast<uint32_t>(grid.nx()));
  detail::put<uint32_t>(out, static_cast<uint32_t>(frames_.size()));
  detail::put<uint32_t>(out, static_cast<uint32_t>(meta_text.size()));
  out += meta_text;
  uint64_t offset = out.size() + frames_.size() * detail::kFrameEntryBytes;
  for (std::size_t i = 0; i < frames_.size(); ++i) {
    detail::put<int32_t>(out, frames_[i].frame);
    detail::put<uint32_t>(out, static_cast<uint32_t>(frames_[i].status));
    detail::put<uint64_t>(out, offset);
    detail::put<uint64_t>(out, maps[i].size());
    detail::put<uint64_t>(out, offset + maps[i].size());
    detail::put<uint64_t>(out, records[i].size());
    offset += maps[i].size() + records[i].size();
  }
  for (std::size_t i = 0; i < frames_.size(); ++i) out += maps[i] + records[i];
  return out;
}

void RiskCacheFile::write(const std::string& path) const { write_file_atomic(path, serialize()); }

RiskCacheFile RiskCacheFile::read(const std::string& path, const GridSpec* expected_grid) {
  const std::string bytes = read_file(path);
  const detail::ByteReader reader = [&](uint64_t offset, uint64_t size) {
    if (offset > bytes.size() || size > bytes.size() - offset) {
      throw Error(path + ": truncated");
    }
    return bytes.substr(offset, size);
  };
  detail::CacheIndex index = detail::read_cache_index(path, reader);
  if (expected_grid) detail::check_grid(index.header, *expected_grid, path);
  RiskCacheFile file(index.header);
  for (const auto& entry : index.table) {
    std::string record_blob, map_blob;
    try {
      record_blob = reader(entry.record_offset, entry.record_bytes);
      map_blob = reader(entry.map_offset, entry.map_bytes);
    } catch (const Error&) {
      throw DataError(path + ": truncated at frame " + std::to_string(entry.frame));
    }
    CachedFrame frame = detail::decode_record(record_blob, path, entry.frame);
    frame.status = static_cast<JudgementStatus>(entry.status);
    if (frame.status == JudgementStatus::ok) {
      frame.map = detail::decode_map(map_blob, index.ny, index.nx, path, entry.frame);
    }
    file.add(std::move(frame));
  }
  return file;
}

RiskCacheHeader RiskCacheFile::read_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot read the risk cache " + path);
  return detail::read_cache_index(path, detail::stream_reader(in, path)).header;
}

}  // namespace rsd::teacher
