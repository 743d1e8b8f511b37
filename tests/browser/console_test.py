#!/usr/bin/env python3
"""Drives the merchant console (GET /console) in headless Chromium at a phone's size, as
an operator would, against a running stack. Run by tests/tests/console_browser.rs, which
starts the stack with paid orders and then checks the table independently.

    python3 tests/browser/console_test.py CONSOLE_URL ADMIN_KEY --order NO --late-order NO \
        --refund-yuan 1.05 --attention-order NO --attention-refund NO \
        --markup-order NO --markup-text TEXT... \
        --screenshot PATH --result PATH \
        [--prefixed-url URL --settle-order NO] [--chromium PATH] [--chromedriver PATH]

Steps (each asserted; any failure exits non-zero with the reason):
  - the page's own helpers: yuan <-> fen in integers, the API path from the page's path
    (API Gateway stage, `cargo lambda watch`'s /lambda-url/<function>/), refund numbers;
  - a wrong key is refused (401 shown, nothing kept), the right key signs in and is kept
    in sessionStorage only; an openid and a sku that are markup show as text and never run;
  - status PAID filter: every order shown PAID, the late order highlighted; no horizontal
    scroll at 390 and 375 px, every control at least 44 px;
  - the order opened with its timeline; an amount with 3 decimals refused in the page; a
    partial refund confirmed in a dialog that shows the amount left (its answer lost once:
    shown as unknown, sent again under the same number); the refund listed and the
    timeline longer; a refund of the whole "left" amount answered 409 and shown;
  - the order list again (screenshot); CSV export downloaded through a Blob link, with the
    header and the order; a refund in flight for two days marked "needs attention", a fresh
    one not (and the browser's back button between list and order);
  - under the /lambda-url/admin/ prefix: the list and a settlement through
    /lambda-url/settle/settle;
  - sign out: the key is gone from sessionStorage and was never in localStorage or a
    cookie; no Content-Security-Policy violation or script error in the browser log.

Uses only the system's chromium and chromedriver (Debian's `chromium`, `chromium-driver`):
Selenium is given both paths, so it never runs Selenium Manager or downloads anything.
"""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

