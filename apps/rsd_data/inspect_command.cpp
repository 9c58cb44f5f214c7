// rsd_data inspect: summarise a dataset root and list every problem found.
#include "rsd/util/error.h"
#include "rsd_data/commands.h"

namespace rsd::app {

Command add_inspect_command(CLI::App& app) {
  struct Flags {
    std::string root;
    std::string split_file;
    std::string split;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* inspect = app.add_subcommand("inspect", "summarise a dataset root and list every problem");
  inspect->add_option("--root", flags->root, "folder holding the clip folders")->required();
  inspect->add_option("--split-file", flags->split_file, "official split JSON {\"val\": [...]}");
  inspect->add_option("--split", flags->split, "train or val")->check(CLI::IsMember({"train", "val"}));
  inspect->add_flag("--json", flags->json, "print the summary as JSON");
  return [flags]() -> int { throw Error("rsd_data inspect is not part of this build yet"); };
}

}  // namespace rsd::app
