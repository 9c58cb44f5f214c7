"""Stand-in for Bench2Drive's leaderboard/autoagents/autonomous_agent.py (tests only): the base
class's interface without a simulator (no hero actor lookup, no sensor interface, the global plan
kept as given instead of downsampled to 50 m)."""

from enum import Enum


class Track(Enum):
    SENSORS = 'SENSORS'
    MAP = 'MAP'


class AutonomousAgent(object):

    def __init__(self, carla_host, carla_port, debug=False):
        self.track = Track.SENSORS
        self._global_plan = None
        self._global_plan_world_coord = None
        self.wallclock_t0 = None

    def setup(self, path_to_conf_file):
        pass

    def sensors(self):
        return []

    def run_step(self, input_data, timestamp):
        raise NotImplementedError

    def destroy(self):
        pass

    def set_global_plan(self, global_plan_gps, global_plan_world_coord):
        self._global_plan_world_coord = [(t, o) for t, o in global_plan_world_coord]
        self._global_plan = list(global_plan_gps)
