// The YAML config loader: a config file with a `_base_` file next to it and `--set` overrides.
// The input holds up to three sections separated by lines "%%": main.yaml, base.yaml (a main file
// reaches it with `_base_: [base.yaml]`) and the overrides, one "key=value" a line.
#include "fuzz_input.h"
#include "rsd/config/config.h"
#include "rsd/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> sections =
      rsd::fuzz::split_sections(rsd::fuzz::as_string(data, size), "%%");
  const std::string dir = rsd::fuzz::scratch_dir();
  rsd::fuzz::write_bytes(dir + "/main.yaml", sections[0]);
  rsd::fuzz::write_bytes(dir + "/base.yaml", sections.size() > 1 ? sections[1] : "");
  std::vector<std::string> overrides;
  if (sections.size() > 2) {
    size_t begin = 0;
    const std::string& lines = sections[2];
    while (begin < lines.size()) {
      size_t end = lines.find('\n', begin);
      if (end == std::string::npos) end = lines.size();
      if (end > begin) overrides.push_back(lines.substr(begin, end - begin));
      begin = end + 1;
    }
  }
  try {
    const rsd::Config config = rsd::Config::load(dir + "/main.yaml", overrides);
    // What --print-config does, and its promise: loading the printed YAML gives the same config.
    const std::string printed = config.to_yaml();
    rsd::Config::parse(printed, "printed");
  } catch (const rsd::Error&) {
  }
  return 0;
}
