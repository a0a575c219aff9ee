"""School-layout planning (学校布局规划) for county education bureaus.

The flow, one module per step::

    layers -> network -> costs -> model -> plan -> catchments / metrics -> maps

``run_scenario`` runs all of it for one scenario file.
"""

from planning._errors import InfeasiblePlanError, InputError, PlanningError, SolverError
from planning.scenario import Scenario, load_scenario

__all__ = [
    "InfeasiblePlanError",
    "InputError",
    "PlanningError",
    "Scenario",
    "SolverError",
    "load_scenario",
    "run_scenario",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # the full run imports geopandas, osmnx and pulp: load it only when asked for
    if name == "run_scenario":
        from planning.pipeline import run_scenario

        return run_scenario
    raise AttributeError(f"module 'planning' has no attribute {name!r}")
