// Bench2Drive's weather cases (leaderboard/data/weather.xml) and how the synthetic renderer turns
// them into light, sky, wetness and fog.
#pragma once

#include <vector>

namespace rsd::data::synth {

/// The 8 keys tools/utils.py:get_weather_id matches, plus fog_distance and fog_falloff which the
/// collector also writes (CARLA WeatherParameters order).
struct Weather {
  int id = 0;
  double cloudiness = 0.0;
  double precipitation = 0.0;
  double precipitation_deposits = 0.0;
  double wind_intensity = 0.0;
  double sun_azimuth_angle = 0.0;
  double sun_altitude_angle = 0.0;
  double fog_density = 0.0;
  double fog_distance = 0.0;
  double wetness = 0.0;
  double fog_falloff = 0.2;
};

/// The 23 cases of weather.xml, in file order.
const std::vector<Weather>& weather_cases();

/// What the renderer needs from the weather.
struct Lighting {
  double sun_x = 0.0, sun_y = 0.0, sun_z = 1.0;  // unit vector towards the sun, map frame
  double ambient = 0.5;      // light on surfaces facing away from the sun
  double direct = 0.5;       // extra light on surfaces facing the sun
  double exposure = 1.0;     // overall brightness (night < 1)
  double fog_per_metre = 0.002;
  double wet = 0.0;          // 0..1: darker, more reflective road
  double sky_top[3] = {0.35, 0.55, 0.85};      // RGB 0..1
  double sky_horizon[3] = {0.75, 0.82, 0.9};
  double fog_colour[3] = {0.75, 0.8, 0.85};
};

Lighting lighting_for(const Weather& weather);

}  // namespace rsd::data::synth
