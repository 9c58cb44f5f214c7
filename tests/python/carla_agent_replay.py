"""Feeds rsd_drive's recorded ticks through the CARLA agent's run_step in CARLA's sensor layout and
checks it decides what rsd_drive decided (tests/python/test_carla_agent.sh).

Usage: carla_agent_replay.py TICKS_DIR AGENT_CONF STAND_INS_DIR

Per tick (NNNNN.json = the annotation, NNNNN_<CAM>.png = the images the model saw,
NNNNN_decision.json = rsd_drive's waypoints and control), input_data is built as the leaderboard
builds it: BGRA arrays, GPS = (lat, lon, alt) of the GNSS sensor 1.4 m behind the ego origin by
CARLA's geo projection (written here independently of librsd), IMU = [accel xyz, gyro xyz, compass],
SPEED = {'speed': v}. The route: the global plan is the sequence of the annotations' near route
points; since the synthetic world picks its near point by distance along the route rather than by
Bench2DriveZoo's RoutePlanner rule, the replayed agent's planner hands the recorded point of each
tick (and the test checks the position the agent gave it), and the RoutePlanner port is checked
on its own. The control applied since the last tick is the annotation's (the synthetic vehicle's
steering is rate limited; under CARLA it is the agent's own last control).
"""

import glob
import json
import math
import os
import sys

TOLERANCE = 1e-4
EARTH_RADIUS_EQUA = 6378137.0
GEO = (49.0, 8.0, 5.0)  # not Bench2DriveZoo's default (42, 2): the agent must solve for it


def fail(message):
    print('FAIL: ' + message)
    sys.exit(1)


def carla_world_to_gnss(location, reference=GEO):
    """CARLA's GeoLocation::Transform (LibCarla/source/carla/geom/GeoLocation.cpp)."""
    lat_ref, lon_ref, alt_ref = reference
    scale = math.cos(math.radians(lat_ref))
    mx = scale * math.radians(lon_ref) * EARTH_RADIUS_EQUA + location[0]
    my = scale * EARTH_RADIUS_EQUA * math.log(math.tan((90.0 + lat_ref) * math.pi / 360.0)) - location[1]
    lon = mx * 180.0 / (math.pi * EARTH_RADIUS_EQUA * scale)
    lat = 360.0 * math.atan(math.exp(my / (EARTH_RADIUS_EQUA * scale))) / math.pi - 90.0
    return [lat, lon, alt_ref + location[2]]


def check_route_planner(rsd_agent):
    """Bench2DriveZoo's rule: pop up to the farthest point within 4 m, keep two, aim at route[1]."""
    planner = rsd_agent.RoutePlanner(4.0, 50.0)
    planner.set_route([((x, 0.0), 4) for x in (0.0, 5.0, 10.0, 15.0, 20.0)])
    steps = [((0.0, 0.0), 5.0), ((6.0, 0.0), 15.0), ((100.0, 0.0), 15.0), ((19.0, 0.0), 20.0), ((40.0, 0.0), 20.0)]
    for position, expected in steps:
        (x, _), option = planner.run_step(position)
        if x != expected or option != 4:
            fail('RoutePlanner at %s aims at %s, Bench2DriveZoo at %s' % (position, x, expected))


def check_refusals(agent, input_data):
    """librsd's errors reach Python as rsd_carla's exceptions, naming what is wrong."""
    import rsd_carla
    try:
        rsd_carla.Driver(agent.conf['config'], '/nonexistent/step_2.pt')
        fail('a missing checkpoint was accepted')
    except rsd_carla.CheckpointError as e:
        if '/nonexistent/step_2.pt' not in str(e):
            fail('the missing checkpoint error does not name it: %s' % e)
    images = {name: input_data[name][1] for name in agent.driver.camera_names[1:]}
    try:
        agent.driver.step(images, 0, location=[0.0, 0.0, 0.0], compass=0.0, accelerometer=[0.0] * 3,
                          gyroscope=[0.0] * 3, speed=0.0)
        fail('a tick without CAM_FRONT was accepted')
    except rsd_carla.DataError as e:
        if 'CAM_FRONT' not in str(e):
            fail('the missing image error does not name the camera: %s' % e)


