"""The CPMP benchmark readers on files as they are published (other sets, Windows line ends)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from cpmp_instances import model_input, read_instances

from planning.optimize import optimize

# Lorena-Senne format as in their TA/doni sets: "n p", then "x y capacity demand" per node;
# negative coordinates, padded columns, CRLF line ends
LORENA_SENNE = (
    "    6  2\r\n"
    "       362        -93    4   1\r\n"
    "       590       -335    4   2\r\n"
    "       346       -197    4   1\r\n"
    "       439       -130    4   1\r\n"
    "       441       -171    4   2\r\n"
    "       341       -393    4   1\r\n"
)

# OR-Library pmedcap format: instance count, then per instance "number optimum", "n p capacity"
# and "id x y demand" per node
OR_LIBRARY = """2
 1 2
 4 2 5
 1 0 0 2
 2 1 0 2
 3 9 0 2
 4 9 1 2

 2 10
 3 1 9
 1 0 0 3
 2 3 4 3
 3 6 8 3
"""


def test_lorena_senne_with_crlf_and_negative_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "TA6.dat"
    path.write_bytes(LORENA_SENNE.encode())
    (inst,) = read_instances(path)
    assert (inst.name, inst.n, inst.p, inst.known) == ("TA6", 6, 2, None)
    assert inst.xy[1].tolist() == [590.0, -335.0]
    assert inst.capacity.tolist() == [4.0] * 6
    assert inst.demand.tolist() == [1.0, 2.0, 1.0, 1.0, 2.0, 1.0]
    assert not inst.floor_distances
    assert inst.distances()[0, 1] == pytest.approx(np.hypot(228, 242))


def test_or_library_file_gives_each_instance_in_order(tmp_path: Path) -> None:
    path = tmp_path / "pmedcapX.txt"
    path.write_text(OR_LIBRARY)
    first, second = read_instances(path)
    assert (first.name, first.n, first.p, first.known) == ("pmedcapX-1", 4, 2, 2.0)
    assert (second.name, second.n, second.p, second.known) == ("pmedcapX-2", 3, 1, 10.0)
    assert first.capacity.tolist() == [5.0] * 4 and second.demand.tolist() == [3.0] * 3
    assert first.distances()[0, 2] == 9.0 and second.distances()[0, 1] == 5.0
    assert first.floor_distances


def test_or_library_instances_solve_to_their_stated_optima(tmp_path: Path) -> None:
    path = tmp_path / "pmedcapX.txt"
    path.write_text(OR_LIBRARY)
    # medians 1 and 3 (or 2 and 4), each serving its neighbour at distance 1: 0 + 1 + 0 + 1 = 2
    for inst in read_instances(path):
        result = optimize(model_input(inst), time_limit_s=30)
        assert result.status == "optimal"
        assert result.objective == pytest.approx(inst.known)


def test_unknown_format_is_named(tmp_path: Path) -> None:
    path = tmp_path / "odd.dat"
    path.write_text("1 2 3\n4 5 6\n")
    with pytest.raises(ValueError, match=r"odd\.dat: unknown CPMP format"):
        read_instances(path)
