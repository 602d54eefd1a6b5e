"""The ``simulator`` command line.

Each sub-command lives in its own module with a ``register(app)`` function; this module wires them together
and turns every :class:`~simulator.errors.SimulatorError` into a clear message and a non-zero exit — never a
traceback.
"""

from __future__ import annotations

import sys

import typer

from simulator.errors import SimulatorError

app = typer.Typer(
    name="simulator",
    help="Customer-service training simulator: validate scenarios, build the knowledge base, practise, grade, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Customer-service training simulator."""


# Sub-command modules, in the order they appear in --help. A module that is not there yet is skipped; any
# other import error is a bug and surfaces.
COMMAND_MODULES = (
    "validate",
    "schema",
    "kb",
    "play",
    "probe",
    "grade",
    "calibrate",
    "check",
    "imports",
    "qa",
    "export",
    "serve",
    "user",
    "exam",
)


def _register_all() -> None:
    import importlib

    for name in COMMAND_MODULES:
        qualified = f"simulator.cli.{name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name == qualified:
                continue
            raise
        module.register(app)


_register_all()


def main() -> None:
    """Console entry point."""
    try:
        app()
    except SimulatorError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
