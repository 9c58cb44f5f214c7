"""The E2E model of librsd (include/rsd/model/*.h) in plain PyTorch, for comparison and for moving
weights between the two.

Every module has the C++ module's submodule and parameter names, so the dict that `rsd_export`
writes loads with `E2EModel(options).load_state_dict(weights, strict=True)`. The sizes the weights do
not carry (grid, image size, depth bins, heads, strides) come from `TwinOptions`, the C++
`E2EModelOptions` by field name (tests/tools/twin_reference.cpp writes them as JSON).

Covered: ResNet-18/34/50 + FPN image encoder, LiftSplat with voxel pooling, BEV encoder, detection
head, planning head, the `conv` RiskHead and risk attention. Not covered: the `attention` and
`deformable` RiskHead variants, training-time behaviour (frozen stages, autocast).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import nn


# ----- options --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridAxis:
    """[min, max) in cells of `step` metres (rsd::GridAxis)."""

    min: float
    max: float
    step: float

    @property
    def cells(self) -> int:
        return round((self.max - self.min) / self.step)


@dataclass(frozen=True)
class Grid:
    """The BEV grid (rsd::GridSpec): ego frame x forward, y left, z up; BEV tensors are (B, C, Y, X)."""

    x: GridAxis
    y: GridAxis
    z: GridAxis

    @staticmethod
    def from_json(j: dict) -> "Grid":
        return Grid(*(GridAxis(*j[axis]) for axis in ("x", "y", "z")))


@dataclass
class TwinOptions:
    """rsd::model::E2EModelOptions: one dict per submodule with the C++ option names."""

    image_encoder: dict
    lift: dict
    bev_encoder: dict
    detection_head: Optional[dict]
    planning_head: dict
    risk_head: Optional[dict]
    risk_attention_alpha: Optional[float]

    @staticmethod
    def load(path: str) -> "TwinOptions":
        with open(path) as f:
            return TwinOptions(**json.load(f))


# ----- building blocks (src/model/blocks.cpp) -------------------------------------------------


def conv(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    """The blocks' convolution: padding kernel // 2, no bias (a batch norm follows)."""
    return nn.Conv2d(in_channels, out_channels, kernel, stride, padding=kernel // 2, bias=False)


def conv_bn_relu(in_channels: int, out_channels: int, kernel: int = 3) -> List[nn.Module]:
    """The three layers of C++ conv_bn_relu / append_conv_bn_relu (Sequential children 0, 1, 2)."""
    return [conv(in_channels, out_channels, kernel), nn.BatchNorm2d(out_channels), nn.ReLU()]


class ResidualBlock(nn.Module):
    """torchvision's BasicBlock / Bottleneck (v1.5: the 3x3 convolution strides)."""

    def __init__(self, in_channels: int, planes: int, stride: int = 1, bottleneck: bool = False):
        super().__init__()
        self.bottleneck = bottleneck
        self.out_channels = planes * (4 if bottleneck else 1)
        if bottleneck:
            self.conv1 = conv(in_channels, planes, 1)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = conv(planes, planes, 3, stride)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = conv(planes, self.out_channels, 1)
            self.bn3 = nn.BatchNorm2d(self.out_channels)
        else:
            self.conv1 = conv(in_channels, planes, 3, stride)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = conv(planes, planes, 3)
            self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_channels != self.out_channels:
            self.downsample = nn.Sequential(conv(in_channels, self.out_channels, 1, stride),
                                            nn.BatchNorm2d(self.out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.bottleneck:
            out = self.bn3(self.conv3(F.relu(out)))
        identity = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + identity)


def residual_stage(in_channels: int, planes: int, blocks: int, stride: int,
                   bottleneck: bool) -> nn.Sequential:
    """`blocks` residual blocks, the first with `stride` (C++ make_residual_stage)."""
    layers = []
    for i in range(blocks):
        block = ResidualBlock(in_channels, planes, stride if i == 0 else 1, bottleneck)
        in_channels = block.out_channels
        layers.append(block)
    return nn.Sequential(*layers)


class AttentionBlock(nn.Module):
    """Post-norm transformer layer, sequence-first tensors (L, B, C)."""

    def __init__(self, channels: int, heads: int, feed_forward_multiplier: int = 2):
        super().__init__()
        inner = channels * feed_forward_multiplier
        self.attention = nn.MultiheadAttention(channels, heads)
        self.attention_norm = nn.LayerNorm(channels)
        self.feed_forward = nn.Sequential(nn.Linear(channels, inner), nn.ReLU(),
                                          nn.Linear(inner, channels))
        self.feed_forward_norm = nn.LayerNorm(channels)

    def forward(self, residual, query, key, value):
        attended, _ = self.attention(query, key, value, need_weights=False)
        x = self.attention_norm(residual + attended)
        return self.feed_forward_norm(x + self.feed_forward(x))


def resize_to(x: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    if x.shape[2] == rows and x.shape[3] == cols:
        return x
    return F.interpolate(x, size=(rows, cols), mode="bilinear", align_corners=False)


# ----- image encoder ----------------------------------------------------------------------------


class ImageEncoder(nn.Module):
    """ResNet backbone + a two-level FPN fusing strides 16 and 32 into one stride-16 map."""

    LAYOUTS = {18: ([2, 2, 2, 2], False), 34: ([3, 4, 6, 3], False), 50: ([3, 4, 6, 3], True)}

    def __init__(self, depth: int, width: int, in_channels: int, out_channels: int):
        super().__init__()
        blocks, bottleneck = self.LAYOUTS[depth]
        self.conv1 = nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        channels = width
        stages = []
        for i, count in enumerate(blocks):
            stage = residual_stage(channels, width << i, count, 1 if i == 0 else 2, bottleneck)
            channels = stage[-1].out_channels
            stages.append((stage, channels))
        (self.layer1, _), (self.layer2, _), (self.layer3, channels16), (self.layer4, channels32) = stages
        self.lateral16 = nn.Conv2d(channels16, out_channels, 1)
        self.lateral32 = nn.Conv2d(channels32, out_channels, 1)
        self.fuse = nn.Sequential(*conv_bn_relu(out_channels, out_channels, 3))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(images)))
        x = F.max_pool2d(x, 3, stride=2, padding=1)
        c16 = self.layer3(self.layer2(self.layer1(x)))
        c32 = self.layer4(c16)
        top = F.interpolate(self.lateral32(c32), size=c16.shape[2:], mode="bilinear",
                            align_corners=False)
        return self.fuse(self.lateral16(c16) + top)


# ----- LiftSplat --------------------------------------------------------------------------------


def make_frustum(o: dict) -> torch.Tensor:
    """(D, fH, fW, 3) of (u, v, depth): the centre pixel of each feature cell, each bin's depth."""
    stride = o["stride"]
    height = math.ceil(o["image_height"] / stride)
    width = math.ceil(o["image_width"] / stride)
    bins = o["depth_bins"]
    f64 = torch.float64
    u = torch.arange(width, dtype=f64) * stride + stride / 2.0
    v = torch.arange(height, dtype=f64) * stride + stride / 2.0
    d = torch.arange(bins, dtype=f64) * o["depth_step"] + o["depth_min"]
    shape = (bins, height, width)
    return torch.stack([u.view(1, 1, width).expand(shape), v.view(1, height, 1).expand(shape),
                        d.view(bins, 1, 1).expand(shape)], -1)


def frustum_to_ego(frustum: torch.Tensor, intrinsics: torch.Tensor, img_aug: torch.Tensor,
                   cam2ego: torch.Tensor) -> torch.Tensor:
    """Ego-frame points (B, N, D, fH, fW, 3) in float64: undo the image augmentation, back-project
    through K to camera-frame depth d, then cam2ego (the C++ frustum_to_ego, same operations)."""
    uvd = frustum.double()
    pixels = uvd[0].clone()
    pixels[..., 2] = 1.0
    depths = uvd[:, 0, 0, 2]
    original = torch.einsum("bnij,hwj->bnhwi", torch.inverse(img_aug.double()), pixels)
    original = original / original[..., 2:3]
    ray = torch.einsum("bnij,bnhwj->bnhwi", torch.inverse(intrinsics.double()), original)
    ray = ray / ray[..., 2:3]
    transform = cam2ego.double()
    direction = torch.einsum("bnij,bnhwj->bnhwi", transform[:, :, :3, :3], ray)
    b, n = intrinsics.shape[:2]
    return (direction.unsqueeze(2) * depths.view(1, 1, -1, 1, 1, 1)
            + transform[:, :, :3, 3].view(b, n, 1, 1, 1, 3))


def cells_of(points: torch.Tensor, grid: Grid) -> torch.Tensor:
    """The flat cell (z * Y + y) * X + x of each point (..., 3), -1 outside the grid: floor of the
    offset over the step in float64, half-open [min, max) per axis (rsd/geometry/grid_cell.h)."""
    points = points.double()
    flat = torch.zeros(points.shape[:-1], dtype=torch.long)
    inside = torch.ones(points.shape[:-1], dtype=torch.bool)
    for k, axis in enumerate((grid.z, grid.y, grid.x)):  # z-major
        value = points[..., 2 - k]
        cell = torch.floor((value - axis.min) / axis.step)
        inside &= (value >= axis.min) & (value < axis.max) & (cell < axis.cells)
        flat = flat * axis.cells + cell.clamp(min=0).long()
    return torch.where(inside, flat, torch.full_like(flat, -1))


def voxel_pool(depth: torch.Tensor, context: torch.Tensor, cells: torch.Tensor,
               grid: Grid) -> torch.Tensor:
    """bev[b, z*C + c, y, x] = sum of depth[p] * context[pixel of p, c] over the points p of
    sample b in cell (z, y, x). depth (B, N, D, fH, fW), context (B, N, fH, fW, C), cells as
    cells_of gives them for the points (B, N, D, fH, fW) -> (B, Z*C, Y, X)."""
    batch, channels = depth.shape[0], context.shape[-1]
    nz, ny, nx = grid.z.cells, grid.y.cells, grid.x.cells
    lifted = depth.unsqueeze(-1) * context.unsqueeze(2)  # (B, N, D, fH, fW, C)
    sample = torch.arange(batch).view(batch, 1, 1, 1, 1).expand_as(cells)
    global_cell = (sample * (nz * ny * nx) + cells).reshape(-1)
    kept = cells.reshape(-1) >= 0
    pooled = lifted.new_zeros(batch * nz * ny * nx, channels)
    pooled.index_add_(0, global_cell[kept], lifted.reshape(-1, channels)[kept])
    return (pooled.view(batch, nz, ny, nx, channels).permute(0, 1, 4, 2, 3)
            .reshape(batch, nz * channels, ny, nx))


class LiftSplat(nn.Module):
    """Depth distribution x context features per pixel, pooled into the BEV grid (the LSS lift)."""

    def __init__(self, in_channels: int, grid: dict, image_height: int, image_width: int,
                 depth_min: float, depth_max: float, depth_step: float, depth_bins: int,
                 context_channels: int, stride: int):
        super().__init__()
        self.options = dict(image_height=image_height, image_width=image_width, stride=stride,
                            depth_min=depth_min, depth_step=depth_step, depth_bins=depth_bins)
        self.grid = Grid.from_json(grid)
        self.bins, self.channels = depth_bins, context_channels
        self.depth_net = nn.Conv2d(in_channels, depth_bins + context_channels, 1)

    def forward(self, features, intrinsics, img_aug, cam2ego):
        b, n = intrinsics.shape[:2]
        logits = self.depth_net(features)
        height, width = logits.shape[2:]
        depth = torch.softmax(logits[:, :self.bins], 1).reshape(b, n, self.bins, height, width)
        context = (logits[:, self.bins:self.bins + self.channels].permute(0, 2, 3, 1)
                   .reshape(b, n, height, width, self.channels))
        # The C++ model rounds the float64 points to the features' dtype before assigning cells.
        with torch.no_grad():
            points = frustum_to_ego(make_frustum(self.options), intrinsics, img_aug, cam2ego)
            cells = cells_of(points.to(logits.dtype), self.grid)
        return voxel_pool(depth, context, cells, self.grid), depth


# ----- BEV encoder and heads --------------------------------------------------------------------


class BevEncoder(nn.Module):
    """Residual stages at strides 1, 2, 4, ... of the grid, fused top-down back to the grid."""

    def __init__(self, in_channels: int, channels: int, blocks: List[int], out_channels: int):
        super().__init__()
        self.stem = nn.Sequential(*conv_bn_relu(in_channels, channels, 3))
        self.scales = nn.ModuleList()
        scale_channels = []
        current = channels
        for i, count in enumerate(blocks):
            if count == 0:
                self.scales.append(nn.Sequential())
            else:
                self.scales.append(residual_stage(current, channels << i, count,
                                                  1 if i == 0 else 2, False))
                current = self.scales[-1][-1].out_channels
            scale_channels.append(current)
        self.fuse = nn.ModuleList(
            nn.Sequential(*conv_bn_relu(scale_channels[i] + scale_channels[i + 1], scale_channels[i]))
            for i in range(len(blocks) - 1))
        self.out = nn.Sequential(*conv_bn_relu(scale_channels[0], out_channels))

    def forward(self, bev: torch.Tensor) -> torch.Tensor:
        x = self.stem(bev)
        features = []
        for stage in self.scales:
            x = stage(x)
            features.append(x)
        fused = features[-1]
        for i in reversed(range(len(features) - 1)):
            up = F.interpolate(fused, size=features[i].shape[2:], mode="bilinear",
                               align_corners=False)
            fused = self.fuse[i](torch.cat([up, features[i]], 1))
        return self.out(fused)


def branch(hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, out, 1))