KEY_NAME = "minipay.adminKey"
WIDTH, HEIGHT = 390, 844


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def wait_for(probe, what, timeout=15.0):
    """Polls probe() until it returns something truthy; that value is returned."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except Exception as err:  # the page is changing under us: try again
            last_error = err
        time.sleep(0.1)
    raise Failure(f"timed out waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


def step(text):
    print(f"console_test: {text}", flush=True)


class Console:
    def __init__(self, driver, key):
        self.d = driver
        self.key = key

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def by_id(self, element_id):
        return self.d.find_element(By.ID, element_id)

    def visible(self, element_id):
        return self.by_id(element_id).is_displayed()

    def text(self, element_id):
        return self.by_id(element_id).text

    def click(self, element_id):
        element = self.by_id(element_id)
        self.js("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def type(self, element_id, value):
        element = self.by_id(element_id)
        element.clear()
        element.send_keys(value)

    def error(self):
        return self.text("error") if self.visible("error") else ""

    def notice(self):
        return self.text("notice") if self.visible("notice") else ""

    def cards(self):
        return self.d.find_elements(By.CSS_SELECTOR, "#orders button.card")

    def card(self, no):
        for card in self.cards():
            if card.get_attribute("data-no") == no:
                return card
        return None

    def open_card(self, no):
        """Clicks the order's card; a list that re-renders under the click (after a history
        step, say) leaves a stale element, which is found again rather than failing. The card
        is brought to the middle of the screen first: scrolled only just into view it can sit
        under the sticky header, which then takes the click."""
        def clicked():
            card = self.card(no)
            if card is None:
                return False
            self.js("arguments[0].scrollIntoView({block: 'center'})", card)
            card.click()
            return True
        wait_for(clicked, f"the card of {no} to click")

    def no_persisted_key(self, when):
        """The key is in no localStorage entry and no cookie, whatever their names."""
        stored = self.js(
            "var out = []; for (var i = 0; i < localStorage.length; i++) {"
            " var k = localStorage.key(i); out.push(k + '=' + localStorage.getItem(k)); } return out;"
        )
        check(not any(self.key in entry for entry in stored), f"{when}: the key is in localStorage: {stored}")
        check(self.key not in self.js("return document.cookie"), f"{when}: the key is in document.cookie")
        cookies = self.d.get_cookies()
        check(not any(self.key in json.dumps(c) for c in cookies), f"{when}: the key is in a cookie: {cookies}")

    def layout_fits(self, when):
        """No horizontal scroll; every visible control is a touch target of >= 44 px."""
        widths = self.js(
            "return [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
        )
        check(max(widths[0], widths[1]) <= widths[2], f"{when}: horizontal scroll at {widths[2]} px: {widths}")
        small = self.js(
            "return Array.from(document.querySelectorAll('button, input, select, summary, a')).filter(function (e) {"
            " var r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 &&"
            " (r.height < 44 || r.width < 44); }).map(function (e) {"
            " var r = e.getBoundingClientRect(); return (e.id || e.tagName) + ' ' + r.width + 'x' + r.height; })"
        )
        check(not small, f"{when}: controls smaller than 44 px: {small}")

    def set_width(self, width):
        self.d.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": True},
        )
        wait_for(lambda: self.js("return window.innerWidth") == width, f"a viewport {width} px wide")


def helpers(c):
    """The page's pure helpers, called in the page."""
    fen_cases = {
        "0.01": 1, "1": 100, "1.5": 150, "1.05": 105, "12.34": 1234, " 7.10 ": 710, "0": 0,
        "99999999.99": 9999999999, "1.234": None, "-1": None, "+1": None, "1e3": None,
        "1,000": None, ".5": None, "1.": None, "": None, "abc": None, "１": None, "1 000": None,
        "0x10": None, "Infinity": None, "NaN": None,
    }
    for text, want in fen_cases.items():
        got = c.js("return minipayConsole.yuanToFen(arguments[0])", text)
        check(got == want, f"yuanToFen({text!r}) = {got!r}, want {want!r}")
    yuan_cases = {0: "0.00", 1: "0.01", 10: "0.10", 105: "1.05", 990: "9.90", 123456789: "1234567.89",
                  -250: "-2.50", 9007199254740991: "90071992547409.91"}
    for fen, want in yuan_cases.items():
        got = c.js("return minipayConsole.fenToYuan(arguments[0])", fen)
        check(got == want, f"fenToYuan({fen}) = {got!r}, want {want!r}")
    check(c.js("return minipayConsole.fenToYuan(1.5)") == "?", "fenToYuan of a non-integer is not shown as money")
    path_cases = [
        ("/console", "admin/orders?limit=1", "/admin/orders?limit=1"),
        ("/console", "refund", "/refund"),
        ("/prod/console", "admin/orders/o1", "/prod/admin/orders/o1"),
        ("/prod/console", "settle", "/prod/settle"),
        ("/prod/console/", "refunds/r1", "/prod/refunds/r1"),
        ("/lambda-url/admin/console", "admin/orders.csv?from=1", "/lambda-url/admin/admin/orders.csv?from=1"),
        ("/lambda-url/admin/console", "refund", "/lambda-url/refund/refund"),
        ("/lambda-url/admin/console", "settle", "/lambda-url/settle/settle"),
        ("/lambda-url/admin/console", "refunds/r1", "/lambda-url/query/refunds/r1"),
        ("/stage/lambda-url/admin/console", "refund", "/stage/lambda-url/refund/refund"),
    ]
    for pathname, route, want in path_cases:
        got = c.js("return minipayConsole.apiPath(arguments[0], arguments[1])", pathname, route)
        check(got == want, f"apiPath({pathname!r}, {route!r}) = {got!r}, want {want!r}")
    long_no = "a" * 32
    numbers = c.js(
        "var out = []; for (var i = 0; i < 50; i++) out.push(minipayConsole.backOfficeNo('rf', arguments[0], Date.now())); return out;",
        long_no,
    )
    for no in numbers:
        check(re.fullmatch(r"[0-9A-Za-z_-]{1,64}", no), f"refund number {no!r} breaks the id rule")
        check(no.startswith(f"rf-{long_no}-"), f"refund number {no!r} does not name the order")
    check(len(set(numbers)) >= 45, f"refund numbers made in one millisecond repeat too often: {numbers}")
    day = c.js("return [minipayConsole.daySeconds('2026-12-04', false), minipayConsole.daySeconds('2026-12-04', true)]")
    check(day[1] - day[0] == 86399, f"a local day is from its first to its last second: {day}")


