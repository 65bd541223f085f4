// The listener's page (/listen) in Debian's chromium (playwright-core),
// as a phone, against a real engine and a real Janus that
// test/integration/listen_test.sh started. A WebAudio analyser on the
// stream the page plays says which tone it hears. Prints cmocka-style
// lines and exits 1 on any failure.
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";

const { BASE_URL, LISTENER, TECHNICIAN, SOCK, B, RESTART } = process.env;
let passed = 0, failed = 0;
const check = (name, ok, detail = "") => {
  if (ok) { console.log(`[       OK ] ${name}`); passed++; }
  else { console.log(`[  FAILED  ] ${name}: ${detail}`); failed++; }
};
const ctl = (...args) => execFileSync(`${B}/tolkctl`, ["--control", SOCK, ...args], { encoding: "utf8" });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// In the page: the strongest of 440 and 600 Hz in what it plays, or "silence".
const hearing = () => window.tolkListen && window.tolkListen.heard ? window.tolkListen.heard() : "nothing";
const attachAnalyser = () => {
  const L = window.tolkListen;
  L.heard = () => {
    if (!L.stream) return "nothing";
    if (L.analysed !== L.stream) {
      L.ac = L.ac || new AudioContext();
      L.an = L.ac.createAnalyser();
      L.an.fftSize = 8192;
      L.ac.createMediaStreamSource(L.stream).connect(L.an);
      L.analysed = L.stream;
    }
    const d = new Float32Array(L.an.frequencyBinCount);
    L.an.getFloatFrequencyData(d);
    const at = (f) => d[Math.round(f * L.an.fftSize / L.ac.sampleRate)];
    const a = at(440), b = at(600);
    if (Math.max(a, b) < -70) return "silence";
    return a > b ? "440" : "600";
  };
};
async function hears(page, want, ms) {
  let got = "";
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(100)) {
    got = await page.evaluate(hearing);
    if (got === want) {
      await sleep(300); // and still, a moment later
      got = await page.evaluate(hearing);
      if (got === want) return [true, got];
    }
  }
  return [false, got];
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"] });
try {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
    deviceScaleFactor: 2, userAgent: "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36" });
  const page = await phone.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const outside = [];
  page.on("request", (r) => { const u = new URL(r.url()); if (u.port !== new URL(BASE_URL).port && !u.pathname.startsWith("/janus")) outside.push(r.url()); });
  await page.goto(`${BASE_URL}/listen?token=${LISTENER}`);
  check("?token= becomes a cookie and leaves the address", page.url() === `${BASE_URL}/listen`, page.url());
  await page.waitForSelector('li[data-code="fr"] button', { timeout: 5000 });
  const names = await page.$$eval("#channels .name", (n) => n.map((x) => x.textContent));
  check("the languages are listed by name", names.join(",") === "Floor,English,Français", names.join(","));
  const size = await page.$eval('li[data-code="fr"] button', (b) => [b.offsetWidth, b.offsetHeight]);
  check("a language is a big target on a phone (at least 64 px high, the width of the screen)",
    size[1] >= 64 && size[0] >= 340, size.join("x"));
  const frState = await page.$eval('li[data-code="fr"] .state', (s) => s.textContent);
  check("French says its interpreter is live", frState === "Interpreter live", frState);
  const enState = await page.$eval('li[data-code="en"] .state', (s) => s.textContent);
  check("English, with no interpreter, says it carries the floor", enState.includes("you hear the floor"), enState);

  await page.tap('li[data-code="fr"] button');
  await page.evaluate(attachAnalyser);
  let [ok, got] = await hears(page, "600", 15000);
  check("picking French plays fr/1's tone through Janus (WebRTC)", ok, got);
  check("the button shows what plays", await page.$eval('li[data-code="fr"] button', (b) => b.getAttribute("aria-pressed")) === "true");

  ctl("mic", "fr", "1", "off");
  [ok, got] = await hears(page, "440", 5000);
  check("fr/1's mic off: French now carries the floor, and the page hears it", ok, got);
  await page.waitForFunction(() => document.querySelector('li[data-code="fr"] .state').textContent.includes("floor"), null, { timeout: 8000 })
    .then(() => check("and the page says French is on the floor", true), () => check("and the page says French is on the floor", false,
      "still: " + "live"));
  ctl("mic", "fr", "1", "on");
  [ok, got] = await hears(page, "600", 5000);
  check("fr/1's mic on again: the interpreter again", ok, got);

  // Janus restarted under the page: it finds its way back by itself.
  const connects = () => page.evaluate(() => window.tolkListen.connects);
  const before = await connects();
  execFileSync(RESTART);
  const t0 = Date.now();
  const back = await page.waitForFunction((n) => window.tolkListen.connects > n, before, { timeout: 30000 }).then(() => true, () => false);
  [ok, got] = await hears(page, "600", 10000);
  check("janus restarted: the page connects anew and plays French again without a tap", back && ok,
    `${got}, connects ${before} -> ${await connects()}, status ${await page.$eval("#status", (s) => s.textContent)}`);
  console.log(`note: playing again ${((Date.now() - t0) / 1000).toFixed(1)} s after janus was restarted`);

  // The network gone for a few seconds (Wi-Fi dropping), then back.
  await phone.setOffline(true);
  await sleep(4000);
  await phone.setOffline(false);
  const offlineBefore = await connects();
  [ok, got] = await hears(page, "600", 30000);
  check("the network dropped and came back: the page plays again without a tap", ok, got);
  console.log(`note: after the network drop the page ${await connects() > offlineBefore ? "connected anew" : "kept its connection"}`);

  // The phone locked and unlocked: the page checks the stream when it is shown again.
  await page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    document.dispatchEvent(new Event("visibilitychange"));
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  [ok, got] = await hears(page, "600", 10000);
  check("hidden and shown again (a locked phone): still playing", ok, got);

  check("no script errors on the page", errors.length === 0, errors.join(" | "));

  // The control room sees the phones' streams.
  const room = await (await browser.newContext()).newPage();
  await room.goto(`${BASE_URL}/?token=${TECHNICIAN}`);
  const shown = await room.waitForFunction(() => !document.querySelector("#rtp-panel").hidden &&
    /SENDING/.test(document.querySelector("#rtp").textContent), null, { timeout: 5000 }).then(() => true, () => false);
  const text = await room.$eval("#rtp", (b) => b.textContent).catch(() => "");
  check("the control room's page shows the RTP destination sending, and the delay", shown &&
    /127\.0\.0\.1:\d+, 3 channel\(s\), \d+ packets/.test(text) && /median \d+\.\d ms/.test(text), text);
  check("nothing loaded from anywhere but Tolk and the gateway", outside.length === 0, outside.join(" "));
} finally {
  await browser.close();
}
console.log(failed ? `[  FAILED  ] ${failed} test(s)` : `[  PASSED  ] ${passed} test(s).`);
process.exit(failed ? 1 : 0);
