"""A real Chromium driven by Selenium: Debian's `chromium` and `chromium-driver` (/usr/bin), never a browser or
driver downloaded by Selenium Manager (the driver's path is given, and Selenium Manager is told to stay offline).

Selenium's calls block, so each runs in a thread: the console under test serves on the test's event loop meanwhile.
Each page a test looks at is kept as a screenshot under var/test-artefacts/console/.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

from bot.config import PROJECT_ROOT

CHROMIUM = Path(os.environ.get("MILA_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("MILA_CHROMEDRIVER", "/usr/bin/chromedriver"))
ARTEFACTS = PROJECT_ROOT / "var" / "test-artefacts" / "console"
# Selenium Manager must never fetch a browser or a driver.
SELENIUM_OFFLINE = {"SE_OFFLINE": "true", "SE_AVOID_BROWSER_DOWNLOAD": "true", "SE_AVOID_STATS": "true"}


def missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: apt-get install chromium chromium-driver"
    return None


def start_driver() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.update(SELENIUM_OFFLINE)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1600", "--lang=en-US", "--no-first-run", "--disable-extensions",
                     "--disable-background-networking", "--disable-sync", "--disable-component-update"):  # fmt: skip
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    service = Service(executable_path=str(CHROMEDRIVER), env={**os.environ, **SELENIUM_OFFLINE})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver


class Browser:
    """One test's view of the shared Chromium, pointed at one console."""

    def __init__(self, driver: Any, base_url: str, test_name: str) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        self.name = re.sub(r"[^\w.-]+", "_", test_name)
        self.shots = 0

    async def run(self, call: Any, *args: Any) -> Any:
        return await asyncio.to_thread(call, *args)

    async def open(self, path: str) -> None:
        await self.run(self.driver.get, self.base_url + path)

    @property
    def path(self) -> str:
        url: str = self.driver.current_url
        return url.removeprefix(self.base_url)

    async def fill(self, css: str, text: str) -> None:
        from selenium.webdriver.common.by import By

        def fill() -> None:
            element = self.driver.find_element(By.CSS_SELECTOR, css)
            element.clear()
            element.send_keys(text)

        await self.run(fill)

    async def click(self, css: str) -> None:
        """Click what leads to another page, and wait until that page has loaded."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.wait import WebDriverWait

        def left(old: Any) -> Any:
            """The page the click started on is gone. Chromium may say so as an inspector error about the node
            ("does not belong to the document") instead of a stale element while the next page is being built."""
            from selenium.common.exceptions import WebDriverException

            def gone(driver: Any) -> bool:
                try:
                    return bool(expected_conditions.staleness_of(old)(driver))
                except WebDriverException as exc:
                    if "does not belong to the document" in str(exc) or "No node with given id" in str(exc):
                        return True
                    raise

            return gone

        def click() -> None:
            old = self.driver.find_element(By.TAG_NAME, "html")
            self.driver.find_element(By.CSS_SELECTOR, css).click()
            WebDriverWait(self.driver, 30).until(left(old))
            WebDriverWait(self.driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")

        await self.run(click)

    async def texts(self, css: str) -> list[str]:
        from selenium.webdriver.common.by import By

        def read() -> list[str]:
            return [e.get_attribute("textContent") or "" for e in self.driver.find_elements(By.CSS_SELECTOR, css)]

        result: list[str] = await self.run(read)
        return result

    async def text(self) -> str:
        from selenium.webdriver.common.by import By

        body: str = await self.run(lambda: self.driver.find_element(By.TAG_NAME, "body").text)
        return body

    async def script(self, source: str, *args: Any) -> Any:
        return await self.run(self.driver.execute_script, source, *args)

    async def login(self, name: str, password: str) -> None:
        await self.open("/login")
        await self.fill("#username", name)
        await self.fill("#password", password)
        await self.click("#submit")

    async def screenshot(self, label: str) -> Path:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        path = ARTEFACTS / f"{self.name}-{self.shots:02d}-{label}.png"
        await self.run(self.driver.save_screenshot, str(path))
        return path
