// The subcommands of rsd_data, one file each. Each adds its subcommand to the app and returns the
// function that runs it once it was parsed.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace rsd::app {

using Command = std::function<int()>;

Command add_synth_command(CLI::App& app);
Command add_inspect_command(CLI::App& app);

}  // namespace rsd::app