def wait_downloaded(directory, timeout=15.0):
    def done():
        names = os.listdir(directory)
        finished = [n for n in names if n.endswith(".csv")]
        if finished and not any(n.endswith(".crdownload") for n in names):
            return os.path.join(directory, finished[0])
        return None

    return wait_for(done, f"a CSV download in {directory}", timeout)


def run(args, driver, downloads):
    c = Console(driver, args.admin_key)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})

    step(f"open {args.console_url}")
    driver.get(args.console_url)
    # A phone: the page's own viewport meta then makes the layout as wide as the screen.
    c.set_width(WIDTH)
    wait_for(lambda: c.visible("signin-view"), "the sign-in form")
    helpers(c)
    step("helpers: yuan/fen, API paths, refund numbers, local days")

    # A wrong key: refused, and forgotten.
    c.type("key", "not-the-admin-key")
    c.click("signin")
    wait_for(lambda: "unauthorized" in c.error(), "the 401 shown at sign-in")
    check(c.visible("signin-view"), "a refused key leaves the operator at sign-in")
    check(c.js("return sessionStorage.getItem(arguments[0])", KEY_NAME) is None, "a refused key is kept")
    step(f"wrong key refused: {c.error()!r}")

    c.type("key", args.admin_key)
    c.click("signin")
    wait_for(lambda: c.visible("list-view") and c.cards(), "the order list after sign-in")
    check(c.js("return sessionStorage.getItem(arguments[0])", KEY_NAME) == args.admin_key,
          "the key is kept in sessionStorage")
    c.no_persisted_key("after sign-in")
    step(f"signed in: {len(c.cards())} orders listed")

    # Markup in the data is shown as text and never runs.
    probe = c.card(args.markup_order)
    check(probe is not None, f"the order {args.markup_order} is listed")
    for text in args.markup_text:
        check(text in probe.text, f"{text!r} is shown as text: {probe.text!r}")
    check(not c.d.find_elements(By.CSS_SELECTOR, "#orders img, #orders script"), "data became elements")
    check(c.js("return window.__xss") is None, "markup in the data ran")
    step(f"markup shown as text: {probe.text!r}")

    # The undelivered webhooks panel reads GET /admin/webhooks when opened; Redeliver posts
    # the one there again (its receiver takes it now) and the list is empty after.
    c.d.find_element(By.CSS_SELECTOR, "#webhook-box summary").click()
    hook = wait_for(lambda: c.d.find_element(By.CSS_SELECTOR, f'#webhooks li[data-id="{args.webhook_id}"]'),
                    "the undelivered webhook listed")
    check("HTTP 503" in hook.text and "order.paid" in hook.text, f"its type and last error shown: {hook.text!r}")
    hook.find_element(By.TAG_NAME, "button").click()
    wait_for(lambda: c.by_id("wh-summary").text == "No undelivered webhooks.", "the webhook gone from the list")
    notice = c.by_id("notice").text
    check(args.webhook_id in notice and "delivered" in notice, f"the redelivery told: {notice!r}")
    c.d.find_element(By.CSS_SELECTOR, "#webhook-box summary").click()
    c.js("window.scrollTo(0, 0)")  # back under the sticky header, as before
    step(f"undelivered webhook redelivered: {notice!r}")

    # Only the paid orders.
    if not c.js("return document.getElementById('filter-box').open"):
        c.d.find_element(By.CSS_SELECTOR, "#filter-box summary").click()
    Select(c.by_id("f-status")).select_by_visible_text("PAID")
    c.click("search")

    def paid_only():
        cards = c.cards()
        statuses = [card.find_element(By.CSS_SELECTOR, ".badge:not(.flag)").text for card in cards]
        return cards if cards and all(s == "PAID" for s in statuses) and c.card(args.order) else None

    paid = wait_for(paid_only, "only PAID orders, among them the order to refund")
    late = c.card(args.late_order)
    check(late is not None, f"the late order {args.late_order} is listed among the paid ones")
    check("late" in late.get_attribute("class").split(), "the late order is highlighted")
    check("LATE" in late.text, "the late order says LATE")
    check("late" not in c.card(args.order).get_attribute("class").split(), "an order paid in time is not highlighted")
    step(f"status PAID: {len(paid)} orders, {args.late_order} highlighted as late")
    c.layout_fits("the order list at 390 px")
    c.set_width(375)
    c.layout_fits("the order list at 375 px")
    c.set_width(WIDTH)

    # The order, its timeline, a refund.
    c.open_card(args.order)
    wait_for(lambda: c.visible("detail-view") and args.order in c.text("d-title")
             and driver.find_elements(By.CSS_SELECTOR, "#d-timeline li"), "the order's detail and timeline")
    timeline_before = len(driver.find_elements(By.CSS_SELECTOR, "#d-timeline li"))
    check(timeline_before >= 2, f"the timeline shows creation and payment: {c.text('d-timeline')!r}")
    check(c.visible("refund-form"), "a paid order offers a refund")
    fields = c.text("d-fields")
    total = re.search(r"Total\s+¥(\d+\.\d\d)", fields)
    check(total, f"the total in yuan: {fields!r}")
    total = total.group(1)
    step(f"order {args.order}: total ¥{total}, {timeline_before} timeline entries")
    c.layout_fits("the order at 390 px")
    c.set_width(375)
    c.layout_fits("the order at 375 px")
    c.set_width(WIDTH)

    c.type("r-amount", "1.234")
    c.click("r-submit")
    wait_for(lambda: "invalid_request" in c.error(), "a refund of 3 decimals refused in the page")
    check(not c.js("return document.getElementById('confirm').open"), "a refused amount asks no confirmation")

    c.type("r-amount", args.refund_yuan)
    c.type("r-reason", "browser test: partial refund")
    c.click("r-submit")
    wait_for(lambda: c.js("return document.getElementById('confirm').open"), "the confirmation dialog")
    dialog = c.text("confirm")
    check(f"Left to refund\n¥{total}" in dialog or f"Left to refund ¥{total}" in dialog,
          f"the confirmation shows the amount left ¥{total}: {dialog!r}")
    check(f"¥{args.refund_yuan}" in dialog, f"the confirmation shows the refund ¥{args.refund_yuan}: {dialog!r}")
    check("409" in dialog and "in flight" in dialog, f"the confirmation says the server counts refunds in flight: {dialog!r}")
    refund_no = re.search(r"Refund number\s+(\S+)", dialog)
    check(refund_no, f"the confirmation shows the refund number: {dialog!r}")
    refund_no = refund_no.group(1)
    check(re.fullmatch(r"rf-" + re.escape(args.order) + r"-[0-9a-z]+", refund_no) and len(refund_no) <= 64,
          f"refund number {refund_no!r}")
    step(f"confirmation: {dialog!r}")
    c.click("c-ok")
    if args.first_refund_unclear:
        # The platform made the refund and its answer was lost: the page says so, shows
        # the refund in flight, and sending it again uses the same number.
        wait_for(lambda: refund_no in c.error() and "outcome is unknown" in c.error(), "the unclear answer")
        step(f"unclear answer shown: {c.error()!r}")
        c.click("r-submit")
        wait_for(lambda: c.js("return document.getElementById('confirm').open"), "the confirmation again")
        again = re.search(r"Refund number\s+(\S+)", c.text("confirm")).group(1)
        check(again == refund_no, f"the retry keeps the refund number: {again} != {refund_no}")
        c.click("c-ok")
    wait_for(lambda: refund_no in c.notice(), "the refund's answer")
    check(re.search(r": (PROCESSING|SUCCESS)\.$", c.notice()), f"the refund is in flight or done: {c.notice()!r}")

    def refund_listed():
        for li in driver.find_elements(By.CSS_SELECTOR, "#d-refunds li"):
            if li.get_attribute("data-no") == refund_no:
                return li
        return None

    line = wait_for(refund_listed, "the refund in the order's refund list")
    check(f"¥{args.refund_yuan}" in line.text, f"the refund line shows ¥{args.refund_yuan}: {line.text!r}")
    timeline_after = len(driver.find_elements(By.CSS_SELECTOR, "#d-timeline li"))
    check(timeline_after > timeline_before, f"the timeline grew with the refund: {timeline_before} -> {timeline_after}")
    step(f"refund {refund_no} listed ({line.text!r}); timeline {timeline_before} -> {timeline_after}")

    if args.detail_screenshot:
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(args.detail_screenshot)

    # What is left without the refund in flight does not fit: the server's 409 is shown.
    c.click("r-full")
    check(c.by_id("r-amount").get_attribute("value") == total, "'whole amount left' fills total - refunded")
    c.click("r-submit")
    wait_for(lambda: c.js("return document.getElementById('confirm').open"), "the second confirmation")
    second_no = re.search(r"Refund number\s+(\S+)", c.text("confirm")).group(1)
    check(second_no != refund_no, "a new refund gets a new number")
    c.click("c-ok")
    wait_for(lambda: c.error().startswith("conflict:"), "the server's 409 conflict shown from its envelope")
    step(f"over-refund refused by the server: {c.error()!r}")
    c.no_persisted_key("after the refunds")

    # The list again, every order: the screenshot.
    c.click("back")
    wait_for(lambda: c.visible("list-view") and c.cards(), "the list again")
    if not c.js("return document.getElementById('filter-box').open"):
        c.d.find_element(By.CSS_SELECTOR, "#filter-box summary").click()
    c.click("clear")
    wait_for(lambda: len(c.cards()) > len(paid), "every order after clearing the filters")
    c.d.find_element(By.CSS_SELECTOR, "#filter-box summary").click()  # closed: the phone shows orders
    driver.execute_script("window.scrollTo(0, 0)")
    wait_for(lambda: driver.execute_script("return window.scrollY") == 0, "the page at its top")
    os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
    check(driver.save_screenshot(args.screenshot), "the screenshot is saved")
    step(f"screenshot of {len(c.cards())} orders: {args.screenshot}")

    # CSV export through a Blob link.
    c.d.find_element(By.CSS_SELECTOR, "#filter-box summary").click()
    c.click("export")
    path = wait_downloaded(downloads)
    with open(path, encoding="utf-8") as f:
        csv = f.read()
    lines = csv.splitlines()
    check(lines and lines[0] == "out_order_no,platform,status,total_amount,refunded_amount,openid,sku,quantity,created_at,paid_at,late",
          f"the CSV header: {lines[:1]}")
    check(any(line.startswith(args.order + ",") for line in lines), f"the CSV has {args.order}")
    check(any(line.startswith(args.late_order + ",") and line.endswith(",true") for line in lines),
          f"the CSV marks {args.late_order} late")
    wait_for(lambda: "Exported" in c.notice(), "the export's notice")
    step(f"CSV {os.path.basename(path)}: {len(lines) - 1} orders")

    # A refund in flight for more than a day is marked for a person; a fresh one is not.
    c.d.find_element(By.CSS_SELECTOR, "#filter-box summary").click()
    c.open_card(args.attention_order)

    def refund_line(no):
        for li in driver.find_elements(By.CSS_SELECTOR, "#d-refunds li"):
            if li.get_attribute("data-no") == no:
                return li
        return None

    stuck = wait_for(lambda: args.attention_order in c.text("d-title") and refund_line(args.attention_refund),
                     "the order with a refund in flight for days")
    check("attention" in stuck.get_attribute("class").split() and "NEEDS ATTENTION" in stuck.text,
          f"a refund PROCESSING for two days is highlighted: {stuck.text!r}")
    check("more than a day" in stuck.text, f"the highlight says why: {stuck.text!r}")
    step(f"refund {args.attention_refund} highlighted: {stuck.text!r}")
    driver.execute_script("window.history.back()")
    wait_for(lambda: c.visible("list-view") and c.cards(), "the list again")
    c.open_card(args.order)
    fresh = wait_for(lambda: args.order in c.text("d-title") and refund_line(refund_no), "the refunded order again")
    check("attention" not in (fresh.get_attribute("class") or "").split(), "a refund made a moment ago is not highlighted")
    c.click("back")
    wait_for(lambda: c.visible("list-view") and c.cards(), "the list again")

    settle_no = None
    if args.prefixed_url:
        # The same console under cargo lambda watch's prefix: each route to its function.
        driver.get(args.prefixed_url)
        wait_for(lambda: c.visible("list-view") and c.card(args.settle_order), "the list under the /lambda-url/ prefix")
        c.open_card(args.settle_order)
        wait_for(lambda: c.visible("settle-form") and args.settle_order in c.text("d-title"), "the settlement form")
        c.type("s-desc", "browser test settlement")
        c.click("s-submit")
        wait_for(lambda: c.js("return document.getElementById('confirm').open"), "the settlement confirmation")
        settle_no = re.search(r"Settlement number\s+(\S+)", c.text("confirm")).group(1)
        c.click("c-ok")
        wait_for(lambda: settle_no in c.notice(), "the settlement's answer")
        wait_for(lambda: settle_no in c.text("d-settlements"), "the settlement listed")
        step(f"under {args.prefixed_url}: settlement {settle_no}: {c.notice()!r}")

    # Sign out: the key is gone.
    c.click("signout")
    wait_for(lambda: c.visible("signin-view"), "the sign-in form after signing out")
    check(c.js("return sessionStorage.getItem(arguments[0])", KEY_NAME) is None, "sign-out leaves the key in sessionStorage")
    everything = c.js(
        "var out = []; for (var i = 0; i < sessionStorage.length; i++) out.push(sessionStorage.getItem(sessionStorage.key(i))); return out;"
    )
    check(not any(args.admin_key in v for v in everything), "the key is still somewhere in sessionStorage")
    c.no_persisted_key("after sign-out")
    check(not c.cards(), "sign-out clears the orders from the page")
    driver.refresh()
    wait_for(lambda: c.visible("signin-view"), "the sign-in form after a reload")
    step("signed out: no key in sessionStorage, localStorage or cookies")

    problems = [
        entry["message"] for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Uncaught" in entry["message"]
    ]
    check(not problems, f"the browser reported: {problems}")
    return {"out_order_no": args.order, "out_refund_no": refund_no, "refund_yuan": args.refund_yuan,
            "out_settle_no": settle_no, "csv_rows": len(lines) - 1}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("console_url")
    parser.add_argument("admin_key")
    parser.add_argument("--order", required=True, help="a paid order to refund")
    parser.add_argument("--late-order", required=True, help="a paid order marked late")
    parser.add_argument("--refund-yuan", required=True)
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--result", required=True, help="where the JSON result goes")
    parser.add_argument("--detail-screenshot", help="also a screenshot of the order after the refund")
    parser.add_argument("--prefixed-url", help="the console under /lambda-url/admin/")
    parser.add_argument("--settle-order", help="a paid Douyin order to settle under the prefix")
    parser.add_argument("--first-refund-unclear", action="store_true",
                        help="the platform's answer to the first refund is lost (a sandbox fault)")
    parser.add_argument("--markup-order", required=True, help="an order whose openid and sku are markup")
    parser.add_argument("--markup-text", action="append", default=[], help="text that must show as it is")
    parser.add_argument("--attention-order", required=True, help="an order with a refund in flight for days")
    parser.add_argument("--attention-refund", required=True, help="that refund's out_refund_no")
    parser.add_argument("--webhook-id", required=True, help="an UNDELIVERED webhook whose receiver takes it now")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--chromedriver", default=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    args = parser.parse_args()
    if args.prefixed_url and not args.settle_order:
        parser.error("--prefixed-url needs --settle-order")

    profile = tempfile.mkdtemp(prefix="minipay-chromium-")
    downloads = tempfile.mkdtemp(prefix="minipay-downloads-")
    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--window-size={WIDTH},{HEIGHT}", f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = None
    try:
        driver = webdriver.Chrome(service=Service(executable_path=args.chromedriver), options=options)
        result = run(args, driver, downloads)
        with open(args.result, "w", encoding="utf-8") as f:
            json.dump(result, f)
        step(f"OK {json.dumps(result)}")
        return 0
    except Failure as failure:
        print(f"console_test: FAIL: {failure}", file=sys.stderr, flush=True)
        if driver is not None:
            try:
                shot = os.path.join(tempfile.gettempdir(), f"minipay-console-failure-{os.getpid()}.png")
                driver.save_screenshot(shot)
                print(f"console_test: the page at the failure: {shot}", file=sys.stderr)
            except Exception:
                pass
        return 1
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(downloads, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
