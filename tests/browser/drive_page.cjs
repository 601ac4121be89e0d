"use strict";
// Drive the demo page in headless Chromium with playwright-core; print a JSON report.
//
// Usage: node drive_page.cjs URL SCREENSHOT_PREFIX [FLAVOUR]
//   (NODE_PATH must hold playwright-core; CHROMIUM names the browser executable.)
//
// FLAVOUR is the page: "demo" (python -m socketio_proto demo), or "flask"
// (examples/flask_app): its log reads "Received #N: ..." and it answers join and
// leave with a "Received #N: In rooms: ..." message rather than an ack.
// Two tabs (A and B) open URL and use the page's forms; every step waits for a
// condition (a log line, a text), never for a fixed time.  The report holds, per
// tab, the log lines, the sequence of values shown in #transport, the latency and
// socket id shown, console errors and page errors, plus the screenshots taken and
// the first failure ("error", with the step it happened in).  The Python test
// (test_demo_page.py) makes the assertions; this script only fails a step when a
// wait times out.  It always exits 0 after printing the report, unless it crashes.

const path = require("path");
const { chromium } = require("playwright-core");

const [url, shotPrefix, flavour = "demo"] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const WAIT_MS = 10000;

// The log lines that show the join and the leave, as regexps over normalised lines.
const ROOM_LINES = {
  demo: { joined: "^Joined r1$", left: "^Left r1$" },
  flask: { joined: "^Received: In rooms: .*\\br1\\b", left: "^Received: In rooms: (?!.*\\br1\\b)" },
}[flavour];
if (!ROOM_LINES) throw new Error(`unknown page flavour ${flavour}`);

// Installed before the page's own scripts: record every value #transport shows.
function recordTransports() {
  window.__transports = [];
  const seen = () => {
    const element = document.getElementById("transport");
    if (!element) return;
    const text = element.textContent;
    const list = window.__transports;
    if (list.length === 0 || list[list.length - 1] !== text) list.push(text);
  };
  new MutationObserver(seen).observe(document, {
    subtree: true,
    childList: true,
    characterData: true,
  });
}

const report = { url, flavour, executable: executablePath, steps: [], screenshots: [], tabs: {} };
let step = "launch";

