"""The traders' and auditors' pages in headless Chromium (scripts/browser.sh runs this against a
stack of its own, sign-in on, quote lifetime 5 s).

Checks, each through the page as a person would use it:
  - sign up; a bad amount shows the server's error and changes nothing; add funds;
  - quote, buy and commit: the cash and holdings change;
  - an order left alone disappears when its 60 s run out, and its reserve comes back;
  - a trigger set on the page fires when the price falls, and the page shows it without a reload;
    so does a change made by another client;
  - a trader cannot act for another user (the API refuses, the page offers no way);
  - an auditor looks up the trader, dumps the trader's log and reconciles the trader's money
    with the log; only a supervisor dumps and reconciles everything.
Screenshots of the sign-in, trader, auditor and supervisor pages go to --screenshots.
"""
import argparse
import json
import os
import secrets
import socket
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

parser = argparse.ArgumentParser()
parser.add_argument("--url", required=True)
parser.add_argument("--quote-port", type=int, required=True)
parser.add_argument("--staff-password", required=True)
parser.add_argument("--screenshots", required=True)
parser.add_argument("--downloads", required=True, help="where the page's DUMPLOG downloads go")
args = parser.parse_args()

PASSWORD = "page-test-" + secrets.token_hex(6)
TRADER = "t" + secrets.token_hex(4)
checks = []


def check(name, condition, detail=""):
    checks.append((name, bool(condition)))
    print(("ok    " if condition else "FAILED") + " " + name + ("" if condition else f": {detail}"), flush=True)
    if not condition:
        raise SystemExit(1)


def set_price(symbol, price):
    """Fixes a stock's price at the quote emulator (its control line)."""
    with socket.create_connection(("127.0.0.1", args.quote_port), timeout=5) as s:
        s.sendall(f"!SET {symbol} {price}\n".encode())
        reply = s.makefile().readline().strip()
    check(f"the emulator's {symbol} is {price}", reply == "OK", reply)


def service_post(path, body):
    """A command from another client: the workload generator's token."""
    request = urllib.request.Request(
        args.url + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + os.environ["API_SERVICE_TOKEN"]})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"]:
    options.add_argument(flag)
downloads = args.downloads
os.makedirs(downloads, exist_ok=True)
options.add_experimental_option("prefs", {"download.default_directory": os.path.abspath(downloads), "download.prompt_for_download": False})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def el(selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def text(selector):
    return el(selector).text.strip()


def until(name, condition, timeout=30):
    try:
        # The page re-renders whenever the account changes (live updates): an element read just
        # as it is replaced is read again at the next poll.
        WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException]).until(lambda _: condition())
        check(name, True)
    except Exception as error:
        check(name, False, f"{type(error).__name__}; page: {driver.find_element(By.TAG_NAME, 'main').text[:600]}")


def fill(form, **fields):
    for name, value in fields.items():
        field = el(f"#{form} [name={name}]")
        field.clear()
        field.send_keys(value)


def click(selector):
    # A button the page replaced just then (it re-renders when the account changes) is found again.
    for attempt in range(5):
        try:
            el(selector).click()
            return
        except StaleElementReferenceException:
            time.sleep(0.2)
    el(selector).click()