class DetectionHead(nn.Module):
    """CenterPoint-style heatmap and box regression (offset x/y, z, log size, sin/cos, velocity)."""

    def __init__(self, in_channels: int, num_classes: int, hidden: int):
        super().__init__()
        self.shared = nn.Sequential(*conv_bn_relu(in_channels, hidden, 3))
        self.heatmap = branch(hidden, num_classes)
        self.offset = branch(hidden, 2)
        self.z = branch(hidden, 1)
        self.size = branch(hidden, 3)
        self.yaw = branch(hidden, 2)
        self.velocity = branch(hidden, 2)

    def forward(self, bev):
        x = self.shared(bev)
        regression = torch.cat([self.offset(x), self.z(x), self.size(x), self.yaw(x),
                                self.velocity(x)], 1)
        return self.heatmap(x), regression


def bev_positional_encoding(grid: Grid, rows: int, cols: int, channels: int,
                            temperature: float = 10000.0) -> torch.Tensor:
    """(channels, rows, cols) sin/cos of the cell centres: the first half encodes x, the second y
    (src/model/positional_encoding.cpp, in float32 as there)."""

    def encode_axis(axis: GridAxis, cells: int, features: int) -> torch.Tensor:
        step = (axis.max - axis.min) / cells
        centres = torch.arange(cells, dtype=torch.float32) * step + (axis.min + 0.5 * step)
        phase = (centres - axis.min) * (2.0 * math.pi / (axis.max - axis.min))
        pair = torch.floor(torch.arange(features, dtype=torch.float32) / 2.0)
        inverse_wavelength = torch.pow(temperature, -2.0 * pair / features)
        angles = inverse_wavelength.unsqueeze(1) * phase.unsqueeze(0)
        even = (torch.arange(features) % 2 == 0).unsqueeze(1)
        return torch.where(even, torch.sin(angles), torch.cos(angles))

    half = channels // 2
    x = encode_axis(grid.x, cols, half).unsqueeze(1).expand(half, rows, cols)
    y = encode_axis(grid.y, rows, half).unsqueeze(2).expand(half, rows, cols)
    return torch.cat([x, y])


