"""The report's HTML page in a real browser: headless Chromium opens it from a file, draws it (screenshot) and asks
for nothing. Chromium is pointed at a proxy of the test's own on loopback, loopback itself included (`<-loopback>`),
which records every connection and answers 403: no request leaves the machine, and every request made is seen.
Chromium's net log names each request's full URL (a proxy sees only the host of an https one).

Chromium itself still calls Google at start-up whatever its flags (Debian's build carries API keys): the signed-in
accounts' list (`ListAccounts`, IdentityManager, for every profile) and an on-demand component check
(`update2/json`). They go to the proxy, which refuses them; they are recognised by their exact URL, nothing else is
allowed. A page with an external image, opened the same way, shows both detectors see a page's request."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from shared.half_year_report.charts import BLUE, RED
from shared.half_year_report.html import render
from tests.report_html_sample import document

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1280, 2400
TIMEOUT_S = 60
# Chromium's own traffic off: update checks, sync, metrics, safe browsing, first-run pages, translation.
QUIET = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=NetworkTimeServiceQuerying,Translate,OptimizationHints,MediaRouter",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-pings",
)
# Chromium's own calls no flag stops (see above), by URL prefix; the hosts the proxy then sees.
CHROMIUMS_OWN = (
    "https://accounts.google.com/ListAccounts?",
    "https://update.googleapis.com/service/update2/json?",
    "http://update.googleapis.com/service/update2/json?",
)
CHROMIUMS_HOSTS = {"accounts.google.com:443", "update.googleapis.com:443", "update.googleapis.com"}
LOCAL_SCHEMES = ("file:", "data:", "about:", "chrome:", "chrome-untrusted:", "blob:")


class RecordingProxy:
    """A listening socket on 127.0.0.1 that records each connection's first line and answers 403."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return  # closed: the test is over
            with connection:
                connection.settimeout(5)
                try:
                    first = connection.recv(4096).split(b"\r\n", 1)[0]
                    connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    first = b"(no request line)"
                self.seen.append(first.decode("latin-1"))


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    recorder = RecordingProxy()
    recorder.thread.start()
    try:
        yield recorder
    finally:
        recorder.server.close()
        recorder.thread.join(timeout=5)


@dataclass
class Run:
    log: str  # Chromium's stderr, its console included
    urls: list[str]  # every URL it requested over the network, once each, from its net log

    def page_requests(self) -> list[str]:
        """What was asked for beyond the page's own file and Chromium's own calls."""
        return [u for u in self.urls if not u.startswith(LOCAL_SCHEMES) and not u.startswith(CHROMIUMS_OWN)]


def chromium(page: Path, screenshot: Path, proxy: RecordingProxy, work: Path) -> Run:
    """Open `page` headless and screenshot it. The whole process group is killed when it outlives the timeout."""
    net_log = work / "net-log.json"
    command = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={work / 'profile'}",
        f"--log-net-log={net_log}",
        f"--proxy-server=http://127.0.0.1:{proxy.port}",
        "--proxy-bypass-list=<-loopback>",
        *QUIET,
        "--enable-logging=stderr",
        f"--screenshot={screenshot}",
        f"--window-size={WIDTH},{HEIGHT}",
        page.as_uri(),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _, stderr = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"chromium did not finish within {TIMEOUT_S} s")
    assert process.returncode == 0, stderr
    urls = re.findall(r'"url":"([^"]+)"', net_log.read_text(encoding="utf-8"))  # each in several events
    return Run(stderr, list(dict.fromkeys(urls)))


def _hosts(proxy: RecordingProxy) -> set[str]:
    """The host each connection to the proxy asked for: CONNECT's target, or an absolute URL's host."""
    targets = (line.split(" ")[1] if " " in line else line for line in proxy.seen)
    return {t.split("://", 1)[-1].split("/", 1)[0] for t in targets}


@pytest.fixture
def browser_ready() -> None:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (Debian's chromium package)")


@pytest.mark.usefixtures("browser_ready")
def test_report_page_draws_in_chromium_without_a_request(tmp_path: Path, proxy: RecordingProxy) -> None:
    page = tmp_path / "report.html"
    page.write_text(render(document()), encoding="utf-8")
    screenshot = tmp_path / "report.png"
    print(f"screenshot: {screenshot}")

    run = chromium(page, screenshot, proxy, tmp_path)

    assert run.page_requests() == []
    assert _hosts(proxy) <= CHROMIUMS_HOSTS, "\n".join(proxy.seen)
    assert "Content Security Policy" not in run.log  # the page tried to load nothing the policy refused
    with Image.open(screenshot) as image:
        assert image.size == (WIDTH, HEIGHT)
        pixels = image.convert("RGB")
        colours = pixels.getcolors(maxcolors=WIDTH * HEIGHT)
    assert colours is not None
    assert len(colours) > 200  # text, charts and page: not a blank or single-colour image
    counts = {colour: n for n, colour in colours}
    for bar in (RED, BLUE):  # the charts' bars, drawn as solid fills
        assert counts.get(_rgb(bar), 0) > 2000, f"no chart bars of {bar} in {screenshot}"


@pytest.mark.usefixtures("browser_ready")
def test_the_proxy_sees_a_page_reaching_out(tmp_path: Path, proxy: RecordingProxy) -> None:
    page = tmp_path / "reaching.html"
    page.write_text('<!DOCTYPE html><img src="http://report-assets.example/logo.png">', encoding="utf-8")

    run = chromium(page, tmp_path / "reaching.png", proxy, tmp_path)

    assert run.page_requests() == ["http://report-assets.example/logo.png"]
    assert "report-assets.example" in _hosts(proxy)


@pytest.mark.usefixtures("browser_ready")
def test_the_pages_policy_refuses_what_a_page_reaches_for(tmp_path: Path, proxy: RecordingProxy) -> None:
    page = tmp_path / "report.html"
    reaching = '<img src="http://report-assets.example/logo.png"></main>'
    page.write_text(render(document()).replace("</main>", reaching), encoding="utf-8")

    run = chromium(page, tmp_path / "report.png", proxy, tmp_path)

    assert run.page_requests() == []
    assert "report-assets.example" not in _hosts(proxy)
    assert "Content Security Policy" in run.log


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
