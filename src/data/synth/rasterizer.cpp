#include "data/synth/rasterizer.h"

#include <algorithm>
#include <cmath>

namespace rsd::data::synth {
namespace {

constexpr double kNear = 0.05;
constexpr float kSkyDepth = 1000.0f;  // CARLA's depth camera saturates at 1 km

struct Vertex {
  double x, y, z;  // camera frame
  double s, t;
};

void set(float out[3], float r, float g, float b) {
  out[0] = r;
  out[1] = g;
  out[2] = b;
}

void scaled(float out[3], const float in[3], float k) {
  out[0] = in[0] * k;
  out[1] = in[1] * k;
  out[2] = in[2] * k;
}

double segment_distance(double px, double py, double ax, double ay, double bx, double by) {
  const double vx = bx - ax, vy = by - ay;
  const double u = std::clamp(((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy), 0.0, 1.0);
  const double dx = px - (ax + u * vx), dy = py - (ay + u * vy);
  return std::sqrt(dx * dx + dy * dy);
}

// Colour of a face at (s, t). Returns false where the surface is transparent; `emissive` marks
// light sources, which neither shading nor night darkens.
bool shade(const Face& face, double s, double t, double w, double h, float out[3], bool* emissive) {
  *emissive = false;
  const float* paint = face.color;
  switch (face.material) {
    case Material::paint:
      scaled(out, paint, 1.0f);
      return true;
    case Material::car_side: {
      const double r = std::min(0.34, 0.48 * h);
      for (const double centre : {0.18 * w, 0.82 * w}) {
        const double d = std::hypot(s - centre, t - r);
        if (d < r) {
          if (d < 0.55 * r) set(out, 0.5f, 0.5f, 0.52f);
          else set(out, 0.04f, 0.04f, 0.04f);
          return true;
        }
      }
      if (t < 0.1) scaled(out, paint, 0.45f);
      else if (std::abs(s - 0.5 * w) < 0.015 || std::abs(s - 0.3 * w) < 0.015) scaled(out, paint, 0.6f);
      else scaled(out, paint, static_cast<float>(0.82 + 0.18 * t / h));
      return true;
    }
    case Material::car_front:
    case Material::car_back: {
      const bool front = face.material == Material::car_front;
      const bool lamp_row = t > 0.55 * h && t < 0.85 * h;
      const bool lamp_col = (s > 0.06 * w && s < 0.26 * w) || (s > 0.74 * w && s < 0.94 * w);
      if (t < 0.22 * h) {
        scaled(out, paint, 0.55f);
      } else if (lamp_row && lamp_col) {
        if (front) {
          set(out, 0.95f, 0.93f, 0.8f);
          *emissive = true;
        } else if (face.state != 0) {  // braking
          set(out, 1.0f, 0.12f, 0.08f);
          *emissive = true;
        } else {
          set(out, 0.55f, 0.05f, 0.05f);
        }
      } else if (front && s > 0.33 * w && s < 0.67 * w && t > 0.3 * h && t < 0.6 * h) {
        set(out, 0.07f, 0.07f, 0.07f);
      } else if (!front && s > 0.4 * w && s < 0.6 * w && t > 0.3 * h && t < 0.5 * h) {
        set(out, 0.85f, 0.85f, 0.8f);
      } else {
        scaled(out, paint, 1.0f);
      }
      return true;
    }
    case Material::glass_side:
    case Material::glass_end: {
      const double frame = 0.09;
      const bool pillar = face.material == Material::glass_side && std::abs(s - 0.5 * w) < 0.05;
      if (s < frame || s > w - frame || t > h - frame || t < 0.04 || pillar) {
        scaled(out, paint, 0.9f);
      } else {
        const float sky = static_cast<float>(0.12 * t / h);
        set(out, 0.09f + sky, 0.11f + sky, 0.15f + sky);
      }
      return true;
    }
    case Material::building: {
      const uint32_t salt = static_cast<uint32_t>(face.state);
      if (t < 3.0) {  // shop front
        const double bay = wrap(s, 4.0);
        if (bay > 0.4 && bay < 3.6 && t > 0.3 && t < 2.6) {
          const float n = cell_noise(static_cast<int64_t>(s / 4.0), 0, salt);
          set(out, 0.1f + 0.05f * n, 0.12f + 0.05f * n, 0.15f + 0.05f * n);
          if (face.color2[0] > 0.5f && n > 0.5f) {  // lit at night
            set(out, 0.9f, 0.78f, 0.5f);
            *emissive = true;
          }
        } else {
          scaled(out, paint, 0.8f);
        }
        return true;
      }
      const double storey = wrap(t - 3.0, 3.2);
      const double bay = wrap(s, 2.8);
      if (storey > 0.8 && storey < 2.3 && bay > 0.6 && bay < 2.2) {
        const float n = cell_noise(static_cast<int64_t>(s / 2.8), static_cast<int64_t>((t - 3.0) / 3.2), salt);
        set(out, 0.1f + 0.1f * n, 0.12f + 0.1f * n, 0.16f + 0.1f * n);
        if (face.color2[0] > 0.5f && n > 0.65f) {
          set(out, 0.85f, 0.72f, 0.42f);
          *emissive = true;
        }
      } else if (storey < 0.15) {
        scaled(out, paint, 0.78f);
      } else {
        scaled(out, paint, 1.0f);
      }
      return true;
    }
    case Material::roof: {
      const float n = cell_noise(static_cast<int64_t>(s), static_cast<int64_t>(t), 7);
      scaled(out, paint, 0.9f + 0.1f * n);
      return true;
    }
    case Material::concrete:
      scaled(out, paint, wrap(s, 1.0) < 0.04 ? 0.7f : 1.0f);
      return true;
    case Material::metal:
    case Material::bark:
      scaled(out, paint, 1.0f);
      return true;
    case Material::foliage: {
      const float n = cell_noise(floor_int(s / 0.35), floor_int(t / 0.35), 9);
      scaled(out, paint, 0.7f + 0.5f * n);
      return true;
    }
    case Material::legs:
    case Material::torso:
      scaled(out, paint, 1.0f);
      return true;
    case Material::head:
      if (t > 0.72 * h) scaled(out, face.color2, 1.0f);
      else scaled(out, paint, 1.0f);
      return true;
    case Material::bike_frame: {
      const double r = 0.33;
      for (const double centre : {0.2 * w, 0.8 * w}) {
        const double d = std::hypot(s - centre, t - r);
        if (std::abs(d - r) < 0.045 || d < 0.05) {
          set(out, 0.05f, 0.05f, 0.05f);
          return true;
        }
      }
      const double crank_x = 0.5 * w, crank_y = r, seat_x = 0.42 * w, seat_y = 0.8, head_x = 0.76 * w, head_y = 0.82;
      const double d = std::min({segment_distance(s, t, 0.2 * w, r, crank_x, crank_y),
                                 segment_distance(s, t, crank_x, crank_y, seat_x, seat_y),
                                 segment_distance(s, t, seat_x, seat_y, head_x, head_y),
                                 segment_distance(s, t, crank_x, crank_y, head_x, head_y),
                                 segment_distance(s, t, head_x, head_y, 0.8 * w, r),
                                 segment_distance(s, t, 0.2 * w, r, seat_x, seat_y)});
      if (d < 0.03) {
        scaled(out, paint, 1.0f);
        return true;
      }
      return false;
    }
    case Material::light_face: {
      set(out, 0.06f, 0.06f, 0.06f);
      const double r = std::min(0.11, 0.32 * w);
      const double rows[3] = {0.8 * h, 0.5 * h, 0.2 * h};  // red, yellow, green
      const float lamp[3][3] = {{1.0f, 0.1f, 0.05f}, {1.0f, 0.75f, 0.05f}, {0.1f, 1.0f, 0.35f}};
      for (int k = 0; k < 3; ++k) {
        if (std::hypot(s - 0.5 * w, t - rows[k]) < r) {
          if (face.state == k) {
            set(out, lamp[k][0], lamp[k][1], lamp[k][2]);
            *emissive = true;
          } else {
            scaled(out, lamp[k], 0.12f);
          }
        }
      }
      return true;
    }
    case Material::sign_face: {
      const double r = 0.48 * std::min(w, h);
      const double dx = s - 0.5 * w, dy = t - 0.5 * h;
      const double d = std::hypot(dx, dy);
      if (d > r) return false;
      if (d > 0.78 * r) set(out, 0.75f, 0.05f, 0.05f);
      else if ((std::abs(std::abs(dx) - 0.07) < 0.035) && std::abs(dy) < 0.11) set(out, 0.05f, 0.05f, 0.05f);
      else set(out, 0.9f, 0.9f, 0.88f);
      return true;
    }
    case Material::warning_face: {
      if (s < 0.05 || s > w - 0.05 || t < 0.05 || t > h - 0.05) set(out, 0.9f, 0.9f, 0.9f);
      else if (wrap(s + t, 0.5) < 0.25) set(out, 0.95f, 0.45f, 0.05f);
      else set(out, 0.05f, 0.05f, 0.05f);
      return true;
    }
    case Material::cone_band:
      if (t > 0.4 * h && t < 0.62 * h) set(out, 0.9f, 0.9f, 0.9f);
      else set(out, 0.95f, 0.4f, 0.05f);
      return true;
    case Material::invisible:
      return false;
  }
  return false;
}

}  // namespace

void add_box_faces(std::vector<Face>& faces, const Eigen::Vector3d& center, double yaw, const Eigen::Vector3d& half,
                   const Face& style, Material side, Material front, Material back, Material top, bool bottom) {
  const Eigen::Vector3d x(std::cos(yaw), std::sin(yaw), 0.0);
  const Eigen::Vector3d y(-std::sin(yaw), std::cos(yaw), 0.0);
  const Eigen::Vector3d z(0.0, 0.0, 1.0);
  const Eigen::Vector3d hx = half.x() * x, hy = half.y() * y, hz = half.z() * z;
  const auto add = [&](const Eigen::Vector3d& origin, const Eigen::Vector3d& u, const Eigen::Vector3d& v,
                       const Eigen::Vector3d& normal, Material material) {
    if (material == Material::invisible) return;
    Face face = style;
    face.origin = origin;
    face.u = u;
    face.v = v;
    face.normal = normal;
    face.material = material;
    faces.push_back(face);
  };
  add(center + hx - hy - hz, 2.0 * hy, 2.0 * hz, x, front);
  add(center - hx + hy - hz, -2.0 * hy, 2.0 * hz, -x, back);
  add(center + hx + hy - hz, -2.0 * hx, 2.0 * hz, y, side);
  add(center - hx - hy - hz, 2.0 * hx, 2.0 * hz, -y, side);
  add(center - hx - hy + hz, 2.0 * hx, 2.0 * hy, z, top);
  if (bottom) add(center - hx + hy - hz, 2.0 * hx, -2.0 * hy, -z, top);
}

float Rasterizer::fog(double distance) const {
  const double index = distance * 2.0;
  return fog_table_[index >= 4095.0 ? 4095 : static_cast<std::size_t>(index)];
}

void Rasterizer::begin(const CameraView& camera, const RoadLayout& road, const Lighting& lighting) {
  camera_ = camera;
  lighting_ = lighting;
  road_ = &road;
  to_camera_ = camera.rotation.transpose();
  if (fog_table_density_ != lighting.fog_per_metre) {
    fog_table_.resize(4096);
    for (std::size_t i = 0; i < fog_table_.size(); ++i) {
      fog_table_[i] = static_cast<float>(1.0 - std::exp(-lighting.fog_per_metre * (static_cast<double>(i) + 0.5) * 0.5));
    }
    fog_table_density_ = lighting.fog_per_metre;
  }
  const int w = camera.width, h = camera.height;
  const std::size_t pixels = static_cast<std::size_t>(w) * h;
  if (colour_.rows != h || colour_.cols != w) colour_.create(h, w, CV_8UC3);
  depth_.assign(pixels, kSkyDepth);
  instance_.assign(pixels, 0);
  semantic_.assign(pixels, kTagSky);
  ground_.assign(pixels, 0);

  // Ground depth now, its colour in finish() where still visible; the sky right away.
  const Eigen::Vector3d right = camera.rotation.col(1) / camera.fx;
  for (int j = 0; j < h; ++j) {
    const Eigen::Vector3d row = camera.rotation.col(0) - camera.cx * right - ((j - camera.cy) / camera.fy) * camera.rotation.col(2);
    uint8_t* out = colour_.ptr<uint8_t>(j);
    for (int i = 0; i < w; ++i) {
      const Eigen::Vector3d ray = row + i * right;
      const std::size_t index = static_cast<std::size_t>(j) * w + i;
      if (ray.z() < -1e-9) {
        const double t = (road.ground_z - camera.position.z()) / ray.z();  // along the optical axis
        depth_[index] = static_cast<float>(std::min<double>(t, kSkyDepth));
        ground_[index] = 1;
        continue;
      }
      const double elevation = std::sqrt(std::clamp(ray.z() / ray.norm(), 0.0, 1.0));
      for (int c = 0; c < 3; ++c) {
        const double value = lighting.sky_horizon[c] * (1.0 - elevation) + lighting.sky_top[c] * elevation;
        out[3 * i + 2 - c] = static_cast<uint8_t>(std::clamp(value, 0.0, 1.0) * 255.0 + 0.5);
      }
    }
  }
}

void Rasterizer::finish() {
  const CameraView& camera = camera_;
  const Lighting& lighting = lighting_;
  const int w = camera.width, h = camera.height;
  const Eigen::Vector3d right = camera.rotation.col(1) / camera.fx;
  const float ground_light =
      static_cast<float>(lighting.exposure * (lighting.ambient + lighting.direct * std::max(0.0, lighting.sun_z)));
  const float wet = static_cast<float>(lighting.wet);
  for (int j = 0; j < h; ++j) {
    const Eigen::Vector3d row = camera.rotation.col(0) - camera.cx * right - ((j - camera.cy) / camera.fy) * camera.rotation.col(2);
    uint8_t* out = colour_.ptr<uint8_t>(j);
    for (int i = 0; i < w; ++i) {
      const std::size_t index = static_cast<std::size_t>(j) * w + i;
      if (!ground_[index]) continue;
      const Eigen::Vector3d ray = row + i * right;
      const double t = (road_->ground_z - camera.position.z()) / ray.z();
      const Eigen::Vector3d hit = camera.position + t * ray;
      uint8_t tag;
      float rgb[3];
      road_->shade(hit.x(), hit.y(), &tag, rgb);
      if (tag == kTagRoad || tag == kTagRoadLine) {
        const float k = ground_light * (1.0f - 0.35f * wet);
        for (int c = 0; c < 3; ++c) rgb[c] = rgb[c] * k + 0.12f * wet * static_cast<float>(lighting.sky_horizon[c]);
      } else {
        for (float& c : rgb) c *= ground_light;
      }
      semantic_[index] = tag;
      const float haze = fog(t * ray.norm());
      for (int c = 0; c < 3; ++c) {
        const float value = rgb[c] * (1.0f - haze) + static_cast<float>(lighting.fog_colour[c]) * haze;
        out[3 * i + 2 - c] = static_cast<uint8_t>(std::clamp(value, 0.0f, 1.0f) * 255.0f + 0.5f);
      }
    }
  }
}

void Rasterizer::put(int index, const float rgb[3], float depth, double light, bool emissive, const Face& face) {
  const float k = emissive ? 1.0f : static_cast<float>(light);
  const float haze = fog(depth);
  uint8_t* pixel = colour_.ptr<uint8_t>(0) + 3 * static_cast<std::size_t>(index);
  for (int c = 0; c < 3; ++c) {
    const float value = rgb[c] * k * (1.0f - haze) + static_cast<float>(lighting_.fog_colour[c]) * haze;
    pixel[2 - c] = static_cast<uint8_t>(std::clamp(value, 0.0f, 1.0f) * 255.0f + 0.5f);
  }
  depth_[static_cast<std::size_t>(index)] = depth;
  instance_[static_cast<std::size_t>(index)] = face.instance;
  semantic_[static_cast<std::size_t>(index)] = face.tag;
  ground_[static_cast<std::size_t>(index)] = 0;
}

void Rasterizer::draw(const Face& face) {
  if ((face.origin - camera_.position).dot(face.normal) >= 0.0) return;  // facing away
  const double w = face.u.norm(), h = face.v.norm();
  const Eigen::Vector3d corners[4] = {face.origin, face.origin + face.u, face.origin + face.u + face.v, face.origin + face.v};
  const double st[4][2] = {{0.0, 0.0}, {w, 0.0}, {w, h}, {0.0, h}};
  Vertex input[4];
  int behind = 0;
  for (int k = 0; k < 4; ++k) {
    const Eigen::Vector3d p = to_camera_ * (corners[k] - camera_.position);
    input[k] = {p.x(), p.y(), p.z(), st[k][0], st[k][1]};
    if (p.x() < kNear) ++behind;
  }
  if (behind == 4) return;
  // Clip against the near plane (x >= kNear); attributes are linear in camera space.
  Vertex polygon[8];
  int count = 0;
  for (int k = 0; k < 4; ++k) {
    const Vertex& a = input[k];
    const Vertex& b = input[(k + 1) % 4];
    const bool a_in = a.x >= kNear, b_in = b.x >= kNear;
    if (a_in) polygon[count++] = a;
    if (a_in != b_in) {
      const double u = (kNear - a.x) / (b.x - a.x);
      polygon[count++] = {kNear, a.y + u * (b.y - a.y), a.z + u * (b.z - a.z), a.s + u * (b.s - a.s), a.t + u * (b.t - a.t)};
    }
  }
  if (count < 3) return;

  const double light =
      lighting_.exposure * (lighting_.ambient + lighting_.direct * std::max(0.0, face.normal.x() * lighting_.sun_x +
                                                                                   face.normal.y() * lighting_.sun_y +
                                                                                   face.normal.z() * lighting_.sun_z));
  struct Screen {
    double x, y, w, sw, tw;
  };
  Screen screen[8];
  for (int k = 0; k < count; ++k) {
    const Vertex& p = polygon[k];
    const double inv = 1.0 / p.x;
    screen[k] = {camera_.cx + camera_.fx * p.y * inv, camera_.cy - camera_.fy * p.z * inv, inv, p.s * inv, p.t * inv};
  }
  const int width = camera_.width, height = camera_.height;
  for (int k = 1; k + 1 < count; ++k) {
    const Screen& a = screen[0];
    const Screen& b = screen[k];
    const Screen& c = screen[k + 1];
    const double area = (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
    if (std::abs(area) < 1e-12) continue;
    const int x0 = std::max(0, static_cast<int>(std::ceil(std::min({a.x, b.x, c.x}))));
    const int x1 = std::min(width - 1, static_cast<int>(std::floor(std::max({a.x, b.x, c.x}))));
    const int y0 = std::max(0, static_cast<int>(std::ceil(std::min({a.y, b.y, c.y}))));
    const int y1 = std::min(height - 1, static_cast<int>(std::floor(std::max({a.y, b.y, c.y}))));
    if (x0 > x1 || y0 > y1) continue;
    const double inv_area = 1.0 / area;
    // Barycentric weights as affine functions of the pixel position.
    const double e0x = -(c.y - b.y) * inv_area, e0y = (c.x - b.x) * inv_area;
    const double e1x = -(a.y - c.y) * inv_area, e1y = (a.x - c.x) * inv_area;
    const double e0c = ((c.x - b.x) * (-b.y) - (c.y - b.y) * (-b.x)) * inv_area;
    const double e1c = ((a.x - c.x) * (-c.y) - (a.y - c.y) * (-c.x)) * inv_area;
    constexpr double kEdge = -1e-9;
    for (int y = y0; y <= y1; ++y) {
      double l0 = e0c + e0x * x0 + e0y * y;
      double l1 = e1c + e1x * x0 + e1y * y;
      for (int x = x0; x <= x1; ++x, l0 += e0x, l1 += e1x) {
        const double l2 = 1.0 - l0 - l1;
        if (l0 < kEdge || l1 < kEdge || l2 < kEdge) continue;
        const double inv = l0 * a.w + l1 * b.w + l2 * c.w;
        const float depth = static_cast<float>(1.0 / inv);
        const int index = y * width + x;
        if (depth >= depth_[static_cast<std::size_t>(index)]) continue;
        const double s = (l0 * a.sw + l1 * b.sw + l2 * c.sw) / inv;
        const double t = (l0 * a.tw + l1 * b.tw + l2 * c.tw) / inv;
        float rgb[3];
        bool emissive = false;
        if (!shade(face, s, t, w, h, rgb, &emissive)) continue;
        put(index, rgb, depth, light, emissive, face);
      }
    }
  }
}

}  // namespace rsd::data::synth
