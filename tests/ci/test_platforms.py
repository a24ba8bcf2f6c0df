"""`.ci/platforms.py` (`make platforms`): what it makes of uv's resolver output. The
messages are uv 0.13.9's own, captured from real runs against PyPI."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / ".ci" / "platforms.py"
spec = importlib.util.spec_from_file_location("platforms", SCRIPT)
platforms = importlib.util.module_from_spec(spec)
spec.loader.exec_module(platforms)

NO_MAC_WHEEL = """error: No solution found when resolving dependencies
  cause: Because tensorflow-cpu==2.21.0 has no wheels with a matching platform tag (e.g., `macosx_13_0_arm64`) and you require tensorflow-cpu==2.21.0, we can conclude that your requirements are unsatisfiable.
hint: Wheels are available for `tensorflow-cpu` (v2.21.0) on the following platforms: `manylinux_2_27_x86_64`, `win_amd64`
"""
NO_WHEEL_WITH_MARKERS = """  cause: Because docopt{(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'x86_64' and sys_platform == 'linux')}==0.6.2 has no usable wheels and you require docopt{(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'x86_64' and sys_platform == 'linux')}==0.6.2, we can conclude that your requirements are unsatisfiable.
"""
UNREACHABLE = """error: Request failed after 3 retries in 5.6s
  cause: Failed to fetch: http://127.0.0.1:9/simple/pmdarima/
  cause: error sending request for url (http://127.0.0.1:9/simple/pmdarima/)
  cause: client error (Connect)
  cause: tcp connect error
  cause: Connection refused (os error 111)
"""


def test_the_first_pin_without_a_distribution_is_named():
    assert platforms.verdict(1, NO_MAC_WHEEL) == "no distribution of tensorflow-cpu==2.21.0"
    assert platforms.verdict(1, NO_WHEEL_WITH_MARKERS) == "no distribution of docopt==0.6.2"


def test_an_unreachable_index_is_skipped_and_success_is_ok():
    assert platforms.verdict(2, UNREACHABLE).startswith("SKIPPED")
    assert platforms.verdict(0, "") == "ok"


def test_anything_else_is_a_failure_with_uv_s_first_line():
    assert platforms.verdict(2, "\nerror: unexpected argument '--bogus'\n") == (
        "failed: error: unexpected argument '--bogus'"
    )


def test_it_checks_both_supported_platforms_on_every_python_the_project_accepts():
    text = (SCRIPT.parents[1] / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11,<3.13"' in text
    assert platforms.PYTHONS == ("3.11", "3.12")
    assert [label for _, label in platforms.PLATFORMS] == ["Linux x86-64", "macOS arm64"]
