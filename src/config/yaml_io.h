// YAML text <-> ConfigNode, through yaml-cpp (kept out of the public headers). Private to librsd.
#pragma once

#include <string>

#include "config/config_node.h"

namespace rsd::detail {

/// Parses YAML text; `file` names it in origins and messages. Throws ConfigError with the line
/// and column of a syntax error, and on duplicate or dotted keys.
ConfigNode parse_yaml(const std::string& text, const std::string& file);

/// Block-style YAML that parse_yaml reads back into an equal tree (origins aside).
std::string emit_yaml(const ConfigNode& node);

}  // namespace rsd::detail
