// Evaluation: every metric on hand-made cases whose answers are worked out in the comments, the
// Evaluator's wiring on a synthetic batch, and the report files and their comparison.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "rsd/eval/abilities.h"
#include "rsd/eval/collision.h"
#include "rsd/eval/detection_metrics.h"
#include "rsd/eval/evaluator.h"
#include "rsd/eval/planning_metrics.h"
#include "rsd/eval/report.h"
#include "rsd/eval/risk_metrics.h"
#include "rsd/eval/score_histogram.h"
#include "rsd/util/error.h"
#include "support/planning_frames.h"
#include "support/temp_dir.h"

namespace {

using Eigen::Vector2d;
using rsd::eval::DetectionAccumulator;
using rsd::eval::Footprint;
using rsd::eval::MetricSet;
using rsd::eval::MovingObstacle;
using rsd::eval::PlanningAccumulator;
using rsd::eval::PlanningFrame;
using rsd::eval::ScoredMatch;
using rsd::test::planning_frame;
using rsd::test::straight_ahead;
namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

MovingObstacle parked_car(double x, double y) {
  return {Footprint{Vector2d(x, y), 4.0, 2.0, 0.0}, Vector2d::Zero()};
}

rsd::eval::PlanningMetricsOptions ego_4_by_2() {
  rsd::eval::PlanningMetricsOptions options;
  options.ego_length = 4.0;
  options.ego_width = 2.0;
  return options;
}

// ---------------------------------------------------------------------------------------------
// Planning: L2

TEST(EvalPlanning, L2PerStepAndAveragedConventionsDifferAsDocumented) {
  // The prediction drifts 0.1 m sideways per 0.5 s step: errors 0.1, 0.2, ..., 0.6 m.
  std::vector<Vector2d> target = straight_ahead();
  std::vector<Vector2d> predicted = target;
  for (int k = 0; k < 6; ++k) predicted[k].y() += 0.1 * (k + 1);
  PlanningAccumulator planning(ego_4_by_2());
  planning.add(planning_frame(predicted, target));
  const MetricSet metrics = planning.metrics();
  // Per step (UniAD): the error at 1 s (step 2), 2 s (step 4), 3 s (step 6).
  EXPECT_NEAR(metrics.get("planning/all/l2/1s"), 0.2, 1e-12);
  EXPECT_NEAR(metrics.get("planning/all/l2/2s"), 0.4, 1e-12);
  EXPECT_NEAR(metrics.get("planning/all/l2/3s"), 0.6, 1e-12);
  // Averaged up to the horizon (VAD): (0.1+0.2)/2, (0.1+...+0.4)/4, (0.1+...+0.6)/6.
  EXPECT_NEAR(metrics.get("planning/all/l2_avg/1s"), 0.15, 1e-12);
  EXPECT_NEAR(metrics.get("planning/all/l2_avg/2s"), 0.25, 1e-12);
  EXPECT_NEAR(metrics.get("planning/all/l2_avg/3s"), 0.35, 1e-12);
  EXPECT_EQ(metrics.get("planning/all/frames"), 1.0);
}

TEST(EvalPlanning, MaskedStepsAndGroupsAreCountedSeparately) {
  PlanningAccumulator planning(ego_4_by_2());
  const std::vector<Vector2d> target = straight_ahead();
  // Frame A: exact. Frame B: 1 m off everywhere, but only its first two steps have ground truth.
  PlanningFrame exact = planning_frame(target, target);
  exact.groups = {"command.lane_follow"};
  std::vector<Vector2d> shifted = target;
  for (Vector2d& point : shifted) point.y() += 1.0;
  PlanningFrame cut = planning_frame(shifted, target);
  for (int k = 2; k < 6; ++k) cut.valid[k] = false;
  cut.groups = {"command.turn_left"};
  planning.add(exact);
  planning.add(cut);
  const MetricSet metrics = planning.metrics();
  // UniAD: over both frames, B's masked steps counting 0.
  EXPECT_NEAR(metrics.get("planning/all/l2/1s"), 0.5, 1e-12);  // (0 + 1) / 2 frames at step 2
  EXPECT_NEAR(metrics.get("planning/all/l2/2s"), 0.0, 1e-12);  // (0 + 0) / 2 at step 4
  // VAD: B's future is not fully valid, so only A counts.
  EXPECT_NEAR(metrics.get("planning/all/l2_avg/2s"), 0.0, 1e-12);
  EXPECT_NEAR(metrics.get("planning/command.turn_left/l2/1s"), 1.0, 1e-12);
  EXPECT_NEAR(metrics.get("planning/command.turn_left/l2/2s"), 0.0, 1e-12);  // masked: 0 / 1
  EXPECT_TRUE(std::isnan(metrics.get("planning/command.turn_left/l2_avg/1s")));  // no full future
  EXPECT_NEAR(metrics.get("planning/command.lane_follow/l2/3s"), 0.0, 1e-12);
  EXPECT_EQ(metrics.get("planning/command.turn_left/frames"), 1.0);
  EXPECT_EQ(metrics.get("planning/command.turn_left/full_future_frames"), 0.0);
  EXPECT_EQ(metrics.get("planning/all/full_future_frames"), 1.0);
}

TEST(EvalPlanning, L2FollowsUniAdAndVadExactlyWithMaskedSteps) {
  // Steps 0.5 s apart, horizons 1, 2, 3 s = steps 1, 3, 5 (0-based).
  //   A: whole future valid, errors 0.1, 0.2, ..., 0.6 m;
  //   B: steps 0..3 valid, 1 m off at every step (steps 4, 5 off by 7 m but masked);
  //   C: no step valid (the end of a clip), 5 m off everywhere.
  // UniAD (planning_metrics.py: L2 = sqrt(sum((pred - gt)^2 * mask)) per step, summed over the
  // samples, / total samples):
  //   1 s: (0.2 + 1 + 0) / 3 = 0.4;  2 s: (0.4 + 1 + 0) / 3 = 1.4 / 3;
  //   3 s: (0.6 + 0 + 0) / 3 = 0.2.
  // VAD / Bench2DriveZoo (fut_valid_flag samples only, each the mean of its errors up to the
  // horizon, averaged over those samples): only A:
  //   1 s: (0.1 + 0.2) / 2 = 0.15;  2 s: 1.0 / 4 = 0.25;  3 s: 2.1 / 6 = 0.35.
  const std::vector<Vector2d> target = straight_ahead();
  std::vector<Vector2d> drifting = target, off = target, far = target;
  for (int k = 0; k < 6; ++k) {
    drifting[k].y() += 0.1 * (k + 1);
    off[k].y() += k < 4 ? 1.0 : 7.0;
    far[k].y() += 5.0;
  }
  PlanningFrame a = planning_frame(drifting, target);
  PlanningFrame b = planning_frame(off, target);
  b.valid[4] = b.valid[5] = false;
  PlanningFrame c = planning_frame(far, target);
  c.valid.assign(6, false);
  PlanningAccumulator planning(ego_4_by_2());
  planning.add(a);
  planning.add(b);
  planning.add(c);
  const MetricSet metrics = planning.metrics();
  EXPECT_NEAR(metrics.get("planning/all/l2/1s"), 0.4, 1e-12);
  EXPECT_NEAR(metrics.get("planning/all/l2/2s"), 1.4 / 3.0, 1e-12);
  EXPECT_NEAR(metrics.get("planning/all/l2/3s"), 0.2, 1e-12);
  EXPECT_NEAR(metrics.get("planning/all/l2_avg/1s"), 0.15, 1e-12);
  EXPECT_NEAR(metrics.get("planning/all/l2_avg/2s"), 0.25, 1e-12);
  EXPECT_NEAR(metrics.get("planning/all/l2_avg/3s"), 0.35, 1e-12);
  EXPECT_EQ(metrics.get("planning/all/frames"), 3.0);
  EXPECT_EQ(metrics.get("planning/all/full_future_frames"), 1.0);
}

TEST(EvalPlanning, HorizonsMustBeWholeStepsAndBeyondTheHorizonIsUndefined) {
  rsd::eval::PlanningMetricsOptions options;
  options.horizons_s = {0.75};
  EXPECT_THROW(PlanningAccumulator{options}, rsd::ConfigError);
  options.horizons_s = {1.0, 4.0};  // 4 s needs 8 steps; the frames have 6
  PlanningAccumulator planning(options);
  planning.add(planning_frame(straight_ahead(), straight_ahead()));
  EXPECT_TRUE(std::isnan(planning.metrics().get("planning/all/l2/4s")));
}

// ---------------------------------------------------------------------------------------------
// Planning: the constant-velocity collision variant (collision_cv; the ST-P3 metric against the
// agents' annotated futures is tested in test_collision.cpp)

TEST(EvalCollision, RectanglesOverlapOnlyWithSharedAreaIncludingRotatedOnes) {
  const Footprint unit{Vector2d::Zero(), 1.0, 1.0, 0.0};
  // A unit square turned 45 degrees reaches sqrt(2)/2 = 0.707 from its centre along x.
  EXPECT_FALSE(rsd::eval::footprints_overlap(unit, {Vector2d(1.3, 0.0), 1.0, 1.0, M_PI_4}));
  EXPECT_TRUE(rsd::eval::footprints_overlap(unit, {Vector2d(1.1, 0.0), 1.0, 1.0, M_PI_4}));
  // Diagonal neighbours: the axis-aligned test alone would miss the separating diagonal axis.
  EXPECT_FALSE(rsd::eval::footprints_overlap({Vector2d::Zero(), 2.0, 2.0, M_PI_4},
                                             {Vector2d(1.5, 1.5), 1.0, 1.0, M_PI_4}));
  EXPECT_FALSE(
      rsd::eval::footprints_overlap(unit, {Vector2d(1.0, 0.0), 1.0, 1.0, 0.0}));  // edge only
}

TEST(EvalCollision, CollisionAgainstAParkedCarAndANearMiss) {
  // Ego 4 m x 2 m at x = 2(k+1): it spans [2k, 2k+4]. A parked car at x = 10 spans [8, 12]:
  // step 3 (2 s, ego [6, 10]) is the first overlap; step 2 (ego [4, 8]) only touches.
  PlanningAccumulator planning(ego_4_by_2());
  PlanningFrame crash = planning_frame(straight_ahead(), straight_ahead());
  crash.obstacles = {parked_car(10.0, 0.0)};
  planning.add(crash);
  MetricSet metrics = planning.metrics();
  EXPECT_EQ(metrics.get("planning/all/collision_cv/1s"), 0.0);
  EXPECT_EQ(metrics.get("planning/all/collision_cv/2s"), 1.0);
  EXPECT_EQ(metrics.get("planning/all/collision_cv/3s"), 1.0);
  EXPECT_DOUBLE_EQ(metrics.get("planning/all/collision_cv_avg/2s"), 0.25);  // steps 0 0 0 1
  EXPECT_DOUBLE_EQ(metrics.get("planning/all/collision_cv_avg/3s"), 0.5);   // 0 0 0 1 1 1
  // Without the agents' annotated futures the ST-P3 metric is undefined.
  EXPECT_TRUE(std::isnan(metrics.get("planning/all/obj_box_col/3s")));

  // Near miss: the same car 2.1 m to the left leaves 0.1 m between the ego (y <= 1) and it (y
  // >= 1.1).
  PlanningAccumulator near_miss_planning(ego_4_by_2());
  PlanningFrame near_miss = planning_frame(straight_ahead(), straight_ahead());
  near_miss.obstacles = {parked_car(10.0, 2.1)};
  near_miss_planning.add(near_miss);
  metrics = near_miss_planning.metrics();
  for (const char* horizon : {"1s", "2s", "3s"}) {
    EXPECT_EQ(metrics.get(std::string("planning/all/collision_cv/") + horizon), 0.0) << horizon;
  }
}

TEST(EvalCollision, OtherAgentsMoveWithTheirVelocity) {
  // A car at x = 20 coming at 5 m/s: at 1 s it is at 15 ([13, 17], ego [2, 6]); at 2 s at 10
  // ([8, 12], ego [6, 10]): a collision only a moving obstacle explains.
  MovingObstacle oncoming = parked_car(20.0, 0.0);
  oncoming.velocity = Vector2d(-5.0, 0.0);
  const std::vector<bool> hits = rsd::eval::trajectory_collisions(
      straight_ahead(), {0.5, 1.0, 1.5, 2.0, 2.5, 3.0}, {oncoming}, 4.0, 2.0);
  EXPECT_FALSE(hits[1]);
  EXPECT_TRUE(hits[3]);
}

TEST(EvalCollision, EgoFootprintTurnsWithTheTrajectory) {
  // Driving sideways (+y): the ego's 4 m length lies along y, so it spans x in [-1, 1]. A box at
  // x in [1.5, 3.5] beside the path is missed; a footprint kept facing +x (x in [-2, 2]) would hit.
  std::vector<Vector2d> sideways;
  for (int k = 0; k < 6; ++k) sideways.emplace_back(0.0, 2.0 * (k + 1));
  const std::vector<Footprint> footprints = rsd::eval::ego_footprints(sideways, 4.0, 2.0);
  EXPECT_NEAR(footprints[0].yaw, M_PI_2, 1e-12);
  const MovingObstacle beside{Footprint{Vector2d(2.5, 4.0), 2.0, 2.0, 0.0}, Vector2d::Zero()};
  const std::vector<bool> hits = rsd::eval::trajectory_collisions(
      sideways, {0.5, 1.0, 1.5, 2.0, 2.5, 3.0}, {beside}, 4.0, 2.0);
  for (const bool hit : hits) EXPECT_FALSE(hit);
  EXPECT_TRUE(rsd::eval::footprints_overlap({Vector2d(0.0, 4.0), 4.0, 2.0, 0.0}, beside.footprint));
  // A standing ego keeps facing forward.
  EXPECT_EQ(rsd::eval::ego_footprints({Vector2d(0.01, 0.02)}, 4.0, 2.0)[0].yaw, 0.0);
}

TEST(EvalAbilities, ScenariosMapToBench2DriveAbilities) {
  using rsd::eval::abilities_of_scenario;
  EXPECT_EQ(abilities_of_scenario("ParkingCutIn"), std::vector<std::string>{"Emergency_Brake"});
  EXPECT_EQ(abilities_of_scenario("PedestrianCrossing"),
            (std::vector<std::string>{"Emergency_Brake", "Traffic_Signs"}));
  EXPECT_EQ(abilities_of_scenario("SignalizedJunctionLeftTurn"),
            (std::vector<std::string>{"Merging", "Traffic_Signs"}));
  EXPECT_EQ(abilities_of_scenario("ParkedObstacle"), std::vector<std::string>{"Overtaking"});
  EXPECT_EQ(abilities_of_scenario("YieldToEmergencyVehicle"), std::vector<std::string>{"Give_Way"});
  EXPECT_TRUE(abilities_of_scenario("NoSuchScenario").empty());
  EXPECT_EQ(rsd::eval::frame_groups("HardBreakRoute_Town01_Route30_Weather3", 0),
            (std::vector<std::string>{"command.turn_left", "ability.Emergency_Brake"}));
}

// The abilities Bench2Drive's tools/ability_benchmark.py gives each scenario type, written out
// per ability from its `Ability` table (the benchmark's 44 route types, XML spellings).
const std::map<std::string, std::vector<std::string>>& abilities_by_route_type() {
  static const std::map<std::string, std::vector<std::string>> table = [] {
    const std::vector<std::pair<std::string, std::vector<std::string>>> members = {
        {"Merging",
         {"CrossingBicycleFlow", "EnterActorFlow", "HighwayExit", "InterurbanActorFlow",
          "HighwayCutIn", "InterurbanAdvancedActorFlow", "MergerIntoSlowTrafficV2",
          "MergerIntoSlowTraffic", "NonSignalizedJunctionLeftTurn",
          "NonSignalizedJunctionRightTurn", "NonSignalizedJunctionLeftTurnEnterFlow",
          "ParkingExit", "SequentialLaneChange", "SignalizedJunctionLeftTurn",
          "SignalizedJunctionRightTurn", "SignalizedJunctionLeftTurnEnterFlow"}},
        {"Overtaking",
         {"Accident", "AccidentTwoWays", "ConstructionObstacle", "ConstructionObstacleTwoWays",
          "HazardAtSideLaneTwoWays", "HazardAtSideLane", "ParkedObstacleTwoWays",
          "ParkedObstacle", "VehicleOpensDoorTwoWays"}},
        {"Emergency_Brake",
         {"BlockedIntersection", "DynamicObjectCrossing", "HardBreakRoute",
          "OppositeVehicleTakingPriority", "OppositeVehicleRunningRedLight", "ParkingCutIn",
          "PedestrianCrossing", "ParkingCrossingPedestrian", "StaticCutIn",
          "VehicleTurningRoute", "VehicleTurningRoutePedestrian", "ControlLoss"}},
        {"Give_Way", {"InvadingTurn", "YieldToEmergencyVehicle"}},
        {"Traffic_Signs",
         {"BlockedIntersection", "OppositeVehicleTakingPriority",
          "OppositeVehicleRunningRedLight", "PedestrianCrossing", "VehicleTurningRoute",
          "VehicleTurningRoutePedestrian", "EnterActorFlow", "CrossingBicycleFlow",
          "NonSignalizedJunctionLeftTurn", "NonSignalizedJunctionRightTurn",
          "NonSignalizedJunctionLeftTurnEnterFlow", "SignalizedJunctionLeftTurn",
          "SignalizedJunctionRightTurn", "SignalizedJunctionLeftTurnEnterFlow", "T_Junction",
          "VanillaNonSignalizedTurn", "VanillaSignalizedTurnEncounterGreenLight",
          "VanillaSignalizedTurnEncounterRedLight",
          "VanillaNonSignalizedTurnEncounterStopsign"}},
    };
    std::map<std::string, std::vector<std::string>> by_type;
    for (const auto& [ability, types] : members) {
      for (const std::string& type : types) by_type[type].push_back(ability);
    }
    return by_type;
  }();
  return table;
}

TEST(EvalAbilities, EveryBenchmarkRouteTypeHasItsAbilities) {
  // 44 types; per ability 16, 9, 12, 2 and 19 of them (Bench2Drive's README and table).
  ASSERT_EQ(abilities_by_route_type().size(), 44u);
  std::map<std::string, int> per_ability;
  for (const auto& [type, abilities] : abilities_by_route_type()) {
    EXPECT_EQ(rsd::eval::abilities_of_scenario(type), abilities) << type;
    for (const std::string& ability : rsd::eval::abilities_of_scenario(type)) {
      ++per_ability[ability];
    }
  }
  EXPECT_EQ(per_ability, (std::map<std::string, int>{{"Merging", 16},
                                                      {"Overtaking", 9},
                                                      {"Emergency_Brake", 12},
                                                      {"Give_Way", 2},
                                                      {"Traffic_Signs", 19}}));
  // The table's spellings before Bench2Drive fixed them still count.
  EXPECT_EQ(rsd::eval::abilities_of_scenario("VehicleOpenDoorTwoWays"),
            std::vector<std::string>{"Overtaking"});
  EXPECT_EQ(rsd::eval::abilities_of_scenario("ParkingCrossingPedestrain"),
            std::vector<std::string>{"Emergency_Brake"});
  EXPECT_EQ(rsd::eval::abilities_of_scenario("MergeIntoSlowTraffic"),
            std::vector<std::string>{"Merging"});
  EXPECT_EQ(rsd::eval::abilities_of_scenario("VanillaNonSignalizedTurnEncouterStopsign"),
            std::vector<std::string>{"Traffic_Signs"});
}

TEST(EvalAbilities, EveryBaseScenarioNameMapsFromFullAndTruncatedClipNames) {
  // One real clip of each of the 43 scenario names of the Base set (bench2drive_base_1000.json;
  // most from the official val split) and the route type Bench2Drive's table knows it by: the
  // dataset writes TJunction for T_Junction, and LaneChange is its name for the benchmark's
  // SequentialLaneChange (see abilities.cpp).
  const std::vector<std::pair<std::string, std::string>> clips = {
      {"Accident_Town03_Route156_Weather0", "Accident"},
      {"AccidentTwoWays_Town12_Route1102_Weather10", "AccidentTwoWays"},
      {"BlockedIntersection_Town03_Route134_Weather3", "BlockedIntersection"},
      {"ConstructionObstacle_Town05_Route68_Weather8", "ConstructionObstacle"},
      {"ConstructionObstacleTwoWays_Town12_Route1080_Weather14", "ConstructionObstacleTwoWays"},
      {"ControlLoss_Town11_Route401_Weather11", "ControlLoss"},
      {"CrossingBicycleFlow_Town12_Route977_Weather15", "CrossingBicycleFlow"},
      {"DynamicObjectCrossing_Town02_Route13_Weather6", "DynamicObjectCrossing"},
      {"EnterActorFlow_Town03_Route132_Weather2", "EnterActorFlow"},
      {"HardBreakRoute_Town01_Route30_Weather3", "HardBreakRoute"},
      {"HazardAtSideLane_Town10HD_Route373_Weather9", "HazardAtSideLane"},
      {"HazardAtSideLaneTwoWays_Town12_Route1151_Weather7", "HazardAtSideLaneTwoWays"},
      {"HighwayCutIn_Town12_Route1029_Weather15", "HighwayCutIn"},
      {"HighwayExit_Town06_Route312_Weather0", "HighwayExit"},
      {"InterurbanActorFlow_Town12_Route1291_Weather1", "InterurbanActorFlow"},
      {"InterurbanAdvancedActorFlow_Town06_Route324_Weather2", "InterurbanAdvancedActorFlow"},
      {"InvadingTurn_Town02_Route95_Weather9", "InvadingTurn"},
      {"LaneChange_Town06_Route307_Weather21", "SequentialLaneChange"},
      {"MergerIntoSlowTraffic_Town06_Route317_Weather5", "MergerIntoSlowTraffic"},
      {"MergerIntoSlowTrafficV2_Town12_Route857_Weather25", "MergerIntoSlowTrafficV2"},
      {"NonSignalizedJunctionLeftTurn_Town07_Route342_Weather3", "NonSignalizedJunctionLeftTurn"},
      {"NonSignalizedJunctionLeftTurnEnterFlow_Town12_Route949_Weather13",
       "NonSignalizedJunctionLeftTurnEnterFlow"},
      {"NonSignalizedJunctionRightTurn_Town03_Route126_Weather18",
       "NonSignalizedJunctionRightTurn"},
      {"OppositeVehicleRunningRedLight_Town04_Route180_Weather23",
       "OppositeVehicleRunningRedLight"},
      {"OppositeVehicleTakingPriority_Town04_Route214_Weather6", "OppositeVehicleTakingPriority"},
      {"ParkedObstacle_Town10HD_Route372_Weather8", "ParkedObstacle"},
      {"ParkedObstacleTwoWays_Town13_Route1333_Weather26", "ParkedObstacleTwoWays"},
      {"ParkingCrossingPedestrian_Town13_Route545_Weather25", "ParkingCrossingPedestrian"},
      {"ParkingCutIn_Town13_Route1343_Weather1", "ParkingCutIn"},
      {"ParkingExit_Town12_Route922_Weather12", "ParkingExit"},
      {"PedestrianCrossing_Town13_Route747_Weather19", "PedestrianCrossing"},
      {"SignalizedJunctionLeftTurn_Town04_Route173_Weather26", "SignalizedJunctionLeftTurn"},
      {"SignalizedJunctionLeftTurnEnterFlow_Town13_Route657_Weather2",
       "SignalizedJunctionLeftTurnEnterFlow"},
      {"SignalizedJunctionRightTurn_Town03_Route118_Weather14", "SignalizedJunctionRightTurn"},
      {"StaticCutIn_Town05_Route226_Weather18", "StaticCutIn"},
      {"TJunction_Town06_Route306_Weather20", "T_Junction"},
      {"VanillaNonSignalizedTurnEncounterStopsign_Town12_Route979_Weather9",
       "VanillaNonSignalizedTurnEncounterStopsign"},
      {"VanillaSignalizedTurnEncounterGreenLight_Town07_Route354_Weather8",
       "VanillaSignalizedTurnEncounterGreenLight"},
      {"VanillaSignalizedTurnEncounterRedLight_Town15_Route491_Weather23",
       "VanillaSignalizedTurnEncounterRedLight"},
      {"VehicleOpensDoorTwoWays_Town12_Route1203_Weather7", "VehicleOpensDoorTwoWays"},
      {"VehicleTurningRoute_Town15_Route504_Weather10", "VehicleTurningRoute"},
      {"VehicleTurningRoutePedestrian_Town15_Route445_Weather11", "VehicleTurningRoutePedestrian"},
      {"YieldToEmergencyVehicle_Town04_Route166_Weather10", "YieldToEmergencyVehicle"},
  };
  ASSERT_EQ(clips.size(), 43u);
  for (const auto& [clip, route_type] : clips) {
    const std::vector<std::string>& expected = abilities_by_route_type().at(route_type);
    const std::string scenario = clip.substr(0, clip.find('_'));
    EXPECT_EQ(rsd::eval::scenario_of_clip(clip), scenario);
    EXPECT_EQ(rsd::eval::abilities_of_clip(clip), expected) << clip;
    // Cut short anywhere after the scenario, as one Base archive name is.
    for (std::size_t length = scenario.size() + 1; length < clip.size(); length += 3) {
      const std::string truncated = clip.substr(0, length);
      EXPECT_EQ(rsd::eval::scenario_of_clip(truncated), scenario) << truncated;
      EXPECT_EQ(rsd::eval::abilities_of_clip(truncated), expected) << truncated;
    }
  }
  // The truncated name itself, and the two names the Full set adds.
  EXPECT_EQ(rsd::eval::scenario_of_clip("VehicleTurningRoutePedestrian_Town15_Route523_Weathe"),
            "VehicleTurningRoutePedestrian");
  EXPECT_EQ(rsd::eval::abilities_of_clip("VehicleTurningRoutePedestrian_Town15_Route523_Weathe"),
            (std::vector<std::string>{"Emergency_Brake", "Traffic_Signs"}));
  EXPECT_EQ(rsd::eval::abilities_of_clip("VanillaNonSignalizedTurn_Town13_Route651_Weather1"),
            std::vector<std::string>{"Traffic_Signs"});
  EXPECT_TRUE(rsd::eval::abilities_of_clip("NoScenario_Town12_Route1_Weather1").empty());
  EXPECT_EQ(rsd::eval::scenario_of_clip("not_a_clip"), "not");
  EXPECT_EQ(rsd::eval::scenario_of_clip("Plain"), "Plain");
}

// ---------------------------------------------------------------------------------------------
// Detection

rsd::data::Box box_at(double x, double y,
                      rsd::data::ObjectClass object_class = rsd::data::ObjectClass::vehicle) {
  rsd::data::Box box;
  box.object_class = object_class;
  box.center = {x, y, 0.8};
  box.size = {4.0, 2.0, 1.6};
  return box;
}

rsd::model::Detection detection_at(double x, double y, double score) {
  rsd::model::Detection detection;
  detection.box = box_at(x, y);
  detection.score = score;
  return detection;
}

TEST(EvalDetection, PerfectDetectionsScoreApOneAndNoErrors) {
  DetectionAccumulator detection({});
  for (int frame = 0; frame < 3; ++frame) {
    const std::vector<rsd::data::Box> truth = {box_at(5.0 * frame, 1.0), box_at(-3.0, 4.0 + frame)};
    detection.add_frame({detection_at(5.0 * frame, 1.0, 0.9), detection_at(-3.0, 4.0 + frame, 0.8)},
                        truth);
  }
  const MetricSet metrics = detection.metrics();
  for (const char* threshold : {"0.5m", "1m", "2m", "4m"}) {
    EXPECT_DOUBLE_EQ(metrics.get(std::string("detection/vehicle/ap/") + threshold), 1.0)
        << threshold;
  }
  EXPECT_DOUBLE_EQ(metrics.get("detection/map"), 1.0);  // classes without GT are left out
  EXPECT_TRUE(std::isnan(metrics.get("detection/pedestrian/ap_mean")));
  EXPECT_EQ(metrics.get("detection/vehicle/gt"), 6.0);
  EXPECT_DOUBLE_EQ(metrics.get("detection/vehicle/ate"), 0.0);
  EXPECT_DOUBLE_EQ(metrics.get("detection/vehicle/ase"), 0.0);
  EXPECT_DOUBLE_EQ(metrics.get("detection/vehicle/aoe"), 0.0);
}

TEST(EvalDetection, AveragePrecisionOfTwoDetectionsFollowsNuScenes) {
  using rsd::eval::average_precision;
  // Two GT boxes. Best detection a hit, second a miss: operating points (recall 0.5, precision 1)
  // and (0.5, 0.5). np.interp takes fp[0] = 1 left of recall 0.5 and, at the repeated recall 0.5,
  // the LAST precision, 0.5; 0 beyond. Bins 0.11..0.49 score 0.9 each, 0.50 scores 0.4:
  // (39 * 0.9 + 0.4) / 90 / 0.9 = 35.5 / 81.
  EXPECT_NEAR(average_precision({{0.9, true}, {0.8, false}}, 2), 35.5 / 81.0, 1e-12);
  // Miss first, then hit: operating points (r 0, p 0) and (0.5, 0.5); precision at recall r is
  // r on [0, 0.5]. Sum over r = 0.11..0.50 of (r - 0.1) = 0.01 + ... + 0.40 = 8.2; / 90 / 0.9.
  EXPECT_NEAR(average_precision({{0.9, false}, {0.8, true}}, 2), 8.2 / 81.0, 1e-12);
  // Order comes from the scores, not from the list.
  EXPECT_NEAR(average_precision({{0.8, true}, {0.9, false}}, 2), 8.2 / 81.0, 1e-12);
  EXPECT_EQ(average_precision({}, 2), 0.0);
  EXPECT_TRUE(std::isnan(average_precision({{0.5, false}}, 0)));
}

TEST(EvalDetection, AveragePrecisionMatchesTheDevkitComputedWithNumpy) {
  // Golden values from the nuScenes devkit's own steps (python-sdk/nuscenes/eval/detection/
  // algo.py: accumulate() after matching, then calc_ap()) run with numpy 2.4.6, printed with
  // repr():
  //
  //   import numpy as np
  //   def devkit_ap(matches, npos, min_recall=0.1, min_precision=0.1):
  //       confs = [s for s, _ in matches]
  //       sortind = [i for (v, i) in sorted((v, i) for (i, v) in enumerate(confs))][::-1]
  //       tp = [1 if matches[i][1] else 0 for i in sortind]
  //       fp = [0 if matches[i][1] else 1 for i in sortind]
  //       if sum(tp) == 0:
  //           return 0.0  # DetectionMetricData.no_predictions(): precision all 0
  //       tp = np.cumsum(tp).astype(float); fp = np.cumsum(fp).astype(float)
  //       prec = tp / (fp + tp); rec = tp / float(npos)
  //       prec = np.interp(np.linspace(0, 1, 101), rec, prec, right=0)
  //       prec = np.copy(prec)[round(100 * min_recall) + 1:]
  //       prec -= min_precision; prec[prec < 0] = 0
  //       return float(np.mean(prec)) / (1.0 - min_precision)
  //   H, M = True, False
  //   devkit_ap([(0.9, H), (0.8, M)], 2)                                  # 0.43827160493827155
  //   devkit_ap([(0.5, H), (0.5, M)], 2)                                  # 0.10123456790123456
  //   devkit_ap([(0.5, M), (0.5, H)], 2)                                  # 0.43827160493827155
  //   devkit_ap([(0.7, H), (0.7, M), (0.7, H), (0.6, M)], 3)              # 0.45246913580246917
  //   devkit_ap([(0.9, M), (0.8, M)], 3)                                  # 0.0
  //   devkit_ap([(0.9, H), (0.8, H), (0.7, H)], 3)                        # 1.0000000000000004
  //   devkit_ap([(0.9, H), (0.8, M), (0.7, M), (0.6, H), (0.5, H), (0.4, M)], 4)
  //                                                                       # 0.3954732510288066
  //   devkit_ap([(0.9, H), (0.8, M), (0.7, H), (0.6, M), (0.5, M), (0.4, H)], 3)
  //                                                                       # 0.5995925925925926
  //   devkit_ap([(1.0 - 0.01 * i, (i % 3) != 1) for i in range(24)], 20)  # 0.4878263964218406
  using rsd::eval::average_precision;
  const bool H = true, M = false;
  EXPECT_NEAR(average_precision({{0.9, H}, {0.8, M}}, 2), 0.43827160493827155, 1e-12);
  // Equal scores: the devkit takes the later-listed detection first.
  EXPECT_NEAR(average_precision({{0.5, H}, {0.5, M}}, 2), 0.10123456790123456, 1e-12);
  EXPECT_NEAR(average_precision({{0.5, M}, {0.5, H}}, 2), 0.43827160493827155, 1e-12);
  EXPECT_NEAR(average_precision({{0.7, H}, {0.7, M}, {0.7, H}, {0.6, M}}, 3),
              0.45246913580246917, 1e-12);
  EXPECT_EQ(average_precision({{0.9, M}, {0.8, M}}, 3), 0.0);
  EXPECT_NEAR(average_precision({{0.9, H}, {0.8, H}, {0.7, H}}, 3), 1.0, 1e-12);
  // Recalls repeated over runs of misses, at bins that fall on operating points (0.25, 0.5, 0.75).
  EXPECT_NEAR(average_precision({{0.9, H}, {0.8, M}, {0.7, M}, {0.6, H}, {0.5, H}, {0.4, M}}, 4),
              0.3954732510288066, 1e-12);
  // Recalls 1/3 and 2/3 repeated, between bins.
  EXPECT_NEAR(average_precision({{0.9, H}, {0.8, M}, {0.7, H}, {0.6, M}, {0.5, M}, {0.4, H}}, 3),
              0.5995925925925926, 1e-12);
  // 24 detections, 16 hits, 20 boxes: recalls k/20 hit bins such as 0.35, where
  // np.linspace(0, 1, 101)[35] = 35 * 0.01 is one ulp above 0.35.
  std::vector<ScoredMatch> long_run;
  for (int i = 0; i < 24; ++i) long_run.push_back({1.0 - 0.01 * i, i % 3 != 1});
  EXPECT_NEAR(average_precision(long_run, 20), 0.4878263964218406, 1e-12);
}

TEST(EvalDetection, EqualScoresInAFrameMatchInTheDevkitOrder) {
  // Two detections with the same score near one box: the devkit visits the later-listed one
  // first, so it takes the box (ATE 0.3) and the earlier, exact one is the false positive.
  DetectionAccumulator detection({});
  detection.add_frame({detection_at(0.0, 0.0, 0.5), detection_at(0.3, 0.0, 0.5)},
                      {box_at(0.0, 0.0)});
  const MetricSet metrics = detection.metrics();
  EXPECT_EQ(metrics.get("detection/vehicle/tp"), 1.0);
  EXPECT_NEAR(metrics.get("detection/vehicle/ate"), 0.3, 1e-12);
  // The same order ranks them: hit (recall 1, precision 1) then miss (1, 0.5); bins 0.11..0.99
  // take 1, bin 1.00 the last precision at recall 1, 0.5: (89 * 0.9 + 0.4) / 90 / 0.9 = 80.5 / 81
  // (devkit_ap([(0.5, M), (0.5, H)], 1) = 0.9938271604938275 with the snippet of
  // AveragePrecisionMatchesTheDevkitComputedWithNumpy).
  EXPECT_NEAR(metrics.get("detection/vehicle/ap/0.5m"), 80.5 / 81.0, 1e-12);
}

TEST(EvalDetection, CentreDistanceThresholdsAndTruePositiveErrors) {
  // One vehicle, detected 1.5 m off, turned by 0.3 rad and half as long: a miss at 0.5 and
  // 1 m, a hit at 2 and 4 m. ASE = 1 - (2*2*1.6) / (4*2*1.6 + 2*2*1.6 - 2*2*1.6) = 0.5.
  DetectionAccumulator detection({});
  rsd::model::Detection off = detection_at(11.5, 0.0, 0.7);
  off.box.yaw = 0.3;
  off.box.size = {2.0, 2.0, 1.6};
  detection.add_frame({off}, {box_at(10.0, 0.0)});
  const MetricSet metrics = detection.metrics();
  EXPECT_EQ(metrics.get("detection/vehicle/ap/0.5m"), 0.0);
  EXPECT_EQ(metrics.get("detection/vehicle/ap/1m"), 0.0);
  EXPECT_DOUBLE_EQ(metrics.get("detection/vehicle/ap/2m"), 1.0);
  EXPECT_DOUBLE_EQ(metrics.get("detection/vehicle/ap_mean"), 0.5);
  EXPECT_NEAR(metrics.get("detection/vehicle/ate"), 1.5, 1e-12);
  EXPECT_NEAR(metrics.get("detection/vehicle/ase"), 0.5, 1e-12);
  EXPECT_NEAR(metrics.get("detection/vehicle/aoe"), 0.3, 1e-12);
  // Headings wrap: 3.0 and -3.0 rad are 2*pi - 6 apart.
  EXPECT_NEAR(rsd::eval::heading_error(3.0, -3.0), 2.0 * M_PI - 6.0, 1e-12);
}

TEST(EvalDetection, EachGroundTruthBoxMatchesOnce) {
  // Two detections on one box: the better-scored one (0.9, 0.1 m off) takes it, the other
  // (0.6, exact) finds no box left and is a false positive.
  DetectionAccumulator detection({});
  detection.add_frame({detection_at(0.0, 0.0, 0.6), detection_at(0.1, 0.0, 0.9)},
                      {box_at(0.0, 0.0)});
  const MetricSet metrics = detection.metrics();
  EXPECT_EQ(metrics.get("detection/vehicle/tp"), 1.0);
  // ATE is that of the 0.9 detection: 0.1, not 0.
  EXPECT_NEAR(metrics.get("detection/vehicle/ate"), 0.1, 1e-12);
}

// ---------------------------------------------------------------------------------------------
// Risk

TEST(EvalRisk, AurocFromHistogramsIsOneWhenSeparableAndHalfWhenConstant) {
  rsd::eval::BinaryScoreHistogram separable(1000);
  separable.add(torch::tensor({0.9, 0.8, 0.2, 0.1}), torch::tensor({true, true, false, false}));
  EXPECT_DOUBLE_EQ(separable.auroc(), 1.0);
  rsd::eval::BinaryScoreHistogram reversed(1000);
  reversed.add(torch::tensor({0.1, 0.9}), torch::tensor({true, false}));
  EXPECT_DOUBLE_EQ(reversed.auroc(), 0.0);
  rsd::eval::BinaryScoreHistogram constant(1000);
  constant.add(torch::full({10}, 0.5), torch::arange(10) < 3);
  EXPECT_DOUBLE_EQ(constant.auroc(), 0.5);
  // One positive above two negatives and below one: 2 of 3 pairs ordered.
  rsd::eval::BinaryScoreHistogram mixed(1000);
  for (const double score : {0.1, 0.2, 0.9}) mixed.add(score, false);
  mixed.add(0.5, true);
  EXPECT_NEAR(mixed.auroc(), 2.0 / 3.0, 1e-12);
  EXPECT_TRUE(std::isnan(rsd::eval::BinaryScoreHistogram(10).auroc()));
}

TEST(EvalRisk, TopKAgreementOfObjectRankings) {
  // Student ranks objects 0, 1, 2, 3; teacher 0, 2, 1, 3.
  const std::vector<double> student = {0.9, 0.8, 0.1, 0.0};
  const std::vector<double> teacher = {0.9, 0.1, 0.8, 0.0};
  EXPECT_DOUBLE_EQ(rsd::eval::top_k_agreement(student, teacher, 1), 1.0);  // {0} vs {0}
  EXPECT_DOUBLE_EQ(rsd::eval::top_k_agreement(student, teacher, 2), 0.5);  // {0,1} vs {0,2}
  EXPECT_DOUBLE_EQ(rsd::eval::top_k_agreement(student, teacher, 3), 1.0);  // {0,1,2} both
  EXPECT_DOUBLE_EQ(rsd::eval::top_k_agreement({0.5}, {0.2}, 3), 1.0);      // k shrinks to 1
}

TEST(EvalRisk, StudentAgainstTeacherMaps) {
  // 4 x 4 grid of 1 m cells over [-2, 2)^2. The teacher marks one cell (x 0.5, y -1.5 -> ix 2,
  // iy 0) with risk 1 and a second object's cell (x -1.5, y 1.5 -> ix 0, iy 3) with 0.
  const rsd::GridSpec grid({-2.0, 2.0, 1.0}, {-2.0, 2.0, 1.0}, {-5.0, 3.0, 8.0});
  torch::Tensor teacher = torch::zeros({1, 1, 4, 4});
  teacher[0][0][0][2] = 1.0;
  const std::vector<std::vector<Vector2d>> objects = {{Vector2d(-1.5, 1.5), Vector2d(0.5, -1.5)}};
  const torch::Tensor labelled = torch::tensor({true});

  rsd::eval::RiskAccumulator exact({}, grid);
  exact.add_batch(teacher.clone(), teacher, labelled, objects);
  MetricSet metrics = exact.metrics();
  EXPECT_DOUBLE_EQ(metrics.get("risk/l1"), 0.0);
  EXPECT_NEAR(metrics.get("risk/kl"), 0.0, 1e-6);
  EXPECT_DOUBLE_EQ(metrics.get("risk/auroc"), 1.0);
  EXPECT_DOUBLE_EQ(metrics.get("risk/topk_agreement"), 1.0);

  // A flat student at 0.5: L1 = (15 * 0.5 + 0.5) / 16 = 0.5; normalised it is 1/16 per cell, so
  // KL = 1 * log(1 / (1/16)) = log 16; every cell ties: AUROC 0.5.
  rsd::eval::RiskAccumulator flat({}, grid);
  flat.add_batch(torch::full({1, 1, 4, 4}, 0.5), teacher, labelled, objects);
  metrics = flat.metrics();
  EXPECT_DOUBLE_EQ(metrics.get("risk/l1"), 0.5);
  EXPECT_NEAR(metrics.get("risk/kl"), std::log(16.0), 1e-6);
  EXPECT_DOUBLE_EQ(metrics.get("risk/auroc"), 0.5);
  EXPECT_EQ(metrics.get("risk/positive_cells"), 1.0);

  // Frames without a teacher label are skipped entirely.
  rsd::eval::RiskAccumulator unlabelled({}, grid);
  unlabelled.add_batch(torch::full({1, 1, 4, 4}, 0.5), teacher, torch::tensor({false}), objects);
  EXPECT_EQ(unlabelled.metrics().get("risk/frames"), 0.0);
  EXPECT_TRUE(std::isnan(unlabelled.metrics().get("risk/l1")));
}

// ---------------------------------------------------------------------------------------------
// Evaluator on a synthetic batch: wiring of decode, groups, risk and pictures.

struct SyntheticFrame {
  rsd::data::Batch batch;
  rsd::model::E2EOutput output;
};

// Two frames on a 32 x 32 grid of 0.5 m cells over [-8, 8)^2; one camera 1.5 m up looking
// forward; a vehicle at (6.25, 0.25) that the detection output finds exactly; the teacher marks
// that vehicle's cell.
SyntheticFrame synthetic_frame(const rsd::GridSpec& grid) {
  const int64_t batch_size = 2, steps = 6, cells = 32;
  SyntheticFrame s;
  rsd::data::Batch& batch = s.batch;
  batch.clips = {"ParkingCutIn_Town12_Route1_Weather3", "Unknown_Town01_Route2_Weather1"};
  batch.frames = {10, 20};
  batch.images = torch::zeros({batch_size, 1, 3, 32, 64});
  batch.intrinsics = torch::tensor({{32.0, 0.0, 32.0}, {0.0, 32.0, 16.0}, {0.0, 0.0, 1.0}})
                         .view({1, 1, 3, 3})
                         .repeat({batch_size, 1, 1, 1});
  batch.img_aug = torch::eye(3).view({1, 1, 3, 3}).repeat({batch_size, 1, 1, 1});
  // OpenCV camera axes in the ego frame: x right = -y, y down = -z, z forward = +x.
  batch.cam2ego = torch::tensor({{0.0, 0.0, 1.0, 0.0},
                                 {-1.0, 0.0, 0.0, 0.0},
                                 {0.0, -1.0, 0.0, 1.5},
                                 {0.0, 0.0, 0.0, 1.0}})
                      .view({1, 1, 4, 4})
                      .repeat({batch_size, 1, 1, 1});
  batch.bev_aug = torch::eye(4).repeat({batch_size, 1, 1});
  batch.ego_status = torch::zeros({batch_size, 10});
  batch.command = torch::tensor({0, 3}, torch::kLong);
  batch.future_waypoints = torch::zeros({batch_size, steps, 2});
  for (int64_t k = 0; k < steps; ++k)
    batch.future_waypoints[0][k][1] = 0.5 * (k + 1);  // drifts left
  batch.future_mask = torch::ones({batch_size, steps}, torch::kBool);
  batch.boxes = torch::zeros({batch_size, 1, 9});
  batch.boxes[0][0] = torch::tensor({6.25, 0.25, 0.8, 4.0, 2.0, 1.6, 0.0, 0.0, 0.0});
  batch.box_classes = torch::tensor({{0}, {-1}}, torch::kLong);
  batch.box_mask = torch::tensor({{true}, {false}});
  batch.risk_target = torch::zeros({batch_size, 1, cells, cells});
  const int64_t ix = grid.x().cell_of(6.25), iy = grid.y().cell_of(0.25);  // 28, 16
  batch.risk_target[0][0][iy][ix] = 0.9;
  batch.risk_mask = torch::tensor({true, false});

  rsd::model::E2EOutput& output = s.output;
  output.waypoints = torch::zeros({batch_size, steps, 2});  // straight ahead: 0.5(k+1) m from GT
  output.risk_logits = torch::full({batch_size, 1, cells, cells}, -5.0);
  output.risk_logits[0][0][iy][ix] = 5.0;
  output.detection.heatmap = torch::full({batch_size, 3, cells, cells}, -10.0);
  output.detection.heatmap[0][0][iy][ix] = 10.0;
  torch::Tensor regression = torch::zeros({batch_size, 10, cells, cells});
  regression[0][0][iy][ix] = 0.5;  // (6.25 - -8) / 0.5 = 28.5 cells: offset 0.5
  regression[0][1][iy][ix] = 0.5;
  regression[0][2][iy][ix] = 0.8;
  regression[0][3][iy][ix] = std::log(4.0);
  regression[0][4][iy][ix] = std::log(2.0);
  regression[0][5][iy][ix] = std::log(1.6);
  regression[0][7][iy][ix] = 1.0;  // cos(yaw) = 1
  output.detection.regression = regression;
  return s;
}

TEST(EvalEvaluator, FeedsEveryMetricFromABatchAndDrawsPictures) {
  rsd::test::TempDir dir;
  const rsd::GridSpec grid({-8.0, 8.0, 0.5}, {-8.0, 8.0, 0.5}, {-5.0, 3.0, 8.0});
  rsd::eval::EvaluatorOptions options(grid);
  options.picture_dir = dir.file("pictures");
  options.pictures = 1;
  options.picture_cell_pixels = 2;
  rsd::eval::Evaluator evaluator(options);
  const SyntheticFrame s = synthetic_frame(grid);
  evaluator.add(s.batch, s.output);

  const MetricSet metrics = evaluator.metrics();
  EXPECT_EQ(metrics.get("eval/frames"), 2.0);
  EXPECT_DOUBLE_EQ(metrics.get("detection/vehicle/ap/0.5m"), 1.0);
  EXPECT_NEAR(metrics.get("detection/vehicle/ate"), 0.0, 1e-5);
  // Frame 0 is 0.5(k+1) m off, frame 1 exact: L2 at 1 s = (1.0 + 0) / 2.
  EXPECT_NEAR(metrics.get("planning/all/l2/1s"), 0.5, 1e-6);
  EXPECT_NEAR(metrics.get("planning/command.turn_left/l2/1s"), 1.0, 1e-6);
  EXPECT_NEAR(metrics.get("planning/ability.Emergency_Brake/l2/1s"), 1.0, 1e-6);
  EXPECT_NEAR(metrics.get("planning/high_risk/l2/1s"), 1.0, 1e-6);  // teacher 0.9 > 0.5 at the car
  EXPECT_EQ(metrics.get("planning/high_risk/frames"), 1.0);
  // The standing ego (4.89 m long: x <= 2.445) never reaches the car (x >= 4.25).
  EXPECT_EQ(metrics.get("planning/all/collision_cv/3s"), 0.0);
  EXPECT_TRUE(std::isnan(metrics.get("planning/all/obj_box_col/3s")));  // no agent futures
  EXPECT_EQ(metrics.get("risk/frames"), 1.0);
  EXPECT_DOUBLE_EQ(metrics.get("risk/auroc"), 1.0);

  ASSERT_EQ(evaluator.pictures().size(), 2u);  // one frame: BEV and camera
  const cv::Mat bev = cv::imread(evaluator.pictures()[0]);
  ASSERT_FALSE(bev.empty());
  EXPECT_EQ(bev.cols, 2 * 32 * 2);  // teacher and student panels, 2 px per cell
  const cv::Mat camera = cv::imread(evaluator.pictures()[1]);
  ASSERT_FALSE(camera.empty());
  EXPECT_EQ(camera.cols, 64);
}

// ---------------------------------------------------------------------------------------------
// Reports

MetricSet sample_metrics(double l2) {
  MetricSet metrics;
  metrics.set("eval/frames", 4);
  metrics.set("planning/all/frames", 4);
  metrics.set("planning/all/l2/1s", l2);
  metrics.set("planning/all/l2_avg/1s", l2 / 2);
  metrics.set("planning/all/obj_box_col/1s", 0.5);
  metrics.set("planning/all/obj_col/1s", 0.0);
  metrics.set("planning/all/collision_cv/1s", 0.25);
  metrics.set("planning/all/collision_cv_avg/1s", 0.125);
  metrics.set("detection/vehicle/gt", 3);
  metrics.set("detection/vehicle/ap/2m", 0.75);
  metrics.set("detection/ap/2m", 0.75);
  metrics.set("risk/auroc", kNaN);
  return metrics;
}

TEST(EvalReport, FilesExistParseAndRoundTrip) {
  rsd::test::TempDir dir;
  rsd::eval::ReportInfo info;
  info.details = {{"checkpoint", "runs/x/checkpoints/step_10.pt"}};
  write_report(dir.path(), sample_metrics(0.5), info);
  ASSERT_TRUE(fs::exists(dir.file("metrics.json")));
  ASSERT_TRUE(fs::exists(dir.file("report.md")));
  const auto json = nlohmann::json::parse(rsd::test::read_text(dir.file("metrics.json")));
  EXPECT_DOUBLE_EQ(json["metrics"]["planning"]["all"]["l2"]["1s"].get<double>(), 0.5);
  EXPECT_TRUE(json["metrics"]["risk"]["auroc"].is_null());  // NaN is written as null
  EXPECT_EQ(json["info"]["checkpoint"], "runs/x/checkpoints/step_10.pt");

  const MetricSet read = rsd::eval::read_metrics(dir.path());
  ASSERT_EQ(read.size(), sample_metrics(0.5).size());
  EXPECT_EQ(read.entries()[2].first, "planning/all/l2/1s");  // order kept
  EXPECT_TRUE(std::isnan(read.get("risk/auroc")));

  const std::string report = rsd::test::read_text(dir.file("report.md"));
  EXPECT_NE(report.find("| all | 4 | 0.500 | 0.250 |"), std::string::npos) << report;
  EXPECT_NE(report.find("| all | 4 | 50.00 | 0.00 |"), std::string::npos) << report;
  EXPECT_NE(report.find("| all | 4 | 25.00 | 12.50 |"), std::string::npos) << report;
  EXPECT_NE(report.find("| vehicle | 3 | 0.750 |"), std::string::npos) << report;
}

TEST(EvalReport, NamesThatAreBothValueAndPrefixAreRefused) {
  rsd::test::TempDir dir;
  MetricSet metrics;
  metrics.set("risk/l1", 0.1);
  metrics.set("risk/l1/frames", 3);
  EXPECT_THROW(write_report(dir.path(), metrics, {}), rsd::Error);
  EXPECT_THROW(rsd::eval::read_metrics(dir.file("missing")), rsd::DataError);
}

TEST(EvalReport, CompareWritesASideBySideTable) {
  rsd::test::TempDir dir;
  write_report(dir.file("off"), sample_metrics(0.5), {});
  MetricSet on = sample_metrics(0.4);
  on.set("risk/l1", 0.2);  // only in B
  write_report(dir.file("on"), on, {});
  const std::string table =
      rsd::eval::compare_reports(dir.file("off"), dir.file("on"), dir.file("compare.md"));
  EXPECT_NE(table.find("| metric | A | B | difference |"), std::string::npos) << table;
  EXPECT_NE(table.find("| planning/all/l2/1s | 0.5 | 0.4 | -0.1 |"), std::string::npos) << table;
  EXPECT_NE(table.find("| risk/l1 | - | 0.2 | - |"), std::string::npos) << table;
  EXPECT_EQ(rsd::test::read_text(dir.file("compare.md")), table);
}

}  // namespace
