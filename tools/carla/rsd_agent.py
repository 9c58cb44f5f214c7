"""A librsd checkpoint as a Bench2Drive leaderboard agent (docs/carla-agent.md).

    TEAM_AGENT=<librsd>/tools/carla/rsd_agent.py
    TEAM_CONFIG=<agent.yaml>          # the evaluator hands setup() <agent.yaml>+<save name>...

The conf file (YAML, or JSON when it ends in .json) names what to drive with; relative paths are
relative to the conf file's folder:

    config: configs/synth_tiny.yaml    # the checkpoint's training config (required)
    checkpoint: runs/x/checkpoints/best.pt   # (required)
    device: cuda                       # optional; default: the config's run.device
    threads: 0                         # libtorch intra-op threads; 0 leaves them
    overrides: []                      # --set style "key=value" overrides of the config
    decision_period: 0.1               # seconds between decisions (the data's 10 Hz); the
                                       # leaderboard ticks at 20 Hz, the last control is repeated
    geo_reference: [42.0, 2.0, 0.0]    # lat, lon, alt of the map origin; default: solved from
                                       # the route's first point (as Bench2DriveZoo's agents do)
    jpeg_quality: null                 # e.g. 20: JPEG round trip as Bench2Drive's images had
                                       # (needs cv2); null: none (the synthetic world's images)

Everything model-side (the frame, the network, the PID controller) runs in librsd through the
rsd_carla module (build/python on PYTHONPATH); this file only adapts the leaderboard's interface:
sensors(), the route (Bench2DriveZoo's RoutePlanner over the global plan) and the control.
Importing it does not import torch.
"""

import collections
import json
import math
import os

import carla
from leaderboard.autoagents import autonomous_agent

import rsd_carla


def get_entry_point():
    return 'RsdAgent'


def distance_between(a, b):
    # Not math.dist (3.8): Bench2Drive's run_evaluation.sh uses CARLA 0.9.15's Python 3.7 egg.
    return math.hypot(a[0] - b[0], a[1] - b[1])


class RoutePlanner(object):
    """Bench2DriveZoo's team_code/planner.py RoutePlanner on CARLA world (x, y) points.

    Each step pops the route points passed: the farthest point within min_distance of the position
    (looking at most max_distance metres along the route) and those before it, keeping at least
    two; the next target is then the second point left (route[1]).
    """

    def __init__(self, min_distance=4.0, max_distance=50.0):
        self.min_distance = min_distance
        self.max_distance = max_distance
        self.route = collections.deque()

    def set_route(self, points):
        """points: [((x, y), road_option int), ...] in CARLA world coordinates."""
        self.route.clear()
        for position, road_option in points:
            self.route.append(((float(position[0]), float(position[1])), int(road_option)))

    def run_step(self, position):
        """position: CARLA world (x, y) -> ((x, y), road_option) of the next target point."""
        if len(self.route) == 1:
            return self.route[0]
        to_pop = 0
        farthest_in_range = -math.inf
        cumulative_distance = 0.0
        for i in range(1, len(self.route)):
            if cumulative_distance > self.max_distance:
                break
            cumulative_distance += distance_between(self.route[i][0], self.route[i - 1][0])
            distance = distance_between(self.route[i][0], position)
            if distance <= self.min_distance and distance > farthest_in_range:
                farthest_in_range = distance
                to_pop = i
        for _ in range(to_pop):
            if len(self.route) > 2:
                self.route.popleft()
        return self.route[1]


def road_option_value(option):
    """CARLA's RoadOption (an Enum) or a plain int -> int."""
    return int(getattr(option, 'value', option))


def conf_file(path_to_conf_file):
    """The conf file of what the evaluator hands setup(): leaderboard_evaluator.py appends
    '+<save name>' to TEAM_CONFIG for every route, in place (route 3 gets conf+a+b+c)."""
    parts = path_to_conf_file.split('+')
    for end in range(len(parts), 0, -1):
        candidate = '+'.join(parts[:end])
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError('no agent conf file in ' + repr(path_to_conf_file))


def load_conf(path):
    with open(path) as f:
        text = f.read()
    if path.endswith('.json'):
        conf = json.loads(text)
    else:
        import yaml  # PyYAML: in CARLA's and the leaderboard's requirements
        conf = yaml.safe_load(text)
    if not isinstance(conf, dict):
        raise ValueError(path + ': expected a mapping with config and checkpoint')
    for key in ('config', 'checkpoint'):
        if not conf.get(key):
            raise ValueError(path + ': ' + key + ' is required')
    folder = os.path.dirname(os.path.abspath(path))
    for key in ('config', 'checkpoint'):
        if not os.path.isabs(conf[key]):
            conf[key] = os.path.join(folder, conf[key])
    return conf


