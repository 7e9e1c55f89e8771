#!/usr/bin/python3
"""console_browser.py - the analyst console in a real browser (Debian's chromium, headless,
driven through chromedriver by python3-selenium).

    tests/browser/console_browser.py            (the local stack must be up; make test-browser)

It makes a database of its own on the local stack (deploy/local-stack.sh newdb), analyst
login roles that must log in with TLS and a password, a few alerts (one whose customer id,
rule title and note hold markup and SQL), starts bin/riskd-console on a free port and works
the queue as two analysts: filter, open an alert, claim, comment, resolve as confirmed_theft,
approve as the second analyst, then checks what the database holds and, once riskd's outbox
relay has run, what the review-queue topic holds. It also checks that a wrong password, a form
without its CSRF token, an expired session and a dashboard-only role are refused, that data
holding markup and SQL renders inert, that no page logs a console error, and keeps screenshots
of the queue, an alert page and its hourly grid under var/console-browser/ for a person to look at. Exit status
0 when every check passed; each failure prints one line.
"""
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import psycopg2
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, WebDriverException
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("RISKD_BIN", os.path.join(ROOT, "bin"))
OUT = os.path.join(ROOT, "var", "console-browser")
PASSWORD = "browser-Secret-7"
DB = "riskd_browser"
HOSTILE_CUSTOMER = "<script>alert('c')</script>';drop table risk.alerts;--"
HOSTILE_TITLE = "<img src=x onerror=alert('t')> drop'); delete from risk.alerts;--"
HOSTILE_NOTE = "<b onmouseover=alert('n')>seal</b>'; update risk.alerts set status='x';--"

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def stack_env():
    out = subprocess.run([os.path.join(ROOT, "deploy", "local-stack.sh"), "env"], check=True,
                         capture_output=True, text=True).stdout
    env = {}
    for line in out.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RUN = "browser%d" % os.getpid()
TOPICS = ("meter.readings", "billing.events", "customer.profiles", "transformer.readings",
          "risk.review-queue", "risk.credit-grades", "risk.dead-letter")


def setup_topics(env):
    for topic in TOPICS:
        subprocess.run([os.path.join(BIN, "mock-kafka"), "ctl", "--control",
                        env["RISKD_MOCK_CONTROL"], "topic-create", "%s.%s" % (RUN, topic), "1"],
                       check=True, capture_output=True)


def relay_and_read_topic(env, config):
    """Runs riskd until idle (its outbox relay publishes the analysts' changes), then returns
    the review-queue topic's messages as (alert_id, change, value) tuples."""
    from confluent_kafka import Consumer
    subprocess.run([os.path.join(BIN, "riskd"), "--config", config, "--until-idle", "2"],
                   check=True, capture_output=True, timeout=120,
                   env={k: v for k, v in os.environ.items()
                        if k not in ("RISKD_KAFKA_BROKERS", "RISKD_PG_DSN")})
    consumer = Consumer({"bootstrap.servers": env["RISKD_KAFKA_BROKERS"],
                         "group.id": RUN + "-reader", "auto.offset.reset": "earliest"})
    consumer.subscribe([RUN + ".risk.review-queue"])
    found, quiet = [], 0
    while quiet < 5:
        msg = consumer.poll(1.0)
        if msg is None:
            quiet += 1
            continue
        if msg.error():
            continue
        headers = dict((k, v.decode()) for k, v in msg.headers() or [])
        found.append((headers.get("x-alert-id"), headers.get("x-change"),
                      json.loads(msg.value())))
    consumer.close()
    return found


