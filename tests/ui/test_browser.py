"""The MLflow UI in a real browser: a tiny suite tracked to a real `mlflow server` on
127.0.0.1, opened in headless Chromium (Debian's `chromium`).

Not part of `make test` (marker `browser`): `make ui-check` runs it. Screenshots of the
experiment's grouped runs view, one run, and the Models tab go to reports/ui/.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cli import gru_keras, runs_of

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).resolve().parents[2] / "reports" / "ui"


def browse(url: str, profile: Path, screenshot: Path | None = None) -> str:
    """The page's DOM after its scripts ran (or a screenshot of it)."""
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1400,1100",
        "--virtual-time-budget=15000",
        f"--screenshot={screenshot}" if screenshot else "--dump-dom",
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def text_of(dom: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


def test_the_suite_opens_as_model_training_grouped_by_model(server, tmp_path, tiny_suite):
    if CHROMIUM is None:
        pytest.fail("make ui-check needs Chromium: apt-get install chromium")
    suite = tiny_suite("ui", seeds=(0, 1), diagnostics=True)
    run = gru_keras(tmp_path, "run", suite, "--quiet", tracking_uri=server)
    assert run.returncode == 0, run.stderr[-3000:]
    views = gru_keras(tmp_path, "views", suite, tracking_uri=server)
    assert views.returncode == 0, views.stderr
    urls = re.findall(r"http://\S+", views.stdout)
    assert urls[0].startswith(f"{server}/#/experiments/") and "machine_learning" in urls[0]
    dataset_view = next(url for url in urls if url.endswith("dataset-adding-short"))

    # The grouped view of one dataset: model training, one group per model, both seeds.
    page = text_of(browse(dataset_view, tmp_path / "profile"))
    assert "Model training" in page and "Detect Issues" not in page
    assert "Group by: model" in page
    for model in ("custom_gru", "simple_rnn"):
        assert f"Group: {model}" in page
        assert f"adding-short__{model}__1" in page
    assert "headline" in page and "best/val_loss" in page

    _, runs = runs_of(server, "ui")
    (run,) = [r for r in runs if r.info.run_name == "adding-short__custom_gru__0"]
    base = urls[0].split("/runs?")[0]
    run_page = f"{base}/runs/{run.info.run_id}?workflowType=machine_learning"
    page = text_of(browse(run_page, tmp_path / "profile"))
    assert "Parent run" in page and "ui @ " in page
    assert "Headline:" in page and "test/mse" in page

    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, url in (
        ("runs-by-model", dataset_view),
        ("runs-all", urls[0]),
        ("run", run_page),
        ("models", f"{base}/models?workflowType=machine_learning"),
        ("gradient-reach", f"{run_page.split('?')[0]}/artifacts/diagnostics/gradient_reach.png"),
    ):
        browse(url, tmp_path / "profile", SHOTS / f"{name}.png")
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000, name