def holding(symbol):
    for tr in driver.find_elements(By.CSS_SELECTOR, "#holdings tbody tr"):
        cells = [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
        if cells and cells[0] == symbol:
            return cells[1]
    return None


def sign_in(name, password, signup=False):
    fill("signin-form", name=name, password=password)
    click("#signup" if signup else "#signin-form button:not([type])")
    until(f"{name} is signed in", lambda: name in text("#who") and not el("#signin").is_displayed())


def sign_out():
    click("#signout")
    until("signed out", lambda: el("#signin").is_displayed() and not el("#trader").is_displayed() and not el("#auditor").is_displayed())


try:
    driver.get(args.url + "/")
    until("the sign-in page", lambda: el("#signin").is_displayed())
    driver.save_screenshot(os.path.join(args.screenshots, "sign-in.png"))

    # A wrong password shows the server's message.
    fill("signin-form", name=TRADER, password="not the password")
    click("#signin-form button:not([type])")
    until("a failed sign-in shows why", lambda: "wrong name or password" in text("#signin-form .error"))

    sign_in(TRADER, PASSWORD, signup=True)
    until("the trader's page", lambda: el("#trader").is_displayed() and not el("#auditor").is_displayed())
    until("live updates connected", lambda: text("#live") == "live")
    until("a new account holds nothing", lambda: text("#cash") == "0.00")
    driver.execute_script("window.notReloaded = true")

    # A bad amount: the server's error, nothing changed.
    fill("add-form", amount="-5")
    click("#add-form button")
    until("a bad amount shows the server's error", lambda: "amount" in text('.error[data-for="add-form"]').lower())
    check("and changes nothing", text("#cash") == "0.00", text("#cash"))

    fill("add-form", amount="1000.00")
    click("#add-form button")
    until("funds added", lambda: text("#cash") == "1000.00")
    check("the error is gone", text('.error[data-for="add-form"]') == "")

    set_price("ABC", "10.00")
    fill("quote-form", symbol="ABC")
    click("#quote-form button")
    until("a quote with its price and lifetime", lambda: "ABC: 10.00" in text("#quote") and "good for" in text("#quote"))

    fill("order-form", symbol="ABC", amount="100.00")
    click('#order-form button[value="buy"]')
    until("a pending buy with its countdown", lambda: len(driver.find_elements(By.CSS_SELECTOR, "#pending li")) == 1
          and "s left" in text("#pending li .countdown"))
    until("its cash is reserved", lambda: text("#reserved-cash") == "100.00")
    click("#pending li .commit-buy")
    until("bought: cash and holdings change", lambda: text("#cash") == "900.00" and holding("ABC") == "10" and text("#reserved-cash") == "0.00")
    check("the order is gone", not driver.find_elements(By.CSS_SELECTOR, "#pending li"))

    # An order left alone (it expires at the end of this part), while a buy trigger below the
    # price is set on the page and waits; the price falls and it fires, and the page shows it
    # with no reload.
    fill("order-form", symbol="ABC", amount="50.00")
    click('#order-form button[value="buy"]')
    until("another pending buy", lambda: len(driver.find_elements(By.CSS_SELECTOR, "#pending li")) == 1 and text("#cash") == "850.00")
    el("#trigger-form [name=side]").send_keys("Buy")
    fill("trigger-form", symbol="ABC", amount="100.00")
    click('#trigger-form button[value="amount"]')
    until("a trigger's amount is set", lambda: "needs a trigger price" in text("#triggers tbody") and text("#cash") == "750.00")
    fill("trigger-form", price="5.00")
    click('#trigger-form button[value="trigger"]')
    until("the trigger waits for the price", lambda: "waiting for the price" in text("#triggers tbody"))
    driver.save_screenshot(os.path.join(args.screenshots, "trader.png"))
    set_price("ABC", "4.00")
    until("the trigger fires and the page shows it", lambda: holding("ABC") == "35" and text("#triggers tbody") == "", timeout=60)
    check("25 shares at 4.00 from the 100.00 reserved", text("#cash") == "750.00" and text("#reserved-cash") == "50.00", text("#cash"))

    # Another client changes the account: the page shows it.
    status, _ = service_post("/api/add", {"user": TRADER, "amount": "0.50"})
    check("another client adds funds", status == 200, status)
    until("the page shows another client's change", lambda: text("#cash") == "750.50")

    until("an expired order disappears, its reserve back", lambda: not driver.find_elements(By.CSS_SELECTOR, "#pending li")
          and text("#reserved-cash") == "0.00" and text("#cash") == "800.50", timeout=90)
    check("all without a reload", driver.execute_script("return window.notReloaded === true"))

    # Not for anyone else: the API refuses (the page itself only ever names its own user).
    reply = driver.execute_script("""
        const r = await fetch('/api/add', {method: 'POST', credentials: 'same-origin', headers: {'Content-Type': 'application/json'},
                                           body: JSON.stringify({user: 'someone_else', amount: '1.00'})});
        return [r.status, await r.text()];""")
    check("a trader cannot act for another user", reply[0] == 403 and "forbidden" in reply[1], reply)
    reply = driver.execute_script("""
        const r = await fetch('/api/display-summary', {method: 'POST', credentials: 'same-origin', headers: {'Content-Type': 'application/json'},
                                                       body: JSON.stringify({user: 'someone_else'})});
        return r.status;""")
    check("nor see another user", reply == 403, reply)
    reply = driver.execute_script("""
        const r = await fetch('/api/dumplog', {method: 'POST', credentials: 'same-origin', headers: {'Content-Type': 'application/json'},
                                               body: JSON.stringify({filename: 'all.xml'})});
        return r.status;""")
    check("nor dump the whole log", reply == 403, reply)
    reply = driver.execute_script("""
        const r = await fetch('/api/reconciliation?user=someone_else', {credentials: 'same-origin'});
        return r.status;""")
    check("nor reconcile another user", reply == 403, reply)
    check("the trader has no auditor's controls", not el("#auditor").is_displayed())
    driver.save_screenshot(os.path.join(args.screenshots, "trader-after-trigger.png"))
    sign_out()

    # The auditor: anyone's summary and log, not the whole log.
    sign_in("page_auditor", args.staff_password)
    until("the auditor's page", lambda: el("#auditor").is_displayed() and not el("#trader").is_displayed())
    check("no whole-log dump for an auditor", not el("#supervisor-only").is_displayed())
    fill("lookup-form", user=TRADER)
    click("#lookup-form button:not([type])")
    until("the auditor reads the trader's summary", lambda: text("#lookup-cash") == "800.50" and text("#lookup-user") == TRADER
          and "ABC 35 0" in text("#lookup-holdings tbody") and "buy trigger fill" in text("#lookup-history tbody"))
    click("#user-dump")
    until("the auditor dumps the trader's log, with its count", lambda: text("#dump-result").startswith(f"{TRADER}.xml:") and "events" in text("#dump-result"))
    count = int(text("#dump-result").split(":")[1].split()[0])
    check("the trader's log has the trader's events", count >= 10, count)
    click("#user-reconcile")
    until("the auditor reconciles the trader: the money and the log agree",
          lambda: text("#reconciliation-verdict").startswith(f"{TRADER}: the money and the log agree"))
    driver.save_screenshot(os.path.join(args.screenshots, "auditor.png"))
    add = driver.execute_script("""
        const r = await fetch('/api/add', {method: 'POST', credentials: 'same-origin', headers: {'Content-Type': 'application/json'},
                                           body: JSON.stringify({user: arguments[0], amount: '1.00'})});
        return r.status;""", TRADER)
    check("an auditor changes nothing", add == 403, add)
    sign_out()

    sign_in("page_supervisor", args.staff_password)
    until("the supervisor may dump everything", lambda: el("#supervisor-only").is_displayed())
    check("nothing the auditor saw is left on the page", not el("#lookup").is_displayed() and text("#dump-result") == ""
          and el("#lookup-form [name=user]").get_attribute("value") == "")
    click("#whole-dump")
    until("the whole log, with its count", lambda: text("#dump-result").startswith("log.xml:"))
    click("#whole-reconcile")
    until("the supervisor reconciles everyone", lambda: text("#reconciliation-verdict").startswith("everyone: the money and the log agree"))
    driver.save_screenshot(os.path.join(args.screenshots, "supervisor.png"))
finally:
    driver.quit()

print(f"{len(checks)} checks passed")