def setup_database(env):
    dsn = subprocess.run([os.path.join(ROOT, "deploy", "local-stack.sh"), "newdb", DB],
                         check=True, capture_output=True, text=True).stdout.strip()
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("set client_min_messages = warning")
    for role, group in (("browser_alice", "risk_analyst"), ("browser_bob", "risk_analyst"),
                        ("browser_dora", "risk_dashboard")):
        cur.execute("select 1 from pg_roles where rolname = %s", (role,))
        if not cur.fetchone():
            cur.execute(f'create role "{role}" login')
        cur.execute(f'grant {group}, stack_password_users to "{role}"')
        cur.execute(f'alter role "{role}" password %s', (PASSWORD,))
    curve = '[' + ','.join('{"day":"2026-02-%02d","kwh":%s,"baseline":9}'
                           % (d, 9 if d < 20 else 1.2) for d in range(1, 29)) + ']'
    for customer, title, score in (("B1", "Consumption dropped", 80),
                                   ("B2", "Consumption dropped", 40),
                                   (HOSTILE_CUSTOMER, HOSTILE_TITLE, 60)):
        rules = json.dumps([{"id": "drop", "title": title, "score": score, "severity": "high",
                             "evidence": {"drop_days": 9}}])
        cur.execute("select alert_id from risk.raise_alert(%s, 'theft', date '2026-02-20', %s,"
                    " 'high', %s::jsonb, 'theft', '1.0.0', 'h', %s::jsonb, 30, %s)",
                    (customer, score, rules, curve, RUN + ".risk.review-queue"))
    # B1's hourly sums: an ordinary day shape until 2026-02-17, then nights read as zero;
    # on 2026-02-21 hour 03 has no reading at all
    for day in range(-28, 6):
        kwh = [0.4 if h < 6 or h > 21 else 0.9 for h in range(24)]
        if day >= 0:
            kwh = [0 if h < 6 else v for h, v in enumerate(kwh)]
        slots = [None if day == 4 and h == 3 else int(v * 1e6) for h, v in enumerate(kwh)]
        cur.execute("insert into risk.hourly_usage (customer_id, day, uwh)"
                    " values ('B1', date '2026-02-17' + %s, %s)", (day, slots))
    return dsn, conn


def start_console(env, port, dsn):
    os.makedirs(OUT, exist_ok=True)
    config = os.path.join(OUT, "console.yaml")
    with open(config, "w") as f:
        f.write('stack_env: ""\nconsole:\n  port: %d\n  session_idle_s: 10\n'
                '  database: "host=localhost port=%s dbname=%s sslmode=verify-full '
                'sslrootcert=%s"\n' % (port, env["RISKD_PG_PORT"], DB, env["RISKD_PG_CA"]))
        f.write('kafka:\n  brokers: "%s"\n  group_id: "%s"\npostgres:\n  dsn: "%s"\n'
                'metrics:\n  port: 0\ntopics:\n' % (env["RISKD_KAFKA_BROKERS"], RUN, dsn))
        for key, topic in zip(("readings", "billing", "profiles", "transformer", "review_queue",
                               "credit_grades", "dead_letter"), TOPICS):
            f.write('  %s: "%s.%s"\n' % (key, RUN, topic))
    log = open(os.path.join(OUT, "console.log"), "w")
    proc = subprocess.Popen([os.path.join(BIN, "riskd-console"), "-c", config], stdout=log,
                            stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=1)
            return proc, config
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("console_browser: riskd-console did not start (see %s/console.log)" % OUT)


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1100",
                "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = ChromeService(executable_path="/usr/bin/chromedriver")
    return webdriver.Chrome(options=opts, service=service)


def console_errors(driver):
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def no_dialog(driver):
    try:
        driver.switch_to.alert
        return False
    except NoAlertPresentException:
        return True


def new_page_after(driver, action):
    """Runs action (a click that submits or navigates) and waits until the browser shows a new,
    fully loaded document. The old page is marked through a window property rather than watched
    through an element reference: chromium can report a replaced node as an inspector error
    instead of a stale element, and a window property needs no node at all."""
    driver.execute_script("window.__riskdOldPage = true;")
    action()

    def loaded(drv):
        try:
            return drv.execute_script(
                "return window.__riskdOldPage !== true && document.readyState === 'complete';")
        except WebDriverException:
            return False  # mid-navigation: ask again
    WebDriverWait(driver, 10).until(loaded)


def login(driver, base, user, password):
    driver.get(base + "/login")
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(password)
    form = driver.find_element(By.CSS_SELECTOR, "form")
    new_page_after(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]").click)


def message(driver):
    found = driver.find_elements(By.ID, "message")
    return found[0].text if found else ""


def submit(driver, form_id, fields=None):
    form = driver.find_element(By.ID, form_id)
    for name, value in (fields or {}).items():
        field = form.find_element(By.NAME, name)
        if field.tag_name == "select":
            Select(field).select_by_visible_text(value)
        else:
            field.send_keys(value)
    new_page_after(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]").click)


