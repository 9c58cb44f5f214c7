// Uses rsd::synth through its installed headers and package only: writes one small clip and
// checks that the files of the Bench2Drive layout are there.
#include <rsd/data/synth/synth.h>
#include <rsd/util/error.h>

#include <filesystem>
#include <iostream>

int main() {
  namespace fs = std::filesystem;
  try {
    const fs::path out = fs::temp_directory_path() / "rsd_consumer_synth";
    fs::remove_all(out);
    rsd::data::synth::SynthOptions options;
    options.out_dir = out.string();
    options.clips = 1;
    options.frames = 3;
    options.width = 64;
    options.height = 36;
    options.threads = 1;
    options.top_down = false;
    const auto summary = rsd::data::synth::write_synthetic_dataset(options);
    RSD_CHECK(summary.clips.size() == 1 && summary.frames == 3, "wrote ", summary.clips.size(),
              " clips and ", summary.frames, " frames");
    const fs::path clip = out / summary.clips.front().name;
    for (const char* file : {"anno/00000.json.gz", "anno/00002.json.gz", "camera/rgb_front/00000.jpg"}) {
      RSD_CHECK(fs::is_regular_file(clip / file), "missing ", (clip / file).string());
    }
    RSD_CHECK(fs::is_regular_file(summary.split_file), "missing split file ", summary.split_file);
    fs::remove_all(out);
    std::cout << "synth consumer OK: " << summary.clips.front().name << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "synth consumer failed: " << e.what() << "\n";
    return 1;
  }
}
