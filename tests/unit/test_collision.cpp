// The planning collision metric of ST-P3 as VAD and Bench2DriveZoo compute it (metric_stp3.py)
// against the agents' annotated futures, the reader of those futures, and their wiring into the
// evaluator.
//
// Golden values: unless a comment works a value out, it was computed by running the reference's
// functions (Bench2DriveZoo mmcv/models/dense_heads/planning_head_plugin/metric_stp3.py:
// _get_poly_region_in_image with cv2.fillPoly from OpenCV 4.6, evaluate_single_coll with
// skimage.draw.polygon from scikit-image 0.19, evaluate_coll, and VAD.compute_planner_metric_stp3's
// means; torch ops replaced by the same numpy float32 operations) on the same scenes, converted
// into the reference's LiDAR frame (x right = -y, y forward = x + 0.39). The same port agreed with
// this implementation on every per-step result and occupied-cell count of 5,700 random scenes.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include <Eigen/Geometry>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "rsd/config/config.h"
#include "rsd/data/batch.h"
#include "rsd/eval/agent_futures.h"
#include "rsd/eval/collision.h"
#include "rsd/eval/evaluator.h"
#include "rsd/eval/planning_metrics.h"
#include "rsd/eval/stp3_collision.h"
#include "rsd/model/e2e_model.h"
#include "rsd/pipeline/eval_config.h"
#include "rsd/util/error.h"
#include "support/error_message.h"
#include "support/planning_frames.h"
#include "support/temp_dir.h"