class PlanningHead(nn.Module):
    """One ego query (learned + ego status + command) attends to the BEV, regresses waypoints."""

    def __init__(self, bev_channels: int, grid: dict, horizon: int, ego_status_dim: int,
                 num_commands: int, hidden: int, heads: int, layers: int, key_stride: int):
        super().__init__()
        self.grid, self.horizon, self.key_stride = Grid.from_json(grid), horizon, key_stride
        self.query = nn.Parameter(torch.randn(1, hidden) * 0.02)
        self.ego_mlp = nn.Sequential(nn.Linear(ego_status_dim, hidden), nn.ReLU(),
                                     nn.Linear(hidden, hidden))
        self.command_embedding = nn.Embedding(num_commands, hidden)
        self.key_projection = nn.Conv2d(bev_channels, hidden, 1)
        self.layers = nn.ModuleList(AttentionBlock(hidden, heads) for _ in range(layers))
        self.waypoint_mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(),
                                          nn.Linear(hidden, horizon * 2))

    def forward(self, bev, ego_status, command):
        batch = bev.shape[0]
        keys = self.key_projection(bev)
        if self.key_stride > 1:
            keys = F.avg_pool2d(keys, self.key_stride, self.key_stride, ceil_mode=True,
                                count_include_pad=False)
        hidden = keys.shape[1]
        position = bev_positional_encoding(self.grid, keys.shape[2], keys.shape[3], hidden)
        values = keys.flatten(2).permute(2, 0, 1)  # (L, B, hidden)
        keys_with_position = (keys + position.to(keys)).flatten(2).permute(2, 0, 1)
        query = (self.query.expand(batch, hidden) + self.ego_mlp(ego_status.to(keys.dtype))
                 + self.command_embedding(command.long())).unsqueeze(0)
        for layer in self.layers:
            query = layer(query, query, keys_with_position, values)
        steps = self.waypoint_mlp(query.squeeze(0)).view(batch, self.horizon, 2)
        return steps.cumsum(1)