def main():
    ticks_dir, conf_path, stand_ins = sys.argv[1:4]
    sys.path.insert(0, stand_ins)
    import numpy as np
    import cv2
    import carla
    import rsd_agent
    if 'torch' in sys.modules:
        fail('importing the agent imported torch (two libtorch copies in one process)')
    check_route_planner(rsd_agent)

    ticks = sorted(int(os.path.basename(p)[:5]) for p in glob.glob(os.path.join(ticks_dir, '[0-9]' * 5 + '.json')))
    if len(ticks) < 10:
        fail('only %d recorded ticks in %s' % (len(ticks), ticks_dir))
    annotations = {}
    for tick in ticks:
        with open(os.path.join(ticks_dir, '%05d.json' % tick)) as f:
            annotations[tick] = json.load(f)

    class ReplayPlanner(object):
        """The recorded near point of each tick; keeps the positions the agent reports."""
        def __init__(self, agent):
            self.agent = agent
            self.positions = {}

        def set_route(self, points):
            self.points = points

        def run_step(self, position):
            self.positions[self.agent.tick] = tuple(position)
            anno = annotations[self.agent.tick]
            return (anno['x_command_near'], anno['y_command_near']), anno['command_near']

    class ReplayAgent(rsd_agent.RsdAgent):
        tick = None  # the recorded tick being replayed

        def _make_route_planner(self):
            self.replay = ReplayPlanner(self)
            return self.replay

        def _applied_control(self):
            anno = annotations[self.tick]
            return anno['throttle'], anno['steer'], anno['brake']

    # The global plan: the annotations' near route points, in order, both ways.
    plan_world, plan_gps = [], []
    for tick in ticks:
        anno = annotations[tick]
        point = (anno['x_command_near'], anno['y_command_near'])
        if not plan_world or (plan_world[-1][0].location.x, plan_world[-1][0].location.y) != point:
            z = anno['bounding_boxes'][0]['location'][2]
            plan_world.append((carla.Transform(carla.Location(point[0], point[1], z)), anno['command_near']))
            lat, lon, _ = carla_world_to_gnss([point[0], point[1], z])
            plan_gps.append(({'lat': lat, 'lon': lon, 'z': z}, anno['command_near']))

    # The evaluator's order: the plan, then setup with '+<save name>' appended once per route so far.
    agent = ReplayAgent('localhost', 2000)
    agent.set_global_plan(plan_gps, plan_world)
    agent.setup(conf_path + '+route_a+route_b')
    ids = [s['id'] for s in agent.sensors()]
    if ids != ['CAM_FRONT', 'CAM_FRONT_LEFT', 'CAM_FRONT_RIGHT', 'CAM_BACK', 'CAM_BACK_LEFT', 'CAM_BACK_RIGHT',
               'IMU', 'GPS', 'SPEED']:
        fail('sensors(): %s' % ids)
    back = agent.sensors()[3]
    if (back['x'], back['y'], back['z'], back['yaw'], back['fov']) != (-2.0, 0.0, 1.6, 180.0, 110.0):
        fail('CAM_BACK declared as %s' % back)

    worst_control = worst_waypoint = worst_position = 0.0
    for tick in ticks:
        anno = annotations[tick]
        world2ego = np.array(anno['bounding_boxes'][0]['world2ego'], dtype=np.float64)
        gps_location = (np.linalg.inv(world2ego) @ np.array([-1.4, 0.0, 0.0, 1.0]))[:3]
        input_data = {}
        for camera in agent.driver.camera_names:
            bgr = cv2.imread(os.path.join(ticks_dir, '%05d_%s.png' % (tick, camera)), cv2.IMREAD_COLOR)
            if bgr is None:
                fail('tick %d: no image of %s' % (tick, camera))
            bgra = np.concatenate([bgr, np.full(bgr.shape[:2] + (1,), 255, np.uint8)], axis=2)
            input_data[camera] = (tick, bgra)
        input_data['GPS'] = (tick, np.array(carla_world_to_gnss(gps_location), dtype=np.float64))
        input_data['IMU'] = (tick, np.array(anno['acceleration'] + anno['angular_velocity'] + [anno['theta']]))
        input_data['SPEED'] = (tick, {'speed': anno['speed']})
        agent.tick = tick
        control = agent.run_step(input_data, tick * 0.1)
        with open(os.path.join(ticks_dir, '%05d_decision.json' % tick)) as f:
            recorded = json.load(f)
        if not isinstance(control, carla.VehicleControl):
            fail('run_step returned %r, not a carla.VehicleControl' % (control,))
        for key in ('throttle', 'steer', 'brake'):
            difference = abs(getattr(control, key) - recorded['control'][key])
            worst_control = max(worst_control, difference)
            if difference > TOLERANCE:
                fail('tick %d: %s %.6f, rsd_drive %.6f' % (tick, key, getattr(control, key), recorded['control'][key]))
        waypoints = agent.decision['waypoints']
        if len(waypoints) != len(recorded['waypoints']):
            fail('tick %d: %d waypoints, rsd_drive %d' % (tick, len(waypoints), len(recorded['waypoints'])))
        for mine, theirs in zip(waypoints, recorded['waypoints']):
            difference = max(abs(mine[0] - theirs[0]), abs(mine[1] - theirs[1]))
            worst_waypoint = max(worst_waypoint, difference)
            if difference > TOLERANCE:
                fail('tick %d: waypoint %s, rsd_drive %s' % (tick, mine, theirs))
        position = agent.replay.positions[tick]
        worst_position = max(worst_position, math.dist(position, gps_location[:2]))
        if worst_position > 1e-6:
            fail('tick %d: the agent places the GPS at %s, it is at %s' % (tick, position, gps_location[:2]))
        # Half a tick later (the leaderboard's 20 Hz) the agent repeats its control.
        again = agent.run_step(input_data, tick * 0.1 + 0.05)
        if (again.throttle, again.steer, again.brake) != (control.throttle, control.steer, control.brake):
            fail('tick %d: a second call within the decision period changed the control' % tick)

    steering = max(abs(annotations[t]['steer']) for t in ticks)
    if steering < 0.01:
        fail('the recorded route never steers (largest |steer| %.2e): steering would go unchecked' % steering)
    reference = agent.driver.geo_reference
    if abs(reference.latitude - GEO[0]) > 1e-9 or abs(reference.longitude - GEO[1]) > 1e-9:
        fail('geo reference solved as %s, CARLA used %s' % (reference, GEO))
    check_refusals(agent, input_data)
    agent.destroy()
    print('%d ticks: run_step = rsd_drive (largest differences: control %.2e, waypoints %.2e m, '
          'GPS position %.2e m)' % (len(ticks), worst_control, worst_waypoint, worst_position))


if __name__ == '__main__':
    main()