def follow(driver, element):
    """Clicks element and waits until the next page replaced this one."""
    new_page_after(driver, element.click)


def alert_url(base, alert_id):
    return base + "/alerts/" + urllib.parse.quote(alert_id, safe="")


def main():
    env = stack_env()
    setup_topics(env)
    dsn, conn = setup_database(env)
    cur = conn.cursor()
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    console, config = start_console(env, port, dsn)
    alice = bob = None
    try:
        alice = browser()
        login(alice, base, "browser_alice", "wrong")
        check("wrong user name or password" in message(alice), "a wrong password is refused")
        login(alice, base, "browser_dora", PASSWORD)
        check("not a member of risk_analyst" in message(alice),
              "a dashboard-only role is refused")
        console_errors(alice)  # the refusals' 401s are logged as failed loads: expected

        login(alice, base, "browser_alice", PASSWORD)
        check(alice.current_url.endswith("/queue"), "alice lands on the queue")
        check("open: 3" in alice.find_element(By.ID, "count-open").text, "counts per status")
        Select(alice.find_element(By.NAME, "severity")).select_by_visible_text("high")
        alice.find_element(By.NAME, "rule").send_keys("drop")
        follow(alice, alice.find_element(By.CSS_SELECTOR, "form.filters button"))
        check("3 alert(s) match" in alice.find_element(By.ID, "total").text,
              "filtering by severity and rule")
        widths = alice.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        check(widths[0] <= widths[1], "the queue does not overflow the window (%s)" % widths)
        text = alice.find_element(By.ID, "queue").text
        check(HOSTILE_CUSTOMER in text, "a customer id with markup shows as text")
        alice.save_screenshot(os.path.join(OUT, "queue.png"))

        follow(alice, alice.find_element(By.LINK_TEXT, "theft-B1-20260220"))
        check("theft-B1-20260220" in alice.find_element(By.ID, "alert-id").text,
              "the queue links to the alert")
        check(alice.find_elements(By.CSS_SELECTOR, "svg polyline"), "the curve is drawn (SVG)")
        cells = alice.find_elements(By.CSS_SELECTOR, "svg#hourly rect")
        check(len(cells) == 24 * 7, f"the hourly grid has the usual row and 6 days ({len(cells)} cells)")
        missing = alice.find_elements(By.CSS_SELECTOR, "svg#hourly rect.hnone")
        check(len(missing) == 1 and "2026-02-21 03:00: no reading" in
              missing[0].get_attribute("textContent"), "an hour without a reading is shown as such")
        firing = [t.get_attribute("textContent") for t in
                  alice.find_elements(By.CSS_SELECTOR, "svg#hourly text.firing")]
        check(firing == ["2026-02-20 \u25b2"], f"the firing day is marked ({firing})")
        if cells:
            alice.find_element(By.ID, "hourly").screenshot(os.path.join(OUT, "hourly.png"))
        night = [c.get_attribute("textContent") for c in cells
                 if c.get_attribute("textContent").startswith("2026-02-19 02:00")]
        check(night == ["2026-02-19 02:00: 0.000 kWh"], f"a zeroed night hour reads 0 kWh ({night})")
        submit(alice, "form-claim")
        check("claimed" in message(alice), "alice claims the alert")
        submit(alice, "form-comment", {"note": HOSTILE_NOTE})
        check(HOSTILE_NOTE in alice.find_element(By.ID, "history").text,
              "a comment with markup shows as text in the history")
        submit(alice, "form-resolve", {"disposition": "confirmed_theft",
                                        "note": "bypass found on site"})
        check("second analyst approves" in message(alice),
              "confirmed_theft waits for a second analyst")
        alice.save_screenshot(os.path.join(OUT, "alert.png"))

        # a form whose CSRF token was taken out is refused and changes nothing
        cur.execute("select count(*) from risk.alert_events")
        events_before = cur.fetchone()[0]
        alice.execute_script("document.querySelector('#form-comment input[name=csrf]').remove()")
        submit(alice, "form-comment", {"note": "no token"})
        check("CSRF token is missing or wrong" in alice.page_source, "a POST without CSRF is refused")
        console_errors(alice)  # the refusal's 403: expected
        cur.execute("select count(*) from risk.alert_events")
        check(cur.fetchone()[0] == events_before, "the refused POST changed nothing")

        bob = browser()
        login(bob, base, "browser_bob", PASSWORD)
        bob.get(alert_url(base, "theft-B1-20260220"))
        check(bob.find_elements(By.ID, "approval"), "bob sees the resolution awaiting approval")
        submit(bob, "form-approve")
        check("approved" in message(bob), "bob approves the confirmed theft")
        follow(bob, bob.find_element(By.LINK_TEXT, "B1"))
        check("B1" in bob.find_element(By.ID, "customer-id").text, "the alert links to the customer")
        follow(bob, bob.find_element(By.LINK_TEXT, "theft-B1-20260220"))
        check("closed" in bob.page_source, "the customer links back to the alert")

        bob.get(alert_url(base, "theft-%s-20260220" % HOSTILE_CUSTOMER))
        check(HOSTILE_CUSTOMER in bob.find_element(By.ID, "alert-id").text and
              HOSTILE_TITLE in bob.find_element(By.ID, "rules").text and no_dialog(bob),
              "customer id and rule title with markup and SQL render inert")
        submit(bob, "form-claim")
        submit(bob, "form-resolve", {"disposition": "false_positive", "note": HOSTILE_NOTE})
        check(HOSTILE_NOTE in bob.find_element(By.ID, "customer-alerts").text or
              HOSTILE_NOTE in bob.find_element(By.ID, "history").text, "a note with markup renders inert")
        check(no_dialog(bob), "no script ran from the data")

        cur.execute("select string_agg(action || ':' || actor || ':' || db_user, ' ' order by id)"
                    " from risk.alert_events where alert_id = 'theft-B1-20260220'")
        trail = cur.fetchone()[0]
        check(trail == "opened:riskd:postgres claimed:browser_alice:browser_alice "
                       "commented:browser_alice:browser_alice proposed:browser_alice:browser_alice "
                       "approved:browser_bob:browser_bob resolved:browser_alice:browser_bob",
              "the audit trail names the real roles (%s)" % trail)
        cur.execute("select a.status, a.disposition, t.confirmed from risk.alerts a"
                    " join risk.theft_confirmations t using (customer_id)"
                    " where a.alert_id = 'theft-B1-20260220'")
        check(cur.fetchone() == ("closed", "confirmed_theft", True),
              "the database holds the closed confirmed theft")
        cur.execute("select string_agg(convert_from(payload, 'UTF8')::json->>'change', ' '"
                    " order by id) from risk.outbox where msg_key = convert_to('B1', 'UTF8')")
        changes = cur.fetchone()[0]
        check(changes == "opened claimed resolved",
              "the review-queue messages wait for riskd's relay (%s)" % changes)
        cur.execute("select count(*) from risk.alerts")
        check(cur.fetchone()[0] == 3, "no SQL from the data ran")
        topic = relay_and_read_topic(env, config)
        b1 = [(change, value["status"], value["analyst"], value["disposition"])
              for alert_id, change, value in topic if alert_id == "theft-B1-20260220"]
        check(b1 == [("opened", "open", None, None),
                     ("claimed", "in_review", "browser_alice", None),
                     ("resolved", "closed", "browser_alice", "confirmed_theft")],
              "the review-queue topic holds the alert's changes (%s)" % b1)
        cur.execute("select count(*) from risk.outbox")
        check(cur.fetchone()[0] == 0, "riskd's relay emptied the outbox")

        for who, driver in (("alice", alice), ("bob", bob)):
            errors = console_errors(driver)
            check(not errors, "no console errors in %s's browser %s" % (who, errors))

        time.sleep(11)  # session_idle_s: 10
        alice.get(base + "/queue")
        check(alice.current_url.endswith("/login"), "an expired session goes back to the login")
    finally:
        for d in (alice, bob):
            if d:
                d.quit()
        console.send_signal(signal.SIGTERM)
        console.wait(10)
        conn.close()
    print("console_browser: screenshots in %s (queue.png, alert.png, hourly.png)" % OUT)
    if failures:
        print("console_browser: %d check(s) failed" % len(failures))
        return 1
    print("console_browser: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
