#include "drive/drive_results.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rsd/eval/abilities.h"
#include "rsd/util/error.h"

namespace rsd::drive {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using data::synth::Infraction;

namespace {

json score_json(const RouteScore& score) {
  json out;
  out["route"] = score.route;
  out["scenario"] = score.scenario;
  out["clip"] = score.clip;
  out["end"] = score.end;
  out["driving_score"] = score.driving_score;
  out["route_completion"] = score.route_completion;
  out["infraction_penalty"] = score.infraction_penalty;
  out["success"] = score.success;
  json counts = json::object();
  for (int k = 0; k < kNumInfractions; ++k) {
    counts[data::synth::to_string(static_cast<Infraction>(k))] = score.infractions[static_cast<std::size_t>(k)];
  }
  out["infractions"] = counts;
  out["distance"] = score.distance;
  out["time"] = score.time;
  out["mean_speed"] = score.mean_speed;
  out["efficiency"] = score.efficiency;
  out["comfort"] = score.comfort;
  out["mean_abs_jerk"] = score.mean_abs_jerk;
  out["max_abs_accel"] = score.max_abs_accel;
  out["ticks"] = score.ticks;
  return out;
}

template <typename T>
T field(const json& object, const char* key, const std::string& file) {
  const auto found = object.find(key);
  if (found == object.end()) throw DataError(file + ": missing key '" + key + "'");
  try {
    return found->get<T>();
  } catch (const json::exception& e) {
    throw DataError(file + ": key '" + key + "': " + e.what());
  }
}

RouteScore score_from_json(const json& in, const std::string& file) {
  RouteScore score;
  score.route = field<std::string>(in, "route", file);
  score.scenario = field<std::string>(in, "scenario", file);
  score.clip = field<std::string>(in, "clip", file);
  score.end = field<std::string>(in, "end", file);
  score.driving_score = field<double>(in, "driving_score", file);
  score.route_completion = field<double>(in, "route_completion", file);
  score.infraction_penalty = field<double>(in, "infraction_penalty", file);
  score.success = field<bool>(in, "success", file);
  const json counts = field<json>(in, "infractions", file);
  for (int k = 0; k < kNumInfractions; ++k) {
    score.infractions[static_cast<std::size_t>(k)] = field<int>(counts, data::synth::to_string(static_cast<Infraction>(k)), file);
  }
  score.distance = field<double>(in, "distance", file);
  score.time = field<double>(in, "time", file);
  score.mean_speed = field<double>(in, "mean_speed", file);
  score.efficiency = field<double>(in, "efficiency", file);
  score.comfort = field<double>(in, "comfort", file);
  score.mean_abs_jerk = field<double>(in, "mean_abs_jerk", file);
  score.max_abs_accel = field<double>(in, "max_abs_accel", file);
  score.ticks = field<int>(in, "ticks", file);
  return score;
}

void write_atomically(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  const fs::path partial = path.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw Error("cannot write " + partial.string());
  }
  std::error_code ec;
  fs::rename(partial, path, ec);
  if (ec) throw Error("cannot rename " + partial.string() + " to " + path.string() + ": " + ec.message());
}

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), pattern, value);
  return text;
}

}  // namespace

void write_route_result(const std::string& out_dir, const RouteResultFile& result) {
  json out;
  out["route"] = result.route.name();
  out["spec"] = {{"scenario", result.route.scenario}, {"index", result.route.index},
                 {"seed", result.route.seed}, {"frames", result.route.frames}};
  out["agent"] = result.agent;
  out["checkpoint"] = result.checkpoint;
  out["score"] = score_json(result.score);
  json events = json::array();
  for (const auto& event : result.infractions) {
    events.push_back({{"kind", data::synth::to_string(event.kind)}, {"time", event.time},
                      {"x", event.position.x()}, {"y", event.position.y()}, {"actor", event.actor}});
  }
  out["infraction_events"] = events;
  out["timing"] = {{"simulate", result.timing.simulate}, {"render", result.timing.render},
                   {"agent", result.timing.agent}, {"ticks", result.timing.ticks}};
  write_atomically(fs::path(out_dir) / "routes" / (result.route.name() + ".json"), out.dump(1) + "\n");
}

