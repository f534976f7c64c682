"""The dashboard in headless Chromium (Debian's `chromium` driven by Selenium through Debian's
`chromium-driver`): it loads, shows a resource failing and recovering live (server-sent events,
no reload), the explain view shows the score terms, an admin action works and a read-only token
is refused. The run saves a screenshot to build/test-artifacts/dashboard.png."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from paceline.agents import OcfRc
from paceline.web.tokens import Role, create_token, tokens_path

from .webtier import WEB, running_daemon

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"

if not (CHROMIUM and DRIVER) and not os.environ.get("CI"):
    pytest.skip("Debian's chromium and chromium-driver are not installed", allow_module_level=True)

pytestmark = pytest.mark.slow


def _browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--no-first-run"):  # fmt: skip
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=opts)


def test_dashboard_live_explain_and_actions(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    text = WEB.replace("ops: {monitor: {interval: 5s}}", "ops: {monitor: {interval: 500ms}}")

    async def go() -> None:
        async with running_daemon(tmp_path, text=text) as r:
            loop = asyncio.get_running_loop()
            admin = create_token(tokens_path(r.state_dir), Role.ADMIN, "ops")
            read = create_token(tokens_path(r.state_dir), Role.READ, "viewer")

            def on_loop(fn: Callable[[], Coroutine[Any, Any, Any] | None]) -> None:
                async def call() -> None:
                    res = fn()
                    if res is not None:
                        await res

                asyncio.run_coroutine_threadsafe(call(), loop).result(10)

            def scenario() -> None:
                b = _browser()
                try:
                    wait = WebDriverWait(b, 15, poll_frequency=0.1)

                    def cell(rsc: str, cls: str) -> str:
                        return str(
                            b.find_element(By.CSS_SELECTOR, f'tr[data-resource="{rsc}"] td.{cls}').text
                        )

                    def use_token(token: str) -> None:
                        b.find_element(By.ID, "token").send_keys(token)
                        b.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()

                    def click(rsc: str, action: str) -> None:
                        b.find_element(
                            By.CSS_SELECTOR, f'tr[data-resource="{rsc}"] button[data-action="{action}"]'
                        ).click()

                    b.get(r.url + "/")
                    wait.until(lambda _: b.find_element(By.ID, "live").text == "live")
                    wait.until(lambda _: cell("web", "role") == "Started")
                    assert b.find_element(By.ID, "cluster").text == "t"
                    assert "n1" in b.find_element(By.CSS_SELECTOR, 'tr[data-node="n1"]').text
                    assert b.find_elements(By.CSS_SELECTOR, "#events li")
                    # web dies and cannot start again here: the page shows it, no reload
                    r.fake.script("web", "start", [OcfRc.ERR_GENERIC, OcfRc.OK])
                    on_loop(lambda: r.fake.kill("web"))
                    wait.until(lambda _: cell("web", "role") == "Stopped" and cell("web", "failcount"))
                    assert "INFINITY" in cell("web", "failcount")
                    assert cell("web", "why")
                    wait.until(
                        lambda _: any(
                            "web" in li.text for li in b.find_elements(By.CSS_SELECTOR, "#events li.failure")
                        )
                    )
                    # the explain view: web's score terms in words
                    click("web", "explain")
                    wait.until(lambda _: "n1:" in b.find_element(By.ID, "explain").text)
                    assert "total" in b.find_element(By.ID, "explain").text
                    # a read-only token cannot act: refused, nothing changes
                    use_token(read)
                    wait.until(lambda _: b.find_element(By.ID, "role").text == "read token")
                    click("web", "cleanup")
                    wait.until(lambda _: "refused (403)" in b.find_element(By.ID, "message").text)
                    assert cell("web", "role") == "Stopped"
                    # the admin token: cleanup brings web back, live
                    b.find_element(By.ID, "logout").click()
                    use_token(admin)
                    wait.until(lambda _: b.find_element(By.ID, "role").text == "admin token")
                    click("web", "cleanup")
                    wait.until(lambda _: cell("web", "role") == "Started" and not cell("web", "failcount"))
                    assert "cleaned up web" in b.find_element(By.ID, "message").text
                    # the open explain view follows: web runs on n1 again
                    wait.until(lambda _: "Started on n1" in b.find_element(By.ID, "explain").text)
                    assert "web" in r.fake.running
                    ARTIFACTS.mkdir(parents=True, exist_ok=True)
                    assert b.save_screenshot(str(ARTIFACTS / "dashboard.png"))
                finally:
                    b.quit()

            await asyncio.to_thread(scenario)

    asyncio.run(go())
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
