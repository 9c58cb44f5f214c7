#include "rsd/data/frame.h"

namespace rsd::data {

const char* to_string(ObjectClass object_class) {
  switch (object_class) {
    case ObjectClass::vehicle: return "vehicle";
    case ObjectClass::pedestrian: return "pedestrian";
    case ObjectClass::cyclist: return "cyclist";
    case ObjectClass::traffic_light: return "traffic_light";
    case ObjectClass::traffic_sign: return "traffic_sign";
  }
  return "unknown";
}

const char* to_string(Command command) {
  switch (command) {
    case Command::turn_left: return "turn_left";
    case Command::turn_right: return "turn_right";
    case Command::straight: return "straight";
    case Command::lane_follow: return "lane_follow";
    case Command::change_lane_left: return "change_lane_left";
    case Command::change_lane_right: return "change_lane_right";
  }
  return "unknown";
}

const char* to_string(TrafficLightState state) {
  switch (state) {
    case TrafficLightState::red: return "red";
    case TrafficLightState::yellow: return "yellow";
    case TrafficLightState::green: return "green";
    case TrafficLightState::off: return "off";
    case TrafficLightState::unknown: return "unknown";
  }
  return "unknown";
}

}  // namespace rsd::data