class RsdAgent(autonomous_agent.AutonomousAgent):

    def setup(self, path_to_conf_file):
        self.track = autonomous_agent.Track.SENSORS
        self.conf = load_conf(conf_file(path_to_conf_file))
        self.driver = rsd_carla.Driver(self.conf['config'], self.conf['checkpoint'],
                                       device=self.conf.get('device') or '',
                                       threads=int(self.conf.get('threads') or 0),
                                       overrides=list(self.conf.get('overrides') or []))
        self.decision_period = float(self.conf.get('decision_period', 0.1))
        self.jpeg_quality = self.conf.get('jpeg_quality')
        self.step = -1
        self.initialized = False
        self.last_decision_time = None
        self.last_control = (0.0, 0.0, 0.0)  # throttle, steer, brake: what CARLA applies now
        self.last_compass = 0.0
        self.decision = None

    def sensors(self):
        """Bench2DriveZoo's VAD agent's six cameras, IMU, GPS and SPEED (rsd_carla's definitions)."""
        return rsd_carla.bench2drive_cameras() + rsd_carla.bench2drive_other_sensors()

    # -- the route --

    def _make_route_planner(self):
        return RoutePlanner(4.0, 50.0)

    def _init(self):
        reference = self.conf.get('geo_reference')
        plan_gps = self._global_plan or []
        plan_world = self._global_plan_world_coord or []
        if reference:
            self.driver.geo_reference = rsd_carla.GeoReference(*[float(v) for v in reference])
        elif plan_gps and plan_world:
            # The map's geo reference from the route's first point, known both ways.
            location = plan_world[0][0].location
            gps = plan_gps[0][0]
            self.driver.geo_reference = rsd_carla.geo_reference_from(
                [location.x, location.y, location.z], [gps['lat'], gps['lon'], gps.get('z', 0.0)])
        self.route_planner = self._make_route_planner()
        if plan_world:
            points = [((t.location.x, t.location.y), road_option_value(o)) for t, o in plan_world]
        else:
            reference = self.driver.geo_reference
            points = [(rsd_carla.gnss_to_world(reference, [g['lat'], g['lon'], g.get('z', 0.0)])[:2],
                       road_option_value(o)) for g, o in plan_gps]
        self.route_planner.set_route(points)
        self.has_route = bool(points)
        self.driver.reset()
        self.initialized = True

    # -- one tick --

    def _applied_control(self):
        """The control CARLA applied since the last tick: the one this agent returned."""
        return self.last_control

    def _camera_image(self, array):
        if not self.jpeg_quality:
            return array
        import cv2
        ok, encoded = cv2.imencode('.jpg', array[:, :, :3], [int(cv2.IMWRITE_JPEG_QUALITY), int(self.jpeg_quality)])
        if not ok:
            raise RuntimeError('cannot JPEG-encode a camera image of shape %s' % (array.shape,))
        return cv2.imdecode(encoded, cv2.IMREAD_COLOR)

    def run_step(self, input_data, timestamp):
        if not self.initialized:
            self._init()
        self.step += 1
        if self.decision is not None and self.last_decision_time is not None and \
                timestamp - self.last_decision_time < self.decision_period - 1e-6:
            return self._vehicle_control(self.decision['control'])

        gnss = [float(v) for v in input_data['GPS'][1][:3]]
        imu = [float(v) for v in input_data['IMU'][1]]
        accelerometer, gyroscope, compass = imu[0:3], imu[3:6], imu[6]
        if math.isnan(compass):
            # It can be NaN for the first frames (Bench2DriveZoo's agents then zero the IMU too).
            compass, accelerometer, gyroscope = self.last_compass, [0.0] * 3, [0.0] * 3
        self.last_compass = compass
        speed = float(input_data['SPEED'][1]['speed'])

        target, road_option = None, 4  # no route: lane following towards a point ahead
        if self.has_route:
            position = rsd_carla.gnss_to_world(self.driver.geo_reference, gnss)[:2]
            target, road_option = self.route_planner.run_step(position)
            target = list(target)
        throttle, steer, brake = self._applied_control()
        images = {name: self._camera_image(input_data[name][1]) for name in self.driver.camera_names}
        self.decision = self.driver.step(
            images, self.step, gnss=gnss, compass=compass, accelerometer=accelerometer, gyroscope=gyroscope,
            speed=speed, applied={'throttle': throttle, 'steer': steer, 'brake': brake},
            road_option=road_option, target=target)
        self.last_decision_time = timestamp
        return self._vehicle_control(self.decision['control'])

    def _vehicle_control(self, values):
        control = carla.VehicleControl()
        control.throttle = float(values['throttle'])
        control.steer = float(values['steer'])
        control.brake = float(values['brake'])
        self.last_control = (control.throttle, control.steer, control.brake)
        return control

    def destroy(self):
        self.driver = None