class ConvRiskHead(nn.Module):
    """The `conv` RiskHead: `layers` 3x3 conv + BN + ReLU, then a 1x1 conv to one logit."""

    def __init__(self, type: str, in_channels: int, hidden: int, layers: int, grid: dict):
        super().__init__()
        if type != "conv":
            raise NotImplementedError(f"the twin has the conv RiskHead only, not '{type}'")
        self.grid = Grid.from_json(grid)
        body = []
        for i in range(layers):
            body += conv_bn_relu(in_channels if i == 0 else hidden, hidden, 3)
        self.body = nn.Sequential(*body)
        self.logit = nn.Conv2d(hidden, 1, 1)

    def forward(self, bev):
        return resize_to(self.logit(self.body(bev)), self.grid.y.cells, self.grid.x.cells)


# ----- the whole model --------------------------------------------------------------------------


class E2EModel(nn.Module):
    """images -> ImageEncoder -> LiftSplat -> BevEncoder -> detection, planning and risk heads."""

    def __init__(self, options: TwinOptions):
        super().__init__()
        self.image_encoder = ImageEncoder(**options.image_encoder)
        self.lift = LiftSplat(**options.lift)
        self.bev_encoder = BevEncoder(**options.bev_encoder)
        self.detection_head = (DetectionHead(**options.detection_head)
                               if options.detection_head else None)
        self.planning_head = PlanningHead(**options.planning_head)
        self.risk_head = ConvRiskHead(**options.risk_head) if options.risk_head else None
        self.risk_attention_alpha = options.risk_attention_alpha

    def forward(self, images, intrinsics, img_aug, cam2ego, ego_status, command) -> Dict[str, torch.Tensor]:
        """The C++ forward_tensors: images (B, N, 3, H, W), intrinsics and img_aug (B, N, 3, 3),
        cam2ego (B, N, 4, 4), ego_status (B, E), command (B) -> the outputs by the names
        tests/tools/twin_reference.cpp gives them."""
        features = self.image_encoder(images.flatten(0, 1))
        pooled, depth = self.lift(features, intrinsics, img_aug, cam2ego)
        bev = self.bev_encoder(pooled)
        out = {"bev": bev, "depth": depth}
        if self.detection_head is not None:
            out["detection.heatmap"], out["detection.regression"] = self.detection_head(bev)
        planning_input = bev
        if self.risk_head is not None:
            out["risk_logits"] = self.risk_head(bev)
            if self.risk_attention_alpha is not None:
                risk = torch.sigmoid(resize_to(out["risk_logits"], bev.shape[2], bev.shape[3]))
                planning_input = bev * (1.0 + self.risk_attention_alpha * risk.to(bev.dtype))
        out["waypoints"] = self.planning_head(planning_input, ego_status, command)
        return out