RouteResultFile read_route_result(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot read");
  std::stringstream buffer;
  buffer << in.rdbuf();
  json root;
  try {
    root = json::parse(buffer.str());
  } catch (const json::exception& e) {
    throw DataError(path + ": not a route result (bad JSON: " + e.what() + ")");
  }
  RouteResultFile result;
  const json spec = field<json>(root, "spec", path);
  result.route.scenario = field<std::string>(spec, "scenario", path);
  result.route.index = field<int>(spec, "index", path);
  result.route.seed = field<uint64_t>(spec, "seed", path);
  result.route.frames = field<int>(spec, "frames", path);
  result.agent = field<std::string>(root, "agent", path);
  result.checkpoint = field<std::string>(root, "checkpoint", path);
  result.score = score_from_json(field<json>(root, "score", path), path);
  for (const json& event : field<json>(root, "infraction_events", path)) {
    data::synth::InfractionEvent out;
    const std::string kind = field<std::string>(event, "kind", path);
    bool known = false;
    for (int k = 0; k < kNumInfractions; ++k) {
      if (kind == data::synth::to_string(static_cast<Infraction>(k))) {
        out.kind = static_cast<Infraction>(k);
        known = true;
      }
    }
    if (!known) throw DataError(path + ": unknown infraction '" + kind + "'");
    out.time = field<double>(event, "time", path);
    out.position = Eigen::Vector2d(field<double>(event, "x", path), field<double>(event, "y", path));
    out.actor = field<std::string>(event, "actor", path);
    result.infractions.push_back(out);
  }
  const json timing = field<json>(root, "timing", path);
  result.timing.simulate = field<double>(timing, "simulate", path);
  result.timing.render = field<double>(timing, "render", path);
  result.timing.agent = field<double>(timing, "agent", path);
  result.timing.ticks = field<int>(timing, "ticks", path);
  return result;
}

bool same_result(const RouteResultFile& a, const RouteResultFile& b) {
  const auto events = [](const RouteResultFile& r) {
    json out = json::array();
    for (const auto& e : r.infractions) out.push_back({data::synth::to_string(e.kind), e.time, e.position.x(), e.position.y(), e.actor});
    return out;
  };
  return a.route.name() == b.route.name() && a.route.frames == b.route.frames && a.agent == b.agent &&
         score_json(a.score) == score_json(b.score) && events(a) == events(b);
}

