// rsd_data inspect: summarise a dataset root and list every problem found.
#include <iostream>

#include "rsd/data/inspect.h"
#include "rsd/util/error.h"
#include "rsd_data/commands.h"

namespace rsd::app {

Command add_inspect_command(CLI::App& app) {
  struct Flags {
    std::string root;
    std::string split_file;
    std::string split = "all";
    std::string clip_list;
    std::vector<std::string> cameras;
    bool json = false;
    bool decode_images = false;
    bool fail_on_problems = false;
    int threads = 0;
  };
  auto flags = std::make_shared<Flags>();
  auto* inspect = app.add_subcommand(
      "inspect",
      "summarise a dataset root (clips, frames, boxes per class, clips per scenario) and list "
      "every problem found with its path");
  inspect->add_option("--root", flags->root, "folder holding the clip folders")->required();
  inspect->add_option("--split-file", flags->split_file,
                      "official split JSON {\"val\": [...]}; train = every other clip");
  inspect->add_option("--split", flags->split, "all (default), train or val")
      ->check(CLI::IsMember({"all", "train", "val"}));
  inspect->add_option("--clip-list", flags->clip_list,
                      "restrict to these clips (JSON list, file-list object, or one per line)");
  inspect->add_option("--camera", flags->cameras,
                      "camera to check (repeatable; default: the six Bench2Drive cameras)");
  inspect->add_flag("--decode-images", flags->decode_images,
                    "decode every JPEG (slow) instead of checking its markers");
  inspect->add_option("--threads", flags->threads, "threads (0: one per core)")
      ->check(CLI::NonNegativeNumber);
  inspect->add_flag("--json", flags->json, "print the report as JSON");
  inspect->add_flag("--fail-on-problems", flags->fail_on_problems,
                    "exit with status 1 when a problem is found");
  inspect->footer(
      "Exit status: 0 when the root could be inspected, even with problems (they are listed in "
      "the report); 1 when the root or the split file cannot be read, or with "
      "--fail-on-problems when a problem was found; 2 for usage errors.");
  return [flags]() -> int {
    data::InspectOptions options;
    options.root = flags->root;
    options.split = data::parse_split(flags->split);
    options.split_file = flags->split_file;
    options.clip_list = flags->clip_list;
    if (!flags->cameras.empty()) options.cameras = flags->cameras;
    options.decode_images = flags->decode_images;
    options.threads = flags->threads;
    const data::DatasetReport report = data::inspect_dataset(options);
    std::cout << (flags->json ? report.to_json() + "\n" : report.to_text()) << std::flush;
    return flags->fail_on_problems && !report.problems.empty() ? 1 : 0;
  };
}

}  // namespace rsd::app
