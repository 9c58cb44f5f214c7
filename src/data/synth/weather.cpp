#include "data/synth/weather.h"

#include <algorithm>
#include <cmath>

#include "data/synth/carla_math.h"

namespace rsd::data::synth {

const std::vector<Weather>& weather_cases() {
  // id, cloudiness, precipitation, precipitation_deposits, wetness, wind_intensity,
  // sun_azimuth_angle, sun_altitude_angle, fog_density (weather.xml attribute order).
  struct Row {
    int id;
    double cloud, rain, deposits, wetness, wind, azimuth, altitude, fog;
  };
  static const Row rows[] = {
      {0, 5, 0, 0, 0, 10, -1, 90, 2},        {1, 5, 0, 0, 0, 10, -1, 15, 2},
      {2, 20, 30, 50, 0, 30, -1, 45, 3},     {3, 60, 60, 60, 0, 60, -1, 45, 3},
      {5, 80, 0, 50, 20, 10, -1, 45, 3},     {6, 5, 0, 50, 0, 10, -1, 15, 10},
      {7, 5, 0, 0, 0, 10, -1, 45, 2},        {8, 100, 100, 90, 0, 100, -1, 45, 7},
      {9, 70, 60, 60, 0, 60, -1, 45, 50},    {10, 40, 100, 90, 0, 100, -1, 0, 7},
      {11, 100, 60, 60, 0, 60, -1, 45, 50},  {12, 5, 0, 0, 0, 10, -1, 45, 50},
      {13, 5, 0, 0, 0, 10, -1, 15, 50},      {14, 100, 100, 50, 50, 100, -1, 45, 10},
      {15, 100, 50, 100, 80, 80, -1, 45, 10}, {18, 40, 0, 50, 0, 10, -1, 15, 2},
      {19, 40, 0, 50, 0, 10, -1, -90, 2},    {20, 60, 30, 50, 60, 30, -1, -90, 3},
      {21, 100, 100, 90, 100, 100, -1, -90, 3}, {22, 5, 0, 0, 0, 10, -1, -90, 60},
      {23, 80, 60, 60, 80, 60, -1, -90, 60}, {25, 100, 100, 90, 100, 100, -1, -90, 100},
      {26, 50, 0, 0, 0, 0, 0, 70, 0},
  };
  static const std::vector<Weather> cases = [] {
    std::vector<Weather> out;
    for (const Row& row : rows) {
      Weather w;
      w.id = row.id;
      w.cloudiness = row.cloud;
      w.precipitation = row.rain;
      w.precipitation_deposits = row.deposits;
      w.wetness = row.wetness;
      w.wind_intensity = row.wind;
      w.sun_azimuth_angle = row.azimuth;
      w.sun_altitude_angle = row.altitude;
      w.fog_density = row.fog;
      out.push_back(w);
    }
    return out;
  }();
  return cases;
}

Lighting lighting_for(const Weather& weather) {
  Lighting light;
  const double altitude = radians(std::clamp(weather.sun_altitude_angle, -90.0, 90.0));
  const double azimuth = radians(weather.sun_azimuth_angle);
  light.sun_x = std::cos(altitude) * std::cos(azimuth);
  light.sun_y = std::cos(altitude) * std::sin(azimuth);
  light.sun_z = std::sin(altitude);
  const double cloud = weather.cloudiness / 100.0;
  const double rain = weather.precipitation / 100.0;
  // Daylight fades as the sun sets; below the horizon the scene is lit by street lights only.
  const double day = std::clamp((weather.sun_altitude_angle + 5.0) / 25.0, 0.0, 1.0);
  light.exposure = 0.42 + 0.58 * day;
  light.direct = (0.55 - 0.45 * cloud) * std::max(0.0, light.sun_z) * day;
  light.ambient = 0.55 + 0.15 * cloud;
  light.wet = std::clamp(std::max(weather.wetness, weather.precipitation_deposits * 0.6) / 100.0, 0.0, 1.0);
  light.fog_per_metre = 0.0015 + 0.035 * weather.fog_density / 100.0 + 0.004 * rain;
  const double grey = 0.62 + 0.15 * (1.0 - rain);
  const double clear_top[3] = {0.30, 0.50, 0.86};
  const double clear_horizon[3] = {0.72, 0.80, 0.92};
  const double night_top[3] = {0.02, 0.03, 0.07};
  const double night_horizon[3] = {0.10, 0.10, 0.14};
  for (int c = 0; c < 3; ++c) {
    const double overcast_top = grey * 0.85;
    const double day_top = clear_top[c] * (1.0 - cloud) + overcast_top * cloud;
    const double day_horizon = clear_horizon[c] * (1.0 - cloud) + grey * cloud;
    light.sky_top[c] = day_top * day + night_top[c] * (1.0 - day);
    light.sky_horizon[c] = day_horizon * day + night_horizon[c] * (1.0 - day);
    light.fog_colour[c] = light.sky_horizon[c] * 0.9 + 0.05;
  }
  return light;
}

}  // namespace rsd::data::synth
