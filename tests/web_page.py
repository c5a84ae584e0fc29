#!/usr/bin/env python3
"""brood up's web page in a real browser: Debian's chromium, headless, driven by python3-selenium.

Starts brood up --http on a brood.toml of its own, loads http://ADDRESS/, and checks that every
instance has its row, that stop on one row asks for the token once, and that the row then turns to
"stopped" from the event stream, without a reload. Screenshots (laptop and phone sizes) are kept in
OUT_DIR as the test's artefacts.

    web_page.py BROOD OUT_DIR

Exit status 0 on success, 1 on a failure, 77 (CTest's skip) when chromium, chromedriver or selenium
is missing, unless BROOD_REQUIRE_BROWSER=1 (set by CI), where that is a failure too.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
TIMEOUT = 20  # seconds; generous for sanitizer builds on a loaded machine

CONFIG = """\
[programs.web]
command = "sleep 1000"
instances = 2

[programs.worker]
command = "sleep 1000"

[programs.cron]
command = "sleep 1000"
"""
INSTANCES = ["web.0", "web.1", "worker.0", "cron.0"]


def unavailable(why):
    if os.environ.get("BROOD_REQUIRE_BROWSER") == "1":
        print(f"the browser test is required here (BROOD_REQUIRE_BROWSER=1) but cannot run: {why}")
        return 1
    print(f"skipped: {why}")
    return SKIP


def main():
    brood, out_dir = sys.argv[1], sys.argv[2]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError as e:
        return unavailable(f"python3-selenium: {e}")
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        return unavailable("chromium and chromium-driver are needed (scripts/install-deps)")

    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="brood-web-page-") as work:
        with open(os.path.join(work, "brood.toml"), "w") as f:
            f.write(CONFIG)
        up = subprocess.Popen([brood, "up", "-c", os.path.join(work, "brood.toml"), "--http", "127.0.0.1:0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        browser = None
        try:
            address = None
            for line in up.stderr:
                match = re.search(r"http on (127\.0\.0\.1:\d+)", line)
                if match:
                    address = match.group(1)
                    break
            if not address:
                print("brood never said where it listens")
                return 1
            # brood's event lines go on being read, or its stderr pipe would fill and block it.
            lines = []
            drain = threading.Thread(target=lambda: lines.extend(up.stderr), daemon=True)
            drain.start()
            with open(os.path.join(work, ".brood", "http.token")) as f:
                token = f.read().strip()

            options = webdriver.ChromeOptions()
            options.binary_location = chromium
            for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                             "--window-size=1100,640"):
                options.add_argument(argument)
            browser = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
            wait = WebDriverWait(browser, TIMEOUT)
            browser.get(f"http://{address}/")

            # Read in one script: the page redraws a row whole on each event, so an element found
            # a moment before may be gone.
            def state_of(name):
                return browser.execute_script(
                    "const s = document.querySelector(`tr[data-name=\"${arguments[0]}\"] .state`);"
                    "return s ? s.textContent : null;", name)

            # Every instance has its row, each ready once its start is through.
            for name in INSTANCES:
                wait.until(lambda b, n=name: state_of(n) == "ready")
            wait.until(lambda b: b.find_element(By.ID, "link").text == "live")
            browser.execute_script("window.loadedOnce = true")  # gone if the page were reloaded

            # stop on worker.0: the token is asked for once, then the row turns to stopped.
            browser.find_element(By.CSS_SELECTOR, 'tr[data-name="worker.0"] button[data-verb="stop"]').click()
            wait.until(expected_conditions.visibility_of_element_located((By.ID, "token")))
            browser.find_element(By.ID, "token").send_keys(token)
            browser.find_element(By.ID, "token-save").click()
            wait.until(lambda b: state_of("worker.0") == "stopped")
            if not browser.execute_script("return window.loadedOnce === true"):
                print("the page was reloaded")
                return 1
            if browser.execute_script("return sessionStorage.getItem('brood-token')") != token:
                print("the token was not kept in sessionStorage")
                return 1
            # The others ran on, and the event list shows the stop.
            for name in ("web.0", "web.1", "cron.0"):
                if state_of(name) != "ready":
                    print(f"{name} is {state_of(name)}, not ready")
                    return 1
            wait.until(lambda b: "worker.0 stopping → stopped" in b.find_element(By.ID, "events").text)

            # start again, with the kept token: no question this time.
            browser.find_element(By.CSS_SELECTOR, 'tr[data-name="worker.0"] button[data-verb="start"]').click()
            wait.until(lambda b: state_of("worker.0") == "ready")
            if browser.find_element(By.ID, "token").is_displayed():
                print("the token was asked for a second time")
                return 1
            browser.find_element(By.CSS_SELECTOR, 'tr[data-name="cron.0"] button[data-verb="stop"]').click()
            wait.until(lambda b: state_of("cron.0") == "stopped")
            time.sleep(0.5)  # the status refresh that follows events, so the numbers are settled
            browser.save_screenshot(os.path.join(out_dir, "web-page.png"))

            # A phone: rows become cards, every button still there and on screen.
            browser.set_window_size(390, 844)
            wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "thead").is_displayed() is False)
            button = browser.find_element(By.CSS_SELECTOR, 'tr[data-name="web.1"] button[data-verb="restart"]')
            if not button.is_displayed() or button.rect["x"] + button.rect["width"] > 390:
                print(f"on a phone, restart of web.1 is off screen: {button.rect}")
                return 1
            browser.save_screenshot(os.path.join(out_dir, "web-page-phone.png"))
            print(f"ok: {len(INSTANCES)} rows, stop and start from the page; screenshots in {out_dir}")
            return 0
        finally:
            if browser is not None:
                browser.quit()
            up.send_signal(signal.SIGTERM)
            try:
                up.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                up.kill()
                up.wait()
                print("brood did not exit after SIGTERM")


if __name__ == "__main__":
    sys.exit(main())
