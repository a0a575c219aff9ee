"""Domain errors: what went wrong, where, with the numbers."""

from __future__ import annotations

from dataclasses import dataclass


class PlanningError(Exception):
    """Base class for every error a user can act on (the CLI exits 2 on these)."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input.

    Parameters
    ----------
    file
        The file (or scenario) the problem is in.
    message
        What was expected and what was found.
    row
        The row id (or row number) concerned, if any.
    field
        The column or scenario key concerned, if any.
    severity
        ``"error"`` (unusable) or ``"warning"`` (suspicious but usable).
    """

    file: str
    message: str
    row: str | None = None
    field: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field is not None:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class InputError(PlanningError):
    """One or more input files are unusable; ``problems`` lists every one found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        super().__init__(f"{len(lines)} problem(s) in the input:\n" + "\n".join(lines))


class InfeasiblePlanError(PlanningError):
    """No plan meets the scenario's rules; the message says why in the planner's terms."""


class SolverError(PlanningError):
    """The solver stopped without any plan (time limit too short, solver missing...)."""
