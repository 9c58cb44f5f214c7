// YAML text <-> ConfigNode, through yaml-cpp (kept out of the public headers). Private to librsd.
#pragma once

#include <cstddef>
#include <string>

#include "config/config_node.h"

namespace rsd::detail {

/// Bounds on one file's tree with its aliases expanded. The whole default config is a few hundred
/// values about 5 levels deep; these are far beyond any real config and keep a malicious one
/// (a YAML "alias bomb", a cyclic alias) to a few megabytes of work.
constexpr std::size_t kMaxConfigNodesPerFile = 100000;
constexpr int kMaxConfigDepth = 64;

/// Parses YAML text; `file` names it in origins and messages. Throws ConfigError with the line
/// and column of a syntax error, on duplicate or dotted keys, and when the expanded tree exceeds
/// kMaxConfigNodesPerFile values or kMaxConfigDepth levels.
ConfigNode parse_yaml(const std::string& text, const std::string& file);

/// Block-style YAML that parse_yaml reads back into an equal tree (origins aside).
std::string emit_yaml(const ConfigNode& node);

}  // namespace rsd::detail