namespace {

using Eigen::Vector2d;
using Eigen::Vector3d;
using rsd::eval::Footprint;
using rsd::eval::MetricSet;
using rsd::eval::PlanningAccumulator;
using rsd::eval::PlanningFrame;
using rsd::eval::Stp3Occupancy;
using Cell = std::pair<int64_t, int64_t>;
using rsd::test::planning_frame;
using rsd::test::straight_ahead;
namespace fs = std::filesystem;

std::set<Cell> occupied(const Stp3Occupancy& occupancy) {
  std::set<Cell> cells;
  for (int64_t r = 0; r < rsd::eval::kStp3GridCells; ++r) {
    for (int64_t c = 0; c < rsd::eval::kStp3GridCells; ++c) {
      if (occupancy.occupied(r, c)) cells.emplace(r, c);
    }
  }
  return cells;
}

// A car (4.5 m x 1.9 m) driving in the lane to the ego's left at 2 m/s that turns into the ego's
// lane and stops 14.6 m ahead: where it is now, and its annotated footprints at 0.5 ... 3 s.
constexpr double kCarLength = 4.5, kCarWidth = 1.9;
const Footprint kCutInNow{Vector2d(12.0, 3.5), kCarLength, kCarWidth, 0.0};
const Vector2d kCutInVelocity(2.0, 0.0);
std::vector<std::vector<Footprint>> cut_in_future() {
  const double poses[6][3] = {{13.0, 3.0, -0.35}, {13.8, 2.0, -0.5}, {14.3, 1.0, -0.3},
                              {14.5, 0.3, -0.1},  {14.6, 0.0, 0.0},  {14.6, 0.0, 0.0}};
  std::vector<std::vector<Footprint>> futures;
  for (const auto& pose : poses) {
    futures.push_back({Footprint{Vector2d(pose[0], pose[1]), kCarLength, kCarWidth, pose[2]}});
  }
  return futures;
}

// The ego driving on at 4 m/s while the ground truth slowed to 3 m/s behind the cut-in car.
PlanningFrame cut_in_frame() {
  PlanningFrame frame = planning_frame(straight_ahead(4.0), straight_ahead(3.0));
  frame.obstacles = {{kCutInNow, kCutInVelocity}};
  frame.agent_futures = cut_in_future();
  return frame;
}

// ---------------------------------------------------------------------------------------------
// The grid, the ego box and the rasterisation

TEST(EvalStp3Collision, GridAndEgoBoxAreTheReferences) {
  EXPECT_EQ(rsd::eval::kStp3GridCells, 200);  // X_BOUND = Y_BOUND = [-50, 50, 0.5]
  EXPECT_EQ(rsd::eval::kStp3CellSize, 0.5);
  EXPECT_EQ(rsd::eval::kStp3EgoLength, 4.084);  // ego_width, ego_length = 1.85, 4.084
  EXPECT_EQ(rsd::eval::kStp3EgoWidth, 1.85);
  // evaluate_single_coll at a standing point: skimage's polygon of the box gives rows 97..104 and
  // columns 98..101 (32 cells); rows are counted from the far edge, 200 - (y / 0.5 + row).
  const rsd::eval::Stp3Cells here = rsd::eval::stp3_cells(Vector2d::Zero());
  ASSERT_EQ(here.box.size(), 32u);
  std::set<Cell> expected;
  for (int64_t r = 96; r <= 103; ++r) {
    for (int64_t c = 98; c <= 101; ++c) expected.emplace(r, c);
  }
  EXPECT_EQ(std::set<Cell>(here.box.begin(), here.box.end()), expected);
  // 10 m ahead: 20 rows further up; 1.3 m to the right: x = 1.3 in the LiDAR frame, 2.6 columns,
  // truncated.
  const rsd::eval::Stp3Cells ahead = rsd::eval::stp3_cells(Vector2d(10.0, -1.3));
  EXPECT_EQ(*std::min_element(ahead.box.begin(), ahead.box.end()), Cell(76, 100));
  EXPECT_EQ(*std::max_element(ahead.box.begin(), ahead.box.end()), Cell(83, 103));
  // A box past the grid's far edge is checked on the edge's cells (clamped, as the reference).
  const rsd::eval::Stp3Cells far = rsd::eval::stp3_cells(Vector2d(80.0, 0.0));
  for (const Cell& cell : far.box) EXPECT_EQ(cell.first, 0);

  // Where a small agent (0.1 m) still touches the box of a standing ego (reference outcomes): the
  // box reaches from about 2.1 m behind the ego's origin to 1.9 m ahead of it and from 0.75 m
  // right to 1.25 m left (LiDAR offset, the 0.5 m shift and the cell truncation all count).
  const std::pair<Vector2d, bool> probes[] = {
      {{1.7, 0.2}, true},  {{2.0, 0.2}, false}, {{-2.0, 0.2}, true}, {{-2.35, 0.2}, false},
      {{0.0, 1.1}, true},  {{0.0, 1.45}, false}, {{0.0, -0.6}, true}, {{0.0, -0.9}, false}};
  for (const auto& [position, hits] : probes) {
    std::vector<Stp3Occupancy> occupancy(1);
    occupancy[0].add({position, 0.1, 0.1, 0.0});
    EXPECT_EQ(rsd::eval::stp3_box_collisions({Vector2d::Zero()}, occupancy)[0], hits)
        << position.transpose();
  }
}

TEST(EvalStp3Collision, AgentBoxesAreFilledAsOpenCvFillPoly) {
  // A car turned 0.6 rad, 12.3 m ahead and 3.7 m to the right: cv2.fillPoly's 48 cells.
  Stp3Occupancy car;
  car.add({Vector2d(12.3, -3.7), 4.5, 1.9, 0.6});
  const std::set<Cell> car_cells = {
      {70, 106}, {71, 104}, {71, 105}, {71, 106}, {71, 107}, {72, 103}, {72, 104}, {72, 105},
      {72, 106}, {72, 107}, {72, 108}, {73, 104}, {73, 105}, {73, 106}, {73, 107}, {73, 108},
      {73, 109}, {74, 104}, {74, 105}, {74, 106}, {74, 107}, {74, 108}, {74, 109}, {75, 105},
      {75, 106}, {75, 107}, {75, 108}, {75, 109}, {75, 110}, {76, 106}, {76, 107}, {76, 108},
      {76, 109}, {76, 110}, {76, 111}, {77, 107}, {77, 108}, {77, 109}, {77, 110}, {77, 111},
      {77, 112}, {78, 107}, {78, 108}, {78, 109}, {78, 110}, {78, 111}, {79, 108}, {79, 109}};
  EXPECT_EQ(occupied(car), car_cells);
  EXPECT_EQ(car.occupied_cells(), 48);

  // A 10 m truck crossing the far edge of the grid: only its 66 cells on the grid are kept.
  Stp3Occupancy truck;
  truck.add({Vector2d(49.0, 10.0), 10.0, 2.5, 0.3});
  EXPECT_EQ(truck.occupied_cells(), 66);
  for (const Cell& cell : {Cell(0, 77), Cell(0, 81), Cell(4, 83), Cell(9, 85), Cell(12, 82)}) {
    EXPECT_TRUE(truck.occupied(cell.first, cell.second)) << cell.first << ", " << cell.second;
  }
  EXPECT_FALSE(truck.occupied(0, 82));
  EXPECT_FALSE(truck.occupied(13, 82));
  EXPECT_FALSE(truck.occupied(-1, 80));  // off the grid

  // Corners exactly half a cell off round half to even (np.round): a 1 m x 2 m box across the
  // ego's path (heading -pi/2, so the LiDAR frame sees it unrotated) at y = 0.25 has its sides at
  // columns 98.5 and 100.5, kept as 98 and 100 (half up would give 99 and 101); its ends at rows
  // 87.22 and 91.22.
  Stp3Occupancy tie;
  tie.add({Vector2d(5.0, 0.25), 1.0, 2.0, -M_PI_2});
  std::set<Cell> tie_cells;
  for (int64_t r = 87; r <= 91; ++r) {
    for (int64_t c = 98; c <= 100; ++c) tie_cells.emplace(r, c);
  }
  EXPECT_EQ(occupied(tie), tie_cells);

  // A box with a non-finite coordinate marks nothing.
  Stp3Occupancy broken;
  broken.add({Vector2d(std::numeric_limits<double>::quiet_NaN(), 0.0), 4.0, 2.0, 0.0});
  EXPECT_EQ(broken.occupied_cells(), 0);
}

// ---------------------------------------------------------------------------------------------
// The metric

TEST(EvalStp3Collision, TurningAgentCollidesWhereConstantVelocityMissesIt) {
  // The cut-in car stops in the ego's lane; the ego keeps 4 m/s and its box reaches the car at
  // 3 s (step 6 of 6); the ground truth slowed down and never does. Moving the car on at its
  // current velocity (the constant-velocity variant) keeps it in its own lane: no collision.
  PlanningAccumulator planning({});
  planning.add(cut_in_frame());
  const MetricSet metrics = planning.metrics();
  EXPECT_EQ(metrics.get("planning/all/obj_box_col/1s"), 0.0);
  EXPECT_EQ(metrics.get("planning/all/obj_box_col/2s"), 0.0);
  EXPECT_DOUBLE_EQ(metrics.get("planning/all/obj_box_col/3s"), 1.0 / 6.0);  // steps 0 0 0 0 0 1
  EXPECT_EQ(metrics.get("planning/all/gt_box_col/3s"), 0.0);
  for (const char* horizon : {"1s", "2s", "3s"}) {
    EXPECT_EQ(metrics.get(std::string("planning/all/collision_cv/") + horizon), 0.0) << horizon;
    EXPECT_EQ(metrics.get(std::string("planning/all/collision_cv_avg/") + horizon), 0.0);
  }
  // The centre point's cell is the one 25 m ahead-left (see CentreCell... below): empty.
  EXPECT_EQ(metrics.get("planning/all/obj_col/3s"), 0.0);
}

TEST(EvalStp3Collision, StepsWhereTheGroundTruthCollidesAreSkipped) {
  // Frame A: the ground truth itself drives on at 4 m/s into the car, like the prediction: its
  // step 6 is not counted. Frame B: the cut-in frame, whose ground truth slowed down: counted.
  PlanningFrame a = cut_in_frame();
  a.target = straight_ahead(4.0);
  const rsd::eval::Stp3Collisions per_step = [&] {
    std::vector<Stp3Occupancy> occupancy(6);
    for (int k = 0; k < 6; ++k) occupancy[k].add((*a.agent_futures)[k][0]);
    EXPECT_TRUE(rsd::eval::stp3_box_collisions(a.predicted, occupancy)[5]);  // it does collide
    return rsd::eval::stp3_collisions(a.predicted, a.target, occupancy);
  }();
  EXPECT_EQ(per_step.gt_box_col, std::vector<bool>({false, false, false, false, false, true}));
  EXPECT_EQ(per_step.obj_box_col, std::vector<bool>(6, false));

  PlanningAccumulator planning({});
  planning.add(a);
  planning.add(cut_in_frame());
  const MetricSet metrics = planning.metrics();
  // Per frame up to 3 s: A (0 + ... + 0) / 6 with its step 6 skipped, B 1/6; mean 1/12.
  EXPECT_DOUBLE_EQ(metrics.get("planning/all/obj_box_col/3s"), 1.0 / 12.0);
  EXPECT_DOUBLE_EQ(metrics.get("planning/all/gt_box_col/3s"), 1.0 / 12.0);
  EXPECT_EQ(metrics.get("planning/all/obj_box_col/2s"), 0.0);
}

TEST(EvalStp3Collision, CentreCellIsTheOneTheReferenceReads) {
  // evaluate_coll indexes obj_col's cell with -bx/2 = 24.875 m: for a standing ego the cell
  // ((24.875 - 0) / 0.5, (24.875 + 0) / 0.5) = (49, 49), 25.5 m ahead of the LiDAR and 25.5 m to
  // its left. A 1 m square there at step 3 (1.5 s) counts for obj_col and not for the box.
  const rsd::eval::Stp3Cells cells = rsd::eval::stp3_cells(Vector2d::Zero());
  EXPECT_TRUE(cells.centre_inside);
  EXPECT_EQ(cells.centre_row, 49);
  EXPECT_EQ(cells.centre_col, 49);
  PlanningFrame standing = planning_frame(std::vector<Vector2d>(6, Vector2d::Zero()),
                                          std::vector<Vector2d>(6, Vector2d::Zero()));
  standing.agent_futures.emplace(6);
  (*standing.agent_futures)[2].push_back(
      {Vector2d(25.5 + rsd::eval::kStp3LidarX, 25.5), 1.0, 1.0, 0.0});
  PlanningAccumulator planning({});
  planning.add(standing);
  const MetricSet metrics = planning.metrics();
  EXPECT_EQ(metrics.get("planning/all/obj_col/1s"), 0.0);
  EXPECT_DOUBLE_EQ(metrics.get("planning/all/obj_col/2s"), 0.25);  // steps 0 0 1 0
  EXPECT_DOUBLE_EQ(metrics.get("planning/all/obj_col/3s"), 1.0 / 6.0);
  EXPECT_EQ(metrics.get("planning/all/obj_box_col/3s"), 0.0);
  // So the two rates differ both ways: the cut-in frame has a box collision and no centre one.
  // A point off the grid (or not a number) has no centre cell, and its box cells are clamped.
  EXPECT_FALSE(rsd::eval::stp3_cells(Vector2d(30.0, 0.0)).centre_inside);
  const rsd::eval::Stp3Cells broken =
      rsd::eval::stp3_cells(Vector2d(std::numeric_limits<double>::quiet_NaN(), 0.0));
  EXPECT_FALSE(broken.centre_inside);
  for (const Cell& cell : broken.box) EXPECT_EQ(cell.first, 0);
}

TEST(EvalStp3Collision, OnlyFramesWithAWholeFutureAndAgentFuturesCount) {
  PlanningAccumulator planning({});
  PlanningFrame cut = cut_in_frame();
  cut.valid[5] = false;  // the clip ends before 3 s: not a fut_valid_flag sample
  planning.add(cut);
  PlanningFrame unknown = cut_in_frame();
  unknown.agent_futures.reset();  // nobody read the later annotations
  planning.add(unknown);
  MetricSet metrics = planning.metrics();
  EXPECT_TRUE(std::isnan(metrics.get("planning/all/obj_box_col/3s")));
  EXPECT_TRUE(std::isnan(metrics.get("planning/all/obj_col/1s")));
  EXPECT_EQ(metrics.get("planning/all/full_future_frames"), 1.0);  // `unknown`

  planning.add(cut_in_frame());
  metrics = planning.metrics();
  EXPECT_DOUBLE_EQ(metrics.get("planning/all/obj_box_col/3s"), 1.0 / 6.0);  // that frame alone

  PlanningFrame wrong = cut_in_frame();
  wrong.agent_futures->pop_back();
  EXPECT_THROW(planning.add(wrong), rsd::Error);
}

// ---------------------------------------------------------------------------------------------
// The agents' futures from a clip's annotations

// Writes a minimal Bench2Drive annotation: the ego at `ego2world` (right-handed) and objects
// given by their right-handed world pose. Only what the frame reader needs for boxes and poses.
struct WorldObject {
  std::string id;
  std::string annotation_class;  // vehicle | walker
  std::string type_id;
  Vector3d center;
  double yaw;
  Vector3d size;  // length, width, height
};

Eigen::Matrix4d pose(double x, double y, double yaw) {
  Eigen::Matrix4d m = Eigen::Matrix4d::Identity();
  m.topLeftCorner<3, 3>() = Eigen::AngleAxisd(yaw, Vector3d::UnitZ()).toRotationMatrix();
  m(0, 3) = x;
  m(1, 3) = y;
  return m;
}

nlohmann::json matrix_json(const Eigen::Matrix4d& m) {
  nlohmann::json rows = nlohmann::json::array();
  for (int r = 0; r < 4; ++r) rows.push_back({m(r, 0), m(r, 1), m(r, 2), m(r, 3)});
  return rows;
}

// CARLA's left-handed version of a right-handed world transform (y negated on both sides).
Eigen::Matrix4d left_handed(const Eigen::Matrix4d& m) {
  const Eigen::Matrix4d flip = Eigen::Vector4d(1.0, -1.0, 1.0, 1.0).asDiagonal();
  return flip * m * flip;
}

void write_annotation(const std::string& clip_path, int frame, const Eigen::Matrix4d& ego2world,
                      const std::vector<WorldObject>& objects) {
  nlohmann::json ego = {{"class", "ego_vehicle"},
                        {"id", "1"},
                        {"type_id", "vehicle.lincoln.mkz_2020"},
                        {"world2ego", matrix_json(left_handed(ego2world.inverse()))},
                        {"extent", {2.45, 1.06, 0.76}}};
  nlohmann::json boxes = nlohmann::json::array({ego});
  for (const WorldObject& object : objects) {
    const Eigen::Matrix4d world2object = left_handed(
        pose(object.center.x(), object.center.y(), object.yaw).inverse());
    boxes.push_back({{"class", object.annotation_class},
                     {"id", object.id},
                     {"type_id", object.type_id},
                     {"center", {object.center.x(), -object.center.y(), object.center.z()}},
                     {"extent", {object.size.x() / 2, object.size.y() / 2, object.size.z() / 2}},
                     {object.annotation_class == "walker" ? "world2ped" : "world2vehicle",
                      matrix_json(world2object)}});
  }
  const nlohmann::json anno = {{"bounding_boxes", boxes}, {"sensors", nlohmann::json::object()}};
  char name[32];
  std::snprintf(name, sizeof(name), "/anno/%05d.json.gz", frame);
  const std::string path = clip_path + name;
  fs::create_directories(fs::path(path).parent_path());
  const std::string text = anno.dump();
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  ASSERT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

// The ego of the test clips: from (100, 50) heading 0.3 rad, 0.3 m per frame (3 m/s) along it,
// turning 0.01 rad per frame.
Eigen::Matrix4d ego_pose(int frame) {
  double x = 100.0, y = 50.0, yaw = 0.3;
  for (int f = 0; f < frame; ++f) {
    x += 0.3 * std::cos(yaw);
    y += 0.3 * std::sin(yaw);
    yaw += 0.01;
  }
  return pose(x, y, yaw);
}

// A car given by its footprint in the ego frame `ego2world` places.
WorldObject car(const std::string& id, const Eigen::Matrix4d& ego2world, const Footprint& in_ego) {
  const Vector3d center =
      (ego2world * Eigen::Vector4d(in_ego.center.x(), in_ego.center.y(), 0.8, 1.0)).head<3>();
  const double yaw = in_ego.yaw + std::atan2(ego2world(1, 0), ego2world(0, 0));
  return {id,     "vehicle", "vehicle.audi.tt",
          center, yaw,       Vector3d(in_ego.length, in_ego.width, 1.6)};
}

TEST(EvalAgentFutures, FindsEachAgentByIdInTheLaterFramesAndMovesItIntoTheCurrentEgoFrame) {
  rsd::test::TempDir dir;
  const std::string clip = "ParkingCutIn_Town12_Route1_Weather3";
  const std::string clip_path = dir.file(clip);
  const Eigen::Matrix4d ego0 = ego_pose(0);
  // "7": a car parked 20 m ahead of the ego at frame 0, in every frame. "8": a walker that is not
  // annotated at frame 5. "9": appears at frame 5 only. The clip has no frame 15.
  const WorldObject parked = car("7", ego0, {Vector2d(20.0, -3.0), 4.0, 1.8, 0.5});
  const WorldObject walker{"8", "walker", "walker.pedestrian.0001",
                           (ego0 * Eigen::Vector4d(8.0, 4.0, 0.9, 1.0)).head<3>(), 0.0,
                           Vector3d(0.5, 0.5, 1.8)};
  WorldObject walked = walker;
  walked.center.x() += 1.0;
  const WorldObject newcomer = car("9", ego0, {Vector2d(30.0, 0.0), 4.0, 1.8, 0.0});
  write_annotation(clip_path, 0, ego_pose(0), {parked, walker});
  write_annotation(clip_path, 5, ego_pose(5), {parked, newcomer});
  write_annotation(clip_path, 10, ego_pose(10), {walked, parked});

  const rsd::eval::AgentFutureReader reader({dir.path(), 3, 5});
  const std::vector<rsd::eval::AgentFuture> agents = reader.read(clip, 0);
  ASSERT_EQ(agents.size(), 2u);  // "9" is not in frame 0
  EXPECT_EQ(agents[0].now.id, "7");
  EXPECT_EQ(agents[1].now.id, "8");
  EXPECT_EQ(agents[1].now.object_class, rsd::data::ObjectClass::pedestrian);
  ASSERT_EQ(agents[0].later.size(), 3u);
  // The parked car stays where it was in frame 0's ego frame, though the ego moved and turned.
  for (int k = 0; k < 2; ++k) {
    ASSERT_TRUE(agents[0].later[k].has_value()) << k;
    EXPECT_NEAR(agents[0].later[k]->center.x(), 20.0, 1e-9);
    EXPECT_NEAR(agents[0].later[k]->center.y(), -3.0, 1e-9);
    EXPECT_NEAR(agents[0].later[k]->yaw, 0.5, 1e-9);
    EXPECT_NEAR(agents[0].later[k]->size.x(), 4.0, 1e-9);
  }
  EXPECT_FALSE(agents[0].later[2].has_value());  // frame 15 does not exist
  EXPECT_FALSE(agents[1].later[0].has_value());  // the walker is not in frame 5
  ASSERT_TRUE(agents[1].later[1].has_value());
  EXPECT_NEAR(agents[1].later[1]->center.x(), 8.0 + std::cos(0.3), 1e-9);  // 1 m along world x
  EXPECT_NEAR(agents[1].later[1]->center.y(), 4.0 - std::sin(0.3), 1e-9);

  // From frame 5: the newcomer is there, with no later box; the car seen from the moved ego.
  const std::vector<rsd::eval::AgentFuture> from_five = reader.read(clip, 5);
  ASSERT_EQ(from_five.size(), 2u);
  EXPECT_EQ(from_five[1].now.id, "9");
  EXPECT_FALSE(from_five[1].later[0].has_value());
  ASSERT_TRUE(from_five[0].later[0].has_value());
  const Vector3d expected = (ego_pose(5).inverse() * parked.center.homogeneous()).head<3>();
  EXPECT_NEAR(from_five[0].later[0]->center.x(), expected.x(), 1e-9);
  EXPECT_NEAR(from_five[0].later[0]->center.y(), expected.y(), 1e-9);

  // A frame that is not there is an error naming its file.
  EXPECT_NE(rsd::test::error_message<rsd::DataError>([&] { reader.read(clip, 1); })
                .find("00001.json.gz"),
            std::string::npos);
  EXPECT_THROW(rsd::eval::AgentFutureReader({dir.path(), 6, 0}), rsd::ConfigError);
}

TEST(EvalAgentFutures, EvaluatorOptionsReadThemFromTheDataRoot) {
  rsd::Config config = rsd::Config::defaults();
  config.set("data.root", "/somewhere/bench2drive");
  config.set("data.waypoints.future_steps", "4");
  const rsd::eval::EvaluatorOptions options = rsd::pipeline::evaluator_options_from(config);
  ASSERT_NE(options.agent_futures, nullptr);
  EXPECT_EQ(options.agent_futures->options().root, "/somewhere/bench2drive");
  EXPECT_EQ(options.agent_futures->options().steps, 4);
  EXPECT_EQ(options.agent_futures->options().step_frames, 5);
}

// The evaluator on a clip written to disk: the cut-in car as annotated, the prediction driving
// on at 4 m/s, the ground truth slowing to 3 m/s.
TEST(EvalEvaluator, CollisionsUseTheAgentsAnnotatedFutures) {
  rsd::test::TempDir dir;
  const std::string clip = "ParkingCutIn_Town12_Route1_Weather3";
  // The car's poses are given in the ego frame of frame 0; the ego moves and turns meanwhile.
  const Eigen::Matrix4d ego0 = ego_pose(0);
  const std::vector<std::vector<Footprint>> future = cut_in_future();
  write_annotation(dir.file(clip), 0, ego0, {car("42", ego0, kCutInNow)});
  for (int k = 0; k < 6; ++k) {
    write_annotation(dir.file(clip), 5 * (k + 1), ego_pose(5 * (k + 1)),
                     {car("42", ego0, future[static_cast<size_t>(k)][0])});
  }

  const rsd::GridSpec grid({-32.0, 32.0, 0.5}, {-32.0, 32.0, 0.5}, {-5.0, 3.0, 8.0});
  rsd::eval::EvaluatorOptions options(grid);
  options.agent_futures = std::make_shared<const rsd::eval::AgentFutureReader>(
      rsd::eval::AgentFutureOptions{dir.path()});
  options.progress = false;
  rsd::eval::Evaluator evaluator(options);

  rsd::data::Batch batch;
  batch.clips = {clip};
  batch.frames = {0};
  batch.bev_aug = torch::eye(4).unsqueeze(0);
  batch.command = torch::tensor({3}, torch::kLong);
  torch::Tensor target = torch::zeros({1, 6, 2}), predicted = torch::zeros({1, 6, 2});
  for (int k = 0; k < 6; ++k) {
    target[0][k][0] = 1.5 * (k + 1);
    predicted[0][k][0] = 2.0 * (k + 1);
  }
  batch.future_waypoints = target;
  batch.future_mask = torch::ones({1, 6}, torch::kBool);
  batch.boxes = torch::tensor({{{12.0, 3.5, 0.8, kCarLength, kCarWidth, 1.6, 0.0, 2.0, 0.0}}});
  batch.box_classes = torch::tensor({{0}}, torch::kLong);
  batch.box_mask = torch::tensor({{true}});
  batch.risk_target = torch::zeros({1, 1, grid.ny(), grid.nx()});
  batch.risk_mask = torch::tensor({false});
  rsd::model::E2EOutput output;
  output.waypoints = predicted;
  evaluator.add(batch, output);

  const MetricSet metrics = evaluator.metrics();
  EXPECT_DOUBLE_EQ(metrics.get("planning/all/obj_box_col/3s"), 1.0 / 6.0);
  EXPECT_EQ(metrics.get("planning/all/obj_box_col/2s"), 0.0);
  EXPECT_EQ(metrics.get("planning/all/gt_box_col/3s"), 0.0);
  EXPECT_DOUBLE_EQ(metrics.get("planning/ability.Emergency_Brake/obj_box_col/3s"), 1.0 / 6.0);
  EXPECT_EQ(metrics.get("planning/all/collision_cv/3s"), 0.0);  // extrapolation misses the car
}

}  // namespace