async function main() {
  const browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--headless=new"],
    timeout: 30000,
  });
  report.browser_version = browser.version();
  const tabs = {};
  try {
    const context = await browser.newContext({ viewport: { width: 900, height: 760 } });
    context.setDefaultTimeout(WAIT_MS);
    await context.addInitScript(recordTransports);

    const open = async (name) => {
      const page = await context.newPage();
      const tab = { page, console_errors: [], page_errors: [] };
      page.on("console", (msg) => {
        if (msg.type() === "error") {
          tab.console_errors.push({ text: msg.text(), url: msg.location().url || "" });
        }
      });
      page.on("pageerror", (err) => tab.page_errors.push(String(err)));
      tabs[name] = tab;
      await page.goto(url);
      return page;
    };
    // Only the front tab of the headless window renders frames, and Playwright's
    // actionability checks and waits poll on animation frames: a click in a
    // background tab takes seconds.  So every action brings its tab to the front.
    let front = null;
    const toFront = async (page) => {
      if (front !== page) await page.bringToFront();
      front = page;
    };
    const waitFor = async (page, predicate, arg) => {
      await toFront(page);
      await page.waitForFunction(predicate, arg);
    };
    // Wait until a log line matches `pattern` (a regexp source) once normalised:
    // "Received #3: x" (the Flask page's message count) reads "Received: x".
    const matching = (page, pattern) =>
      waitFor(
        page,
        (source) =>
          [...document.querySelectorAll("#log > div")].some((el) =>
            new RegExp(source).test(el.textContent.replace(/^Received #\d+: /, "Received: ")),
          ),
        pattern,
      );
    const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    // Wait until the log holds the line `text` (normalised).
    const logged = (page, text) => matching(page, `^${escape(text)}$`);
    const submit = async (page, form, fields) => {
      await toFront(page);
      for (const [id, value] of Object.entries(fields)) await page.fill(`#${id}`, value);
      await page.click(`#${form} input[type=submit]`);
    };
    const run = async (name, body) => {
      step = name;
      const started = Date.now();
      await body();
      report.steps.push({ name, ms: Date.now() - started });
    };

    let a;
    let b;
    await run("open tabs", async () => {
      a = await open("A");
      b = await open("B");
    });
    await run("connected", async () => {
      await logged(a, "Received: Connected");
      await logged(b, "Received: Connected");
    });
    await run("upgraded to websocket", async () => {
      for (const page of [a, b]) {
        await waitFor(page, () => document.getElementById("transport").textContent === "websocket");
      }
    });
    await run("latency shown", async () => {
      for (const page of [a, b]) {
        await waitFor(page, () => /^\d+$/.test(document.getElementById("latency").textContent));
      }
    });
    await run("A echoes", async () => {
      await submit(a, "emit", { emit_data: "hello" });
      await logged(a, "Received: hello");
    });
    await run("B broadcasts", async () => {
      await submit(b, "broadcast", { broadcast_data: "hi everyone" });
      await logged(b, "Received: hi everyone");
      await logged(a, "Received: hi everyone");
    });
    await run("A joins r1", async () => {
      await submit(a, "join", { join_room: "r1" });
      await matching(a, ROOM_LINES.joined);
    });
    await run("B sends to r1", async () => {
      await submit(b, "send_room", { room_name: "r1", room_data: "to the room" });
      await logged(a, "Received: to the room");
      // Sentinel: had the room message reached B, it would precede this echo.
      await submit(b, "emit", { emit_data: "B is not in r1" });
      await logged(b, "Received: B is not in r1");
    });
    await run("A leaves r1", async () => {
      await submit(a, "leave", { leave_room: "r1" });
      await matching(a, ROOM_LINES.left);
    });
    await run("B sends to r1 again", async () => {
      await submit(b, "send_room", { room_name: "r1", room_data: "after A left" });
      // Once B's echo is back the server has handled the room event; a room message
      // for A would then precede A's own echo.
      await submit(b, "emit", { emit_data: "B sent after A left" });
      await logged(b, "Received: B sent after A left");
      await submit(a, "emit", { emit_data: "A is not in r1" });
      await logged(a, "Received: A is not in r1");
    });
    await run("A disconnects", async () => {
      await submit(a, "disconnect", {});
      await logged(a, "Disconnected: io server disconnect");
    });
    await run("B still works", async () => {
      await submit(b, "emit", { emit_data: "B still here" });
      await logged(b, "Received: B still here");
    });
    await run("final state", async () => {
      for (const [name, tab] of Object.entries(tabs)) report.tabs[name] = await snapshot(tab.page);
    });
  } catch (err) {
    report.error = { step, message: String((err && err.stack) || err) };
  } finally {
    for (const [name, tab] of Object.entries(tabs)) {
      const page = tab.page;
      try {
        if (!report.tabs[name]) report.tabs[name] = await snapshot(page);
        await page.bringToFront();
        const file = `${shotPrefix}-tab-${name.toLowerCase()}.png`;
        await page.screenshot({ path: file, fullPage: true });
        report.screenshots.push(path.resolve(file));
      } catch (err) {
        report.tabs[name] = report.tabs[name] || {};
        report.tabs[name].capture_error = String(err);
      }
      report.tabs[name].console_errors = tab.console_errors;
      report.tabs[name].page_errors = tab.page_errors;
    }
    await browser.close();
  }
}

main()
  .catch((err) => {
    report.error = { step, message: String((err && err.stack) || err) };
  })
  .finally(() => {
    process.stdout.write(JSON.stringify(report) + "\n");
  });

// What a tab shows: its log lines, the #transport values seen, latency and socket id.
async function snapshot(page) {
  return {
    log: await page.$$eval("#log > div", (els) => els.map((el) => el.textContent)),
    transports: await page.evaluate(() => window.__transports),
    latency: await page.textContent("#latency"),
    // The Flask page does not show the socket id.
    sid: await page.evaluate(() => document.getElementById("sid")?.textContent ?? null),
  };
}