void write_summary_files(const std::string& out_dir, const SummaryInputs& inputs) {
  const DrivingSummary& s = inputs.summary;
  json metrics;
  metrics["agent"] = inputs.agent;
  metrics["checkpoint"] = inputs.checkpoint;
  metrics["routes"] = s.routes;
  metrics["driving_score"] = s.driving_score;
  metrics["route_completion"] = s.route_completion;
  metrics["infraction_penalty"] = s.infraction_penalty;
  metrics["success_rate"] = s.success_rate;
  metrics["efficiency"] = s.efficiency;
  metrics["comfort"] = s.comfort;
  metrics["distance_km"] = s.distance_km;
  json infractions = json::object();
  for (int k = 0; k < kNumInfractions; ++k) {
    infractions[data::synth::to_string(static_cast<Infraction>(k))] = {
        {"count", s.infractions[static_cast<std::size_t>(k)]}, {"per_km", s.infractions_per_km[static_cast<std::size_t>(k)]}};
  }
  metrics["infractions"] = infractions;
  json abilities = json::object();
  for (const auto& [name, ability] : s.abilities) {
    abilities[name] = {{"routes", ability.routes}, {"driving_score", ability.driving_score}, {"success_rate", ability.success_rate}};
  }
  metrics["abilities"] = abilities;
  json routes = json::array();
  for (const RouteScore& route : inputs.routes) routes.push_back(score_json(route));
  metrics["per_route"] = routes;
  write_atomically(fs::path(out_dir) / "metrics.json", metrics.dump(1) + "\n");

  const TickTiming& t = inputs.timing;
  const double total = t.simulate + t.render + t.agent;
  json timing = {{"ticks", t.ticks}, {"seconds", total}, {"ticks_per_second", total > 0.0 ? t.ticks / total : 0.0},
                 {"simulate_seconds", t.simulate}, {"render_seconds", t.render}, {"agent_seconds", t.agent}};
  write_atomically(fs::path(out_dir) / "timing.json", timing.dump(1) + "\n");

  std::ostringstream md;
  md << "# Closed-loop driving: " << inputs.agent << "\n\n";
  md << "| | |\n|---|---|\n";
  md << "| agent | " << inputs.agent << " |\n";
  if (!inputs.checkpoint.empty()) md << "| checkpoint | " << inputs.checkpoint << " |\n";
  md << "| routes | " << s.routes << " |\n\n";
  md << "## Summary\n\n| Driving Score | Success Rate | Route Completion | Infraction Penalty | Efficiency | Comfort | km |\n"
        "|---:|---:|---:|---:|---:|---:|---:|\n";
  md << "| " << format("%.2f", s.driving_score) << " | " << format("%.1f %%", s.success_rate) << " | "
     << format("%.1f %%", s.route_completion) << " | " << format("%.3f", s.infraction_penalty) << " | "
     << (s.efficiency < 0.0 ? std::string("n/a") : format("%.1f %%", s.efficiency)) << " | "
     << format("%.1f %%", s.comfort) << " | " << format("%.3f", s.distance_km) << " |\n\n";
  md << "## Infractions\n\n| infraction | count | per km |\n|---|---:|---:|\n";
  for (int k = 0; k < kNumInfractions; ++k) {
    md << "| " << data::synth::to_string(static_cast<Infraction>(k)) << " | " << s.infractions[static_cast<std::size_t>(k)]
       << " | " << format("%.2f", s.infractions_per_km[static_cast<std::size_t>(k)]) << " |\n";
  }
  if (!s.abilities.empty()) {
    md << "\n## Abilities (Bench2Drive)\n\n| ability | routes | Driving Score | Success Rate |\n|---|---:|---:|---:|\n";
    for (const auto& [name, ability] : s.abilities) {
      md << "| " << name << " | " << ability.routes << " | " << format("%.2f", ability.driving_score) << " | "
         << format("%.1f %%", ability.success_rate) << " |\n";
    }
  }
  md << "\n## Routes\n\n| route | DS | completion | penalty | end | infractions | picture |\n|---|---:|---:|---:|---|---|---|\n";
  for (const RouteScore& route : inputs.routes) {
    const std::string listed = infraction_list(route);
    const bool strip = fs::exists(fs::path(out_dir) / "strips" / (route.route + ".png"));
    md << "| " << route.route << " | " << format("%.1f", route.driving_score) << " | " << format("%.1f %%", route.route_completion)
       << " | " << format("%.2f", route.infraction_penalty) << " | " << route.end << " | " << (listed.empty() ? "-" : listed)
       << " | " << (strip ? "[png](strips/" + route.route + ".png)" : std::string("-")) << " |\n";
  }
  md << "\n## Speed\n\n" << t.ticks << " ticks in " << format("%.1f", total) << " s: "
     << format("%.1f", total > 0.0 ? t.ticks / total : 0.0) << " ticks/s (simulation "
     << format("%.0f %%", total > 0.0 ? 100.0 * t.simulate / total : 0.0) << ", rendering "
     << format("%.0f %%", total > 0.0 ? 100.0 * t.render / total : 0.0) << ", agent "
     << format("%.0f %%", total > 0.0 ? 100.0 * t.agent / total : 0.0) << ").\n";
  write_atomically(fs::path(out_dir) / "report.md", md.str());
}

}  // namespace rsd::drive
