"""The suite's own guard (conftest.py): a developer's ``SIM_*`` variables and ``.env`` file never reach a test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KEPT

from simulator.settings import Settings

HERE = Path(__file__).resolve()
PROBE = "TEST_ISOLATION_PROBE"  # set only by the outer test below, for the inner one (not SIM_: it would go)


def test_a_developers_environment_and_env_file_do_not_leak(tmp_path: Path) -> None:
    """Run the probe in a fresh pytest whose environment and working directory carry a developer's settings."""
    dotenv = tmp_path / ".env"
    dotenv.write_text("SIM_PASS_MARK=13\nSIM_EMBEDDER=st:from-dotenv\nsim_locale=en\n", encoding="utf-8")
    # The file is one pydantic-settings would read: without the guard, it (and the variables) would win.
    assert Settings(_env_file=dotenv).pass_mark == 13  # type: ignore[call-arg]
    env = {**os.environ, "SIM_PASS_MARK": "42", "SIM_DATA_DIR": str(tmp_path / "leaked"), PROBE: "1"}
    env |= {name: "kept" for name in KEPT}
    env.pop("PYTEST_XDIST_WORKER", None)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # no xdist, hypothesis … in the child: 0.4 instead of 1.4 CPU s
    done = subprocess.run(
        [sys.executable, "-m", "pytest", f"{HERE}::test_probe", "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path,  # where the .env lies
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr


@pytest.fixture(scope="module")
def module_settings() -> Settings:
    """Built before any function-scoped fixture runs: the guard must already be in place."""
    return Settings()


def test_probe(module_settings: Settings) -> None:
    """Inside the outer test's pytest: the variables are gone and the ``.env`` in the working directory is
    ignored, so every setting is its default — in module-scoped fixtures too."""
    if os.environ.get(PROBE) is None:
        # Checked anyway in the ordinary run, where the developer's shell may have set some.
        assert not [n for n in os.environ if n.upper().startswith("SIM_") and n not in KEPT]
        return
    assert Path(".env").is_file()
    assert not [n for n in os.environ if n.upper().startswith("SIM_") and n not in KEPT]
    assert all(os.environ[name] == "kept" for name in KEPT)  # test infrastructure, not app settings
    s = Settings()
    defaults = Settings.model_construct()  # the defaults, read from no environment and no file
    for got in (s, module_settings):
        assert (got.pass_mark, got.embedder, got.locale, got.data_dir) == (80.0, "use", "zh-CN", defaults.data_dir)


@pytest.mark.parametrize("name", ["SIM_PASS_MARK", "sim_pass_mark"])
def test_a_test_can_still_set_its_own(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "55")
    assert Settings().pass_mark == 55
