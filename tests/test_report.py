"""`smartmeter report`: a self-contained HTML page that renders, offline, in headless Chromium.
(The package in-process, its selects against the rpt_ contracts and the page from fixed rows:
tests/unit/test_report.py.)"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from smartmeter.home import Home
from smartmeter.report import ReportError, write_report

SECTIONS = (
    "fleet-load",
    "heatmap",
    "profiles",
    "data-quality",
    "meter-health",
    "anomalies",
    "forecast",
)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # No name resolves: the page has to render without any network.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=20000",
)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed when missing (skip when it cannot be)."""
    found = shutil.which("chromium")
    if found:
        return found
    if not shutil.which("apt-get") or os.geteuid() != 0:
        pytest.skip("chromium is missing and cannot be installed here (needs apt-get as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "chromium"]
    attempt = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if attempt.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=300)
        attempt = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    found = shutil.which("chromium")
    if not found:
        pytest.skip(f"installing chromium failed: {attempt.stderr.strip()[-500:]}")
    return found


def browse(chromium: str, page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )


class ExternalReferences(HTMLParser):
    """Every src or href that would need the network (script bodies are not parsed as tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and re.match(r"\s*(https?:)?//", value or "", re.I):
                self.found.append((tag, value or ""))


def section(dom: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}"[^>]*>(.*?)</section>', dom, re.S)
    assert match, f"section #{section_id} is missing from the rendered page"
    return match.group(1)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_report_before_any_run_says_run_first(home: Path) -> None:
    with pytest.raises(ReportError, match=r"run `smartmeter run` first"):
        write_report(Home.resolve(home), "duckdb")
    assert not (home / "warehouse.duckdb").exists(), "asking for a report created a warehouse"

    assert run_cli(home, "init").returncode == 0
    with pytest.raises(ReportError, match=r"no data yet"):
        write_report(Home.resolve(home), "duckdb")
    assert not (home / "reports").exists()


@pytest.mark.slow
def test_report_renders_offline_in_headless_chromium(
    home: Path, tmp_path: Path, chromium: str
) -> None:
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts/generate_sample_data.py"),
            "--out",
            str(home / "landing"),
            "--meters",
            "8",
            "--days",
            "10",
        ],
        check=True,
        capture_output=True,
    )
    run = run_cli(home, "run")
    assert run.returncode == 0, run.stdout + run.stderr

    result = run_cli(home, "report")
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"report written to (\S+\.html)", result.stdout)
    assert match, result.stdout
    page = Path(match.group(1))
    assert page.parent == home.resolve() / "reports" and page.is_file()
    assert (page.parent / "latest.html").read_bytes() == page.read_bytes()

    text = page.read_text(encoding="utf-8")
    references = ExternalReferences()
    references.feed(text)
    assert references.found == [], "the page loads something from the network"
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", text), "external CSS"
    assert text.count("* plotly.js v") == 1, "plotly.js should be embedded inline exactly once"
    for section_id in SECTIONS:
        assert f'<section id="{section_id}"' in text
    # the fleet's day in one zone: the fleet load and the heatmap name the same one
    zones = re.findall(r"in ([A-Za-z_/+-]+) time", text)
    assert len(zones) >= 2 and len(set(zones)) == 1, zones
    in_utc = run_cli(home, "report", "--output", str(tmp_path / "utc.html"),
                     env={"SMARTMETER_REPORT_TIMEZONE": "UTC"})  # fmt: skip
    assert in_utc.returncode == 0, in_utc.stdout + in_utc.stderr
    assert set(re.findall(r"in ([A-Za-z_/+-]+) time", (tmp_path / "utc.html").read_text())) == {
        "UTC"
    }

    dump = browse(chromium, page, tmp_path / "profile", "--dump-dom")
    assert dump.returncode == 0, dump.stderr[-2000:]
    dom = dump.stdout
    errors = re.search(r'<pre id="js-errors"[^>]*>(.*?)</pre>', dom, re.S)
    assert errors, "the error recorder is missing"
    assert errors.group(1).strip() == "", f"JavaScript errors: {errors.group(1)}"
    for section_id in SECTIONS:
        body = section(dom, section_id)
        charts = body.count('class="plotly-graph-div')
        assert charts >= 1, f"#{section_id} has no chart"
        assert body.count('class="plot-container plotly"') == charts, f"#{section_id} not drawn"
        assert body.count('class="main-svg"') >= charts, f"#{section_id} has no rendered svg"

    screenshot = tmp_path / "report.png"
    shot = browse(
        chromium,
        page,
        tmp_path / "profile",
        f"--screenshot={screenshot}",
        "--window-size=1400,4000",
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert png_size(screenshot) == (1400, 4000)
    # A blank page of this size compresses to a few kilobytes; charts and tables do not.
    assert screenshot.stat().st_size > 100_000
