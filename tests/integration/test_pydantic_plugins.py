"""The `titrator` command runs no third-party pydantic plugin (`disable_pydantic_plugins`).

A real plugin is installed for the child interpreter: a distribution on its path whose
``pydantic`` entry point names a module that leaves a mark when pydantic loads it. Building the
product library's models in a plain interpreter loads it (so the test can fail); the same work
through `titrator.cli.main.main` does not, and the command still succeeds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PLUGIN_MODULE = """
import os
from pathlib import Path

Path(os.environ["SPY_MARK"]).write_text("loaded")


class Spy:
    def new_schema_validator(self, schema, schema_type, schema_type_path, schema_kind, config,
                             plugin_settings):
        Path(os.environ["SPY_MARK"]).write_text("validating")
        return None, None, None


plugin = Spy()
"""


def install_spy_plugin(site: Path) -> None:
    """A distribution `spy-plugin` whose ``pydantic`` entry point is `spy_plugin:plugin`."""
    (site / "spy_plugin.py").write_text(PLUGIN_MODULE)
    info = site / "spy_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: spy-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pydantic]\nspy = spy_plugin:plugin\n")


def child(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "TITRATOR_", "PYDANTIC_"))
    }
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "home" / "config"),
        PYTHONPATH=str(tmp_path / "site"),
        SPY_MARK=str(tmp_path / "mark"),
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_a_plain_interpreter_loads_the_installed_plugin(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    install_spy_plugin(tmp_path / "site")
    result = child(tmp_path, "import titrator.domain.library")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "mark").read_text() == "validating"


def test_the_titrator_command_does_not(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    install_spy_plugin(tmp_path / "site")
    code = (
        "import sys\n"
        "from titrator.cli.main import main\n"
        "code = main(['protocols', 'list', '--json'])\n"
        "assert 'titrator.domain.library' in sys.modules\n"
        "sys.exit(code)\n"
    )
    result = child(tmp_path, code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"id": "privigen"' in result.stdout
    assert not (tmp_path / "mark").exists()
