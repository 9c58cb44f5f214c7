// rsd::Config: inheritance, overrides, strictness and the messages users see.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "rsd/config/config.h"
#include "rsd/config/config_checks.h"
#include "rsd/util/error.h"
#include "support/error_message.h"
#include "support/temp_dir.h"

namespace {

using rsd::Config;
using rsd::ConfigError;
using rsd::test::TempDir;

// The message of the ConfigError `action` throws; fails the test when it throws nothing.
template <typename Action>
std::string config_error(Action&& action) {
  return rsd::test::error_message<ConfigError>(std::forward<Action>(action));
}

#define EXPECT_HAS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << text

TEST(Config, EmbeddedDefaultsEqualTheFilesInConfigsBase) {
  // The schema compiled into the library must be the files users read and edit.
  const Config on_disk = Config::load(std::string(RSD_SOURCE_DIR) + "/configs/base/default.yaml",
                                      {}, {/*use_defaults=*/false});
  EXPECT_EQ(Config::defaults().to_yaml(), on_disk.to_yaml());
  for (const char* section : {"run", "data", "model", "teacher", "train", "eval", "dist"}) {
    EXPECT_TRUE(Config::defaults().has(section)) << section;
  }
}

TEST(Config, BaseInheritanceMergesMapsDeeplyAndReplacesLists) {
  TempDir dir;
  dir.write("common/base.yaml",
            "model:\n  image_encoder:\n    out_channels: 256\n  bev_encoder:\n    channels: 64\n"
            "train:\n  lr: 0.001\n  steps: 10\n"
            "data:\n  cameras: [CAM_FRONT, CAM_BACK]\n");
  const std::string child = dir.write(
      "exp/child.yaml",
      "_base_: [../common/base.yaml]\n"
      "model:\n  image_encoder:\n    depth: 34\n"
      "train:\n  lr: 0.0005\n"
      "data:\n  cameras: [CAM_FRONT_LEFT]\n");
  const Config config = Config::load(child);
  EXPECT_EQ(config.get<int64_t>("model.image_encoder.depth"), 34);          // child
  EXPECT_EQ(config.get<int64_t>("model.image_encoder.out_channels"), 256);  // base, same map
  EXPECT_EQ(config.get<int64_t>("model.bev_encoder.channels"), 64);         // base
  EXPECT_DOUBLE_EQ(config.get<double>("train.lr"), 0.0005);                 // child wins
  EXPECT_EQ(config.get<int64_t>("train.steps"), 10);
  EXPECT_EQ(config.get<std::vector<std::string>>("data.cameras"),
            std::vector<std::string>{"CAM_FRONT_LEFT"});                    // list replaced
  // Keys nobody set keep the built-in defaults.
  EXPECT_EQ(config.get<std::string>("model.risk_head.type"),
            Config::defaults().get<std::string>("model.risk_head.type"));
  EXPECT_EQ(config.source_files().size(), 2u);
  EXPECT_HAS(config.origin("train.lr"), "child.yaml:6");
  EXPECT_HAS(config.origin("train.steps"), "base.yaml:8");
}

TEST(Config, LaterBasesWinAndBasesResolveRelativeToTheirOwnFile) {
  TempDir dir;
  dir.write("a/first.yaml", "_base_: deeper/zero.yaml\ntrain:\n  steps: 1\n");
  dir.write("a/deeper/zero.yaml", "train:\n  steps: 0\n  warmup_steps: 7\n");
  dir.write("b/second.yaml", "train:\n  steps: 2\n");
  const std::string top = dir.write("top.yaml", "_base_: [a/first.yaml, b/second.yaml]\n");
  const Config config = Config::load(top);
  EXPECT_EQ(config.get<int64_t>("train.steps"), 2);
  EXPECT_EQ(config.get<int64_t>("train.warmup_steps"), 7);
}

TEST(Config, OverridesAreTypedByTheValueTheyReplace) {
  TempDir dir;
  const std::string file = dir.write("c.yaml", "train:\n  steps: 5\n");
  Config config = Config::load(file, {"model.bev_encoder.channels=96", "train.lr=2e-4",
                                      "run.name=exp7", "data.cameras=[CAM_BACK]",
                                      "train.grad_clip=10", "run.progress=false"});
  EXPECT_EQ(config.get<int64_t>("model.bev_encoder.channels"), 96);
  EXPECT_DOUBLE_EQ(config.get<double>("train.lr"), 2e-4);
  EXPECT_EQ(config.get<std::string>("run.name"), "exp7");  // replaces null
  EXPECT_EQ(config.get<std::vector<std::string>>("data.cameras").size(), 1u);
  EXPECT_DOUBLE_EQ(config.get<double>("train.grad_clip"), 10.0);  // an integer may replace a number
  EXPECT_FALSE(config.get<bool>("run.progress"));
  EXPECT_HAS(config.origin("train.lr"), "--set train.lr=2e-4");

  EXPECT_HAS(config_error([&] { config.apply_override("train.lr=fast"); }),
             "config key 'train.lr' (set in --set train.lr=fast) must be a number");
  EXPECT_HAS(config_error([&] { config.apply_override("train.steps=1.5"); }), "must be an integer");
  EXPECT_HAS(config_error([&] { config.apply_override("run.progress=yes"); }), "must be a boolean");
  EXPECT_HAS(config_error([&] { config.apply_override("data.cameras=CAM_FRONT"); }), "must be a list");
  EXPECT_HAS(config_error([&] { config.apply_override("train.lr"); }), "must look like key.path=value");
  const std::string unknown = config_error([&] { config.apply_override("train.learning_rate=1"); });
  EXPECT_HAS(unknown, "unknown config key 'train.learning_rate'");
  EXPECT_HAS(unknown, "closest valid key: 'train.");  // a key of the same section
}

TEST(Config, UnknownKeyInAFileNamesKeyFileLineAndClosestValidKey) {
  TempDir dir;
  const std::string file =
      dir.write("typo.yaml", "model:\n  bev_encoder:\n    channels: 64\n    chanels: 32\n");
  const std::string message = config_error([&] { Config::load(file); });
  EXPECT_EQ(message, "unknown config key 'model.bev_encoder.chanels' (set in " + file +
                         ":4); closest valid key: 'model.bev_encoder.channels'");

  const std::string misplaced = dir.write("misplaced.yaml", "trian:\n  lr: 0.1\n");
  EXPECT_HAS(config_error([&] { Config::load(misplaced); }), "closest valid key: 'train'");
}

TEST(Config, UnknownKeyInABaseIsReportedInThatBase) {
  TempDir dir;
  const std::string base = dir.write("base.yaml", "train:\n  stepz: 3\n");
  const std::string child = dir.write("child.yaml", "_base_: base.yaml\n");
  const std::string message = config_error([&] { Config::load(child); });
  EXPECT_HAS(message, "unknown config key 'train.stepz' (set in " + base + ":2)");
  EXPECT_HAS(message, "closest valid key: 'train.steps'");
}

TEST(Config, TypeMismatchInAFileNamesTheKeyAndBothPlaces) {
  TempDir dir;
  const std::string file = dir.write("bad_type.yaml", "train:\n  lr: fast\n");
  const std::string message = config_error([&] { Config::load(file); });
  EXPECT_HAS(message, "config key 'train.lr' (set in " + file + ":2) must be a number");
  EXPECT_HAS(message, "configs/base/train.yaml");
  EXPECT_HAS(message, "got 'fast'");

  const std::string map_for_scalar = dir.write("map.yaml", "train:\n  steps:\n    a: 1\n");
  EXPECT_HAS(config_error([&] { Config::load(map_for_scalar); }), "must be an integer");
  const std::string scalar_for_map = dir.write("scalar.yaml", "model: 3\n");
  EXPECT_HAS(config_error([&] { Config::load(scalar_for_map); }), "must be a map");
}

TEST(Config, MissingFilesAreNamed) {
  TempDir dir;
  EXPECT_EQ(config_error([&] { Config::load(dir.file("nowhere.yaml")); }),
            "config file not found: " + dir.file("nowhere.yaml"));
  const std::string child = dir.write("child.yaml", "_base_: [missing_base.yaml]\n");
  EXPECT_EQ(config_error([&] { Config::load(child); }),
            "config file not found: " + dir.file("missing_base.yaml") + " (a _base_ of " + child + ")");
}

TEST(Config, CyclicBaseIsRefusedWithTheCycle) {
  TempDir dir;
  const std::string a = dir.write("a.yaml", "_base_: b.yaml\n");
  const std::string b = dir.write("b.yaml", "_base_: [a.yaml]\n");
  EXPECT_EQ(config_error([&] { Config::load(a); }), "cyclic _base_: " + a + " -> " + b + " -> " + a);
  const std::string self = dir.write("self.yaml", "_base_: ./self.yaml\n");
  EXPECT_HAS(config_error([&] { Config::load(self); }), "cyclic _base_");
}

TEST(Config, MalformedYamlNamesFileAndLine) {
  TempDir dir;
  const std::string file = dir.write("broken.yaml", "train:\n  lr: [0.1\n  steps: 3\n");
  EXPECT_HAS(config_error([&] { Config::load(file); }), file + ":");
  EXPECT_HAS(config_error([&] { Config::load(file); }), "malformed YAML");
  const std::string duplicate = dir.write("dup.yaml", "train:\n  lr: 0.1\n  lr: 0.2\n");
  EXPECT_HAS(config_error([&] { Config::load(duplicate); }), "duplicate config key 'lr'");
  const std::string dotted = dir.write("dotted.yaml", "train.lr: 0.1\n");
  EXPECT_HAS(config_error([&] { Config::load(dotted); }), "contains '.'");
  const std::string top_list = dir.write("list.yaml", "- 1\n- 2\n");
  EXPECT_HAS(config_error([&] { Config::load(top_list); }), "top level");
}

TEST(Config, DeleteReplacesTheMapInsteadOfMerging) {
  TempDir dir;
  const std::string file =
      dir.write("delete.yaml", "model:\n  risk_head:\n    _delete_: true\n    enabled: false\n");
  const Config config = Config::load(file);
  EXPECT_FALSE(config.get<bool>("model.risk_head.enabled"));
  EXPECT_FALSE(config.has("model.risk_head.type"));
  EXPECT_FALSE(config.has("model.risk_head._delete_"));
  // The replacement map is still checked against the keys it replaces.
  const std::string typo =
      dir.write("delete_typo.yaml", "model:\n  risk_head:\n    _delete_: true\n    enabeld: false\n");
  EXPECT_HAS(config_error([&] { Config::load(typo); }), "model.risk_head.enabeld");
}

TEST(Config, ResolvedYamlRoundTripsWithTypes) {
  TempDir dir;
  const std::string file = dir.write(
      "rt.yaml", "run:\n  name: \"007\"\ntrain:\n  lr: 1\n  steps: 12\n"
                 "eval:\n  horizons_s: [0.5, 1]\n");
  const Config config = Config::load(file);
  EXPECT_EQ(config.get<std::string>("run.name"), "007");  // quoted: stays a string
  EXPECT_DOUBLE_EQ(config.get<double>("train.lr"), 1.0);
  const std::string yaml = config.to_yaml();
  EXPECT_HAS(yaml, "lr: 1.0");  // an integer replacing a number is written as a number

  const std::string saved = dir.file("saved/config.yaml");
  config.save(saved);
  const Config again = Config::load(saved, {}, {/*use_defaults=*/false});
  EXPECT_EQ(again.to_yaml(), yaml);
  EXPECT_EQ(again.get<std::string>("run.name"), "007");
  EXPECT_EQ(again.get<std::vector<double>>("eval.horizons_s"), (std::vector<double>{0.5, 1.0}));
  // And it is a valid config against the defaults too.
  EXPECT_EQ(Config::load(saved).to_yaml(), yaml);
}

TEST(Config, TypedGettersAndSections) {
  const Config config = Config::defaults();
  const Config model = config.section("model");
  EXPECT_EQ(model.prefix(), "model");
  EXPECT_EQ(model.get<int64_t>("bev_encoder.channels"),
            config.get<int64_t>("model.bev_encoder.channels"));
  EXPECT_EQ(model.section("bev_encoder").get<int>("channels"),
            config.get<int>("model.bev_encoder.channels"));
  EXPECT_FALSE(model.keys().empty());
  EXPECT_EQ(config.get_or<std::string>("run.name", "fallback"), "fallback");  // null
  EXPECT_EQ(config.get_or<int64_t>("train.steps", -1), config.get<int64_t>("train.steps"));

  EXPECT_HAS(config_error([&] { config.get<int64_t>("train.lr"); }),
             "config key 'train.lr' (set in configs/base/train.yaml");
  EXPECT_HAS(config_error([&] { config.get<int64_t>("train.lr"); }), "must be an integer");
  EXPECT_HAS(config_error([&] { config.get<std::string>("run.name"); }), "must be a string, got null");
  EXPECT_HAS(config_error([&] { model.get<int64_t>("bev_encoder.chanels"); }),
             "config has no key 'model.bev_encoder.chanels'; closest valid key: "
             "'model.bev_encoder.channels'");
  EXPECT_HAS(config_error([&] { config.section("train.lr"); }), "must be a map");
  EXPECT_HAS(config_error([&] { config.get<std::vector<int64_t>>("data.cameras"); }),
             "data.cameras[0]");
}

TEST(Config, WithoutDefaultsRootsDefineKeysAndChildrenMayOnlyOverride) {
  TempDir dir;
  const rsd::ConfigLoadOptions own{/*use_defaults=*/false};
  dir.write("root.yaml", "solver:\n  iterations: 3\n  name: adam\n");
  const std::string child = dir.write("child.yaml", "_base_: root.yaml\nsolver:\n  iterations: 9\n");
  const Config config = Config::load(child, {}, own);
  EXPECT_EQ(config.get<int64_t>("solver.iterations"), 9);
  EXPECT_FALSE(config.has("train"));
  const std::string typo = dir.write("typo.yaml", "_base_: root.yaml\nsolver:\n  iteration: 9\n");
  EXPECT_HAS(config_error([&] { Config::load(typo, {}, own); }),
             "closest valid key: 'solver.iterations'");
}

// Nine levels of nine aliases of the level below: about 1 KB of YAML naming 9^9 (387 million)
// values once the aliases are expanded. Each entry is "&lN [...]".
std::vector<std::string> alias_bomb_levels() {
  std::vector<std::string> levels = {"&l0 [x, x, x, x, x, x, x, x, x]"};
  for (int level = 1; level <= 8; ++level) {
    std::string text = "&l" + std::to_string(level) + " [";
    for (int k = 0; k < 9; ++k) text += (k == 0 ? "*l" : ", *l") + std::to_string(level - 1);
    levels.push_back(text + "]");
  }
  return levels;
}

// The bomb as a file: one key per level.
std::string yaml_alias_bomb() {
  std::string text;
  const auto levels = alias_bomb_levels();
  for (std::size_t level = 0; level < levels.size(); ++level) {
    text += "l" + std::to_string(level) + ": " + levels[level] + "\n";
  }
  return text;
}

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

TEST(Config, AliasBombIsRefusedWhileExpandingNamingTheFile) {
  TempDir dir;
  const std::string bomb = yaml_alias_bomb();
  ASSERT_LT(bomb.size(), 1500u);
  const std::string file = dir.write("bomb.yaml", bomb);
  const long rss_before = peak_rss_kib();
  const auto start = std::chrono::steady_clock::now();
  const std::string message = config_error([&] { Config::load(file); });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_HAS(message, file + ":");
  EXPECT_HAS(message, "expands to more than 100000 values");
  // Stopped early: the expansion would take minutes and tens of gigabytes.
  EXPECT_LT(seconds, 10.0);
  EXPECT_LT(peak_rss_kib() - rss_before, 512L * 1024) << "KiB of peak memory added";

  // Through _base_ and --set as well.
  const std::string child = dir.write("child.yaml", "_base_: [bomb.yaml]\n");
  EXPECT_HAS(config_error([&] { Config::load(child); }), file + ":");
  std::string flow_bomb;
  for (const auto& level : alias_bomb_levels()) flow_bomb += (flow_bomb.empty() ? "[" : ", ") + level;
  const std::string ok = dir.write("ok.yaml", "train:\n  steps: 3\n");
  EXPECT_HAS(config_error([&] { Config::load(ok, {"train.steps=" + flow_bomb + "]"}); }),
             "expands to more than 100000 values");
}

TEST(Config, CyclicAliasAndDeepNestingAreRefused) {
  TempDir dir;
  // yaml-cpp resolves an alias inside its own anchor to the node itself: an endless tree.
  const std::string cyclic = dir.write("cyclic.yaml", "a: &a [*a]\n");
  const std::string cyclic_message = config_error([&] { Config::load(cyclic); });
  EXPECT_HAS(cyclic_message, cyclic + ":");
  EXPECT_HAS(cyclic_message, "nested more than 64 levels");
  const std::string deep =
      dir.write("deep.yaml", "a: " + std::string(100000, '[') + std::string(100000, ']') + "\n");
  const std::string deep_message = config_error([&] { Config::load(deep); });
  EXPECT_HAS(deep_message, deep + ":");
  EXPECT_HAS(deep_message, "nested too deeply");
}

TEST(Config, AliasesWithinTheBoundsStillWork) {
  const Config config = Config::parse("train:\n  steps: &n 40\n  warmup_steps: *n\n", "inline");
  EXPECT_EQ(config.get<int64_t>("train.warmup_steps"), 40);
}

TEST(Config, ParseTextChecksLikeAFile) {
  const Config config = Config::parse("train:\n  steps: 4\n", "inline");
  EXPECT_EQ(config.get<int64_t>("train.steps"), 4);
  EXPECT_HAS(config.origin("train.steps"), "inline:2");
  EXPECT_HAS(config_error([] { Config::parse("train:\n  stepz: 4\n", "inline"); }),
             "(set in inline:2); closest valid key: 'train.steps'");
}

TEST(Config, CloneDoesNotShareTheTree) {
  Config original = Config::defaults();
  Config view = original;  // shares
  Config copy = original.clone();
  original.apply_override("train.steps=77");
  EXPECT_EQ(view.get<int64_t>("train.steps"), 77);
  EXPECT_NE(copy.get<int64_t>("train.steps"), 77);
}

TEST(ConfigChecks, OutOfRangeValuesNameTheFullKeyItsOriginAndWhy) {
  TempDir dir;
  const std::string path = dir.write("run.yaml", "train:\n  lr: -0.5\n  steps: 0\n  risk_loss: l3\n");
  const Config train = Config::load(path).section("train");
  try {
    rsd::require_positive<double>(train, "lr");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("'train.lr'"), std::string::npos) << message;
    EXPECT_NE(message.find("run.yaml:2"), std::string::npos) << message;
    EXPECT_NE(message.find("must be positive, got -0.5"), std::string::npos) << message;
  }
  EXPECT_THROW(rsd::require_at_least<int64_t>(train, "steps", 1), ConfigError);
  EXPECT_EQ(rsd::require_non_negative<int64_t>(train, "steps"), 0);
  enum class Loss { l1, mse };
  EXPECT_THROW(rsd::require_choice<Loss>(train, "risk_loss", {{"l1", Loss::l1}, {"mse", Loss::mse}}),
               ConfigError);
  EXPECT_EQ(rsd::require_choice<Loss>(Config::defaults().section("train"), "risk_loss",
                                      {{"l1", Loss::l1}, {"mse", Loss::mse}}),
            Loss::l1);
}

}  // namespace
