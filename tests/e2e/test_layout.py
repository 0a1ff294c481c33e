"""The base layout in a real browser: login, role navigation, accessibility, keyboard, styles."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]

EXPECTED_SECTIONS = {
    "designer": ["Designer", "Requests", "Inbox"],
    "approver": ["Requests", "Inbox"],
    "manager": ["Requests", "Inbox", "Reports"],
    "auditor": ["Requests", "Reports"],
    "admin": ["Designer", "Requests", "Inbox", "Reports", "Admin"],
}


def path_of(page) -> str:
    return urlsplit(page.url).path


def nav_labels(page) -> list[str]:
    return [t.strip() for t in page.locator("[data-testid=nav-sections] a").all_inner_texts()]


def test_login_page_has_no_serious_accessibility_violations(page, axe_check):
    page.goto("/accounts/login/")

    assert page.get_by_role("heading", level=1).inner_text() == "Sign in to Flowgate"
    assert axe_check(page) == []
    assert page.js_errors == []


def test_the_bootstrap_bundle_is_served_and_applied(page):
    page.goto("/accounts/login/")

    button = page.get_by_role("button", name="Sign in")
    background = button.evaluate("el => getComputedStyle(el).backgroundColor")
    display = page.locator("body").evaluate("el => getComputedStyle(el).display")
    # Bootstrap's --bs-primary (#0d6efd) and our app.css sticky-footer layout.
    assert background == "rgb(13, 110, 253)"
    assert display == "flex"
    assert page.evaluate("() => typeof window.htmx.trigger") == "function"


@pytest.mark.parametrize("role", list(EXPECTED_SECTIONS))
def test_each_role_signs_in_and_sees_exactly_its_sections(page, login_as, role):
    user = UserFactory(roles=[role], first_name="Pat", last_name=role.title())

    login_as(page, user)

    assert path_of(page) == "/"
    assert page.get_by_role("heading", level=1).inner_text() == f"Welcome, Pat {role.title()}"
    assert nav_labels(page) == EXPECTED_SECTIONS[role]
    cards = page.locator("[data-testid=home-sections] .card-title").all_inner_texts()
    assert [c.strip() for c in cards] == EXPECTED_SECTIONS[role]


def test_wrong_password_shows_an_error_and_stays_on_the_login_page(page):
    user = UserFactory(roles=["approver"])
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    alert = page.get_by_role("alert")
    assert "Please enter a correct username and password" in alert.inner_text()
    assert page.get_by_label("Username").get_attribute("aria-invalid") == "true"
    assert "/accounts/login/" in page.url


def test_home_and_profile_have_no_serious_accessibility_violations(page, login_as, axe_check):
    login_as(page, UserFactory(roles=["admin"], first_name="Ada", last_name="Admin"))

    assert axe_check(page) == []
    page.get_by_role("link", name="Ada Admin").click()
    page.wait_for_url("**/accounts/profile/")
    assert page.get_by_role("heading", level=1).inner_text() == "Your profile"
    assert axe_check(page) == []
    assert page.js_errors == []


def test_a_user_without_roles_sees_the_empty_state(page, login_as, axe_check):
    login_as(page, UserFactory(roles=[]))

    empty = page.get_by_test_id("empty-state")
    assert empty.get_by_role("heading").inner_text() == "You have no role yet"
    assert nav_labels(page) == []
    assert axe_check(page) == []


def test_keyboard_only_sign_in(page):
    user = UserFactory(roles=["approver"])
    page.goto("/accounts/login/")

    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    box = page.locator(".fg-skip-link").bounding_box()
    assert box is not None and box["width"] > 10 and box["height"] > 10  # visible when focused

    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "id_username"
    page.keyboard.type(user.username)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "id_password"
    page.keyboard.type("correct-horse-battery-staple")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert path_of(page) == "/"  # the browser keeps the #main fragment through the redirect
    assert nav_labels(page) == ["Requests", "Inbox"]


def test_sign_out_returns_to_the_login_page(page, login_as):
    login_as(page, UserFactory(roles=["auditor"]))

    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()

    assert path_of(page) == "/accounts/login/"
    assert nav_labels(page) == []


def test_dark_colour_scheme_follows_the_os_and_stays_accessible(make_page, axe_check):
    page = make_page(color_scheme="dark")
    page.goto("/accounts/login/")

    assert page.evaluate("() => document.documentElement.dataset.bsTheme") == "dark"
    body_bg = page.locator("body").evaluate("el => getComputedStyle(el).backgroundColor")
    assert body_bg == "rgb(33, 37, 41)"  # Bootstrap's dark --bs-body-bg
    assert axe_check(page) == []


def test_narrow_screens_collapse_the_navigation_behind_a_labelled_toggle(page, login_as):
    login_as(page, UserFactory(roles=["admin"]))
    page.set_viewport_size({"width": 375, "height": 740})

    nav = page.get_by_role("navigation", name="Main navigation")
    toggle = nav.get_by_role("button", name="Toggle navigation")
    reports = nav.get_by_role("link", name="Reports", exact=True)
    assert toggle.is_visible()
    assert not reports.is_visible()
    toggle.click()
    reports.wait_for(state="visible")
    assert toggle.get_attribute("aria-expanded") == "true"
