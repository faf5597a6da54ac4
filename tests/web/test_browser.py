"""The dashboard end to end in headless Chromium: login by link, a filter, a ticket page with
its live countdown, a chart image that loads, the isolation 404, and the page without a link."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.web.browser import free_port, serving, start_chromium
from tests.web.conftest import World

# A generous bound for the browser to reach a state; the tests assert states, never durations.
PATIENCE = 60


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless browser for the module (each test starts without cookies)."""
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def site(app: FastAPI, chromium: Any) -> Iterator[str]:
    """The dashboard served on 127.0.0.1; the browser's cookies cleared."""
    with serving(app, free_port()) as base:
        chromium.get(base + "/dashboard/welcome")
        chromium.delete_all_cookies()
        yield base


def _wait(driver: Any, condition: Any) -> Any:
    return WebDriverWait(driver, PATIENCE).until(condition)


def _login(driver: Any, world: World, base: str, handle: str) -> str:
    path = world.link(handle)
    driver.get(base + path)
    _wait(driver, lambda d: d.current_url == base + "/dashboard")
    return path


def test_login_by_link_then_filter_ticket_and_chart(world: World, site: str, chromium: Any) -> None:
    driver = chromium
    link = _login(driver, world, site, "demo-boss")
    # The overview names the customer; the session cookie is HttpOnly (no script reads it).
    assert driver.find_element(By.TAG_NAME, "h1").text == "Demo Customer SA"
    assert driver.execute_script("return document.cookie") == ""
    assert any(c["name"] == "supportbot_dashboard" and c["httpOnly"] for c in driver.get_cookies())

    # A filter: express tickets only.
    driver.find_element(By.LINK_TEXT, "Tickets").click()
    _wait(driver, lambda d: d.find_elements(By.ID, "filters"))
    assert len(driver.find_elements(By.CSS_SELECTOR, "tr.ticket")) == 3
    Select(driver.find_element(By.ID, "f-priority")).select_by_visible_text("Express")
    driver.find_element(By.ID, "f-apply").click()
    _wait(driver, lambda d: "priority=express" in d.current_url)
    refs = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "a.ref")]
    assert refs == [world.demo_ticket]
    # At a phone's width (420 px) the list is read without scrolling sideways.
    overflow = "return document.documentElement.scrollWidth - window.innerWidth"
    assert driver.execute_script(overflow) <= 0

    # The ticket page: its card, its timeline, and the countdown the script keeps live.
    driver.find_element(By.LINK_TEXT, world.demo_ticket).click()
    _wait(driver, lambda d: d.find_elements(By.ID, "ticket-title"))
    assert world.demo_ticket in driver.find_element(By.ID, "ticket-title").text
    assert driver.find_elements(By.CSS_SELECTOR, "#timeline li")
    countdown = driver.find_element(By.CSS_SELECTOR, ".countdown")
    _wait(driver, lambda _d: " left" in countdown.text or "overdue by" in countdown.text)

    # The SLA report: its chart image loads (a decoded PNG, not a broken image).
    driver.find_element(By.LINK_TEXT, "SLA report").click()
    chart = _wait(driver, lambda d: d.find_element(By.ID, "chart-compliance"))
    _wait(driver, lambda d: d.execute_script("return arguments[0].complete", chart))
    assert driver.execute_script("return arguments[0].naturalWidth", chart) >= 800
    assert driver.execute_script(overflow) <= 0

    # Credits: the ledger, also readable at a phone's width.
    driver.find_element(By.LINK_TEXT, "Credits and time bank").click()
    _wait(driver, lambda d: d.find_elements(By.ID, "balance"))
    assert driver.find_elements(By.CSS_SELECTOR, "#ledger tbody tr")
    assert driver.execute_script(overflow) <= 0

    # The link was for one use: a second visit is refused and opens nothing.
    driver.delete_all_cookies()
    driver.get(site + link)
    assert "already used" in driver.find_element(By.ID, "refused").text
    driver.get(site + "/dashboard")
    _wait(driver, lambda d: d.current_url == site + "/dashboard/welcome")


def test_a_ticket_of_another_customer_is_not_found(world: World, site: str, chromium: Any) -> None:
    driver = chromium
    _login(driver, world, site, "demo-boss")
    driver.get(f"{site}/dashboard/tickets/{world.other_ticket}")
    assert driver.find_element(By.ID, "not-found").text == "Not found"
    assert world.other_ticket not in driver.page_source
    status = driver.execute_script(
        "return fetch(arguments[0]).then(r => r.status)",
        f"/dashboard/tickets/{world.other_ticket}",
    )
    assert status == 404


def test_without_a_link_the_dashboard_explains_how_to_get_one(site: str, chromium: Any) -> None:
    driver = chromium
    driver.get(site + "/dashboard")
    _wait(driver, lambda d: d.current_url.startswith(site + "/dashboard/welcome"))
    assert "/dashboard" in driver.find_element(By.ID, "how").text
