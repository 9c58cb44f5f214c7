// The training sample of one frame and the batch the loader collates from samples: the tensors the
// model (LiftSplat, the heads) and the losses consume. Shapes, dtypes, field order and frames below
// are a contract; docs/data.md explains them with pictures in words.
//
// Frames and conventions:
//   * "aug ego frame" = the right-handed ego frame of the current frame (x forward, y left, z up,
//     metres) AFTER the BEV augmentation A = bev_aug (identity when augmentation is off). Every
//     position, heading and velocity below is in it.
//   * pixel coordinates are continuous with the image's top-left corner at (0, 0): pixel (column i,
//     row j) covers [i, i+1) x [j, j+1) and its centre is (i + 0.5, j + 0.5). Bench2Drive's
//     intrinsics (cx = W/2) use this convention.
//   * projecting a point p (aug ego frame) into network-input pixels of camera n:
//       q = inverse(cam2ego[n]) * [p, 1];  uv = img_aug[n] * intrinsics[n] * q.xyz / q.z
//     and lifting a network-input pixel (u, v) at depth d (metres along the optical axis) back:
//       p = cam2ego[n] * [d * inverse(intrinsics[n]) * inverse(img_aug[n]) * [u, v, 1], 1]
//   * masks are bool; padding entries hold zeros (class -1).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rsd::data {

/// Columns of ego_status, in order.
enum EgoStatusField : int64_t {
  kEgoSpeed = 0,            // m/s forward speed (x scale)
  kEgoAccelerationX = 1,    // m/s^2, aug ego frame (x scale)
  kEgoAccelerationY = 2,
  kEgoAccelerationZ = 3,
  kEgoAngularVelocityX = 4, // rad/s, aug ego frame (pseudo-vector: mirrored with sign)
  kEgoAngularVelocityY = 5,
  kEgoAngularVelocityZ = 6, // yaw rate, positive = turning left
  kEgoSteer = 7,            // [-1, 1], positive = left (sign flips with the BEV mirror)
  kEgoThrottle = 8,         // [0, 1]
  kEgoBrake = 9,            // [0, 1]
  kEgoStatusDim = 10
};

/// Columns of boxes, in order.
enum BoxField : int64_t {
  kBoxX = 0, kBoxY = 1, kBoxZ = 2,              // centre, metres, aug ego frame
  kBoxLength = 3, kBoxWidth = 4, kBoxHeight = 5, // full sizes, metres (length along the heading)
  kBoxYaw = 6,                                   // heading, radians in (-pi, pi], 0 = +x
  kBoxVelocityX = 7, kBoxVelocityY = 8,          // m/s, aug ego frame (absolute motion)
  kBoxDim = 9
};

/// One frame, as the dataset builds it. N cameras, T future and P past waypoints, K boxes.
struct Sample {
  std::string clip;
  int64_t frame = 0;
  torch::Tensor images;            // (N, 3, H, W) float32, RGB, (x/255 - mean) / std (ImageNet)
  torch::Tensor intrinsics;        // (N, 3, 3) float32, of the ORIGINAL stored image
  torch::Tensor img_aug;           // (N, 3, 3) float32, original pixels -> network-input pixels
  torch::Tensor cam2ego;           // (N, 4, 4) float32, camera (OpenCV axes) -> aug ego frame
  torch::Tensor bev_aug;           // (4, 4) float32, ego frame -> aug ego frame (already in cam2ego)
  torch::Tensor ego_status;        // (kEgoStatusDim) float32, EgoStatusField order
  int64_t command = 3;             // data::Command (0 left, 1 right, 2 straight, 3 follow, 4/5 lane change left/right)
  torch::Tensor future_waypoints;  // (T, 2) float32, ego position at +step_frames*(k+1), metres
  torch::Tensor future_mask;       // (T) bool, false where the frame is not in the clip
  torch::Tensor past_waypoints;    // (P, 2) float32, ego position at -step_frames*(k+1) (k = 0 most recent)
  torch::Tensor past_mask;         // (P) bool
  torch::Tensor boxes;             // (K, kBoxDim) float32, BoxField order, centres within the BEV grid (x, y)
  torch::Tensor box_classes;       // (K) int64, data::ObjectClass
  std::vector<std::string> box_ids;  // K CARLA actor ids
  torch::Tensor risk_target;       // (Y, X) float32 in [0, 1], BEV grid layout, aug ego frame (zeros without a label)
  bool risk_mask = false;          // a teacher label exists for this frame
};

/// B samples collated. M = the largest K of the batch, at least 1.
struct Batch {
  std::vector<std::string> clips;  // B
  std::vector<int64_t> frames;     // B
  torch::Tensor images;            // (B, N, 3, H, W) float32
  torch::Tensor intrinsics;        // (B, N, 3, 3) float32
  torch::Tensor img_aug;           // (B, N, 3, 3) float32
  torch::Tensor cam2ego;           // (B, N, 4, 4) float32, BEV augmentation applied
  torch::Tensor bev_aug;           // (B, 4, 4) float32, for reference (inverting predictions)
  torch::Tensor ego_status;        // (B, kEgoStatusDim) float32
  torch::Tensor command;           // (B) int64
  torch::Tensor future_waypoints;  // (B, T, 2) float32
  torch::Tensor future_mask;       // (B, T) bool
  torch::Tensor past_waypoints;    // (B, P, 2) float32
  torch::Tensor past_mask;         // (B, P) bool
  torch::Tensor boxes;             // (B, M, kBoxDim) float32, zeros where box_mask is false
  torch::Tensor box_classes;       // (B, M) int64, -1 where box_mask is false
  torch::Tensor box_mask;          // (B, M) bool
  std::vector<std::vector<std::string>> box_ids;  // B lists of K_b ids
  torch::Tensor risk_target;       // (B, 1, Y, X) float32
  torch::Tensor risk_mask;         // (B) bool

  int64_t size() const { return static_cast<int64_t>(clips.size()); }
  /// The tensors (risk targets and masks included) moved to `device`; names and ids are kept.
  /// `non_blocking` copies overlap with compute when the batch is in pinned memory.
  Batch to(const torch::Device& device, bool non_blocking = true) const;
  /// The tensors copied into pinned (page-locked) host memory, for non_blocking copies to a GPU.
  /// Needs a libtorch with CUDA (rsd::pipeline::pin_memory_for says when to call it).
  Batch pin_memory() const;
};

/// Stacks samples (all with the same N, H, W, T, P and grid) into a batch, padding boxes. Throws
/// rsd::Error naming the sample when shapes differ.
Batch collate(const std::vector<Sample>& samples);

}  // namespace rsd::data
