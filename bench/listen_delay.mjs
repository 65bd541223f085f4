// The room-to-ear delay in Debian's chromium (playwright-core): see
// bench/listen_delay.sh. The switch's instant is taken here, just before
// the command goes down the control socket; the page finds the tone's
// onset with a WebAudio analyser (256 samples, looked at every 2 ms) and
// stamps it on the same clock (performance.timeOrigin + now()).
import { createRequire } from "node:module";
import { appendFileSync } from "node:fs";
import net from "node:net";
const require = createRequire(new URL("../test/web/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const { BASE_URL, LISTENER, SOCK, ICECAST, OUT } = process.env;
const TRIALS = Number(process.env.TRIALS || 10), STEADY = Number(process.env.STEADY || 60);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One command down the control socket; resolves with the time it was sent.
function command(line) {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(SOCK);
    let t0 = 0;
    s.on("connect", () => { t0 = performance.timeOrigin + performance.now(); s.write(line + "\n"); });
    s.on("data", (d) => { if (String(d).includes("\n")) { s.end(); resolve(t0); } });
    s.on("error", reject);
  });
}

// In a page: watch a MediaStream or a media element; L.level() the last
// 256 samples' RMS in dBFS, L.onset the first time (ms, epoch) the level
// passed -30 dBFS since L.arm().
const watch = (kind) => {
  const ac = new AudioContext();
  const an = ac.createAnalyser();
  an.fftSize = 256;
  const W = window.watch = { ac, an, onset: 0, armed: false, low: 0, lowRun: 0, dropouts: 0, counting: false };
  W.connect = (node) => node.connect(an);
  const buf = new Float32Array(an.fftSize);
  W.level = () => { an.getFloatTimeDomainData(buf); let s = 0; for (const x of buf) s += x * x; return 10 * Math.log10(s / buf.length + 1e-12); };
  W.arm = () => { W.onset = 0; W.armed = true; };
  setInterval(() => {
    const db = W.level(), t = performance.timeOrigin + performance.now();
    if (W.armed && db > -30) { W.onset = t; W.armed = false; }
    if (W.counting) {
      if (db < -40) { if (!W.lowRun) W.dropouts++; W.lowRun++; } else W.lowRun = 0;
    }
  }, 2);
};

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"] });
const results = { janus: [], icecast: [] };
try {
  const ctx = await browser.newContext();
  // Janus: the listener page, French.
  const jp = await ctx.newPage();
  await jp.goto(`${BASE_URL}/listen?token=${LISTENER}`);
  await jp.waitForSelector('li[data-code="fr"] button');
  await jp.click('li[data-code="fr"] button');
  await jp.waitForFunction(() => window.tolkListen.playing && window.tolkListen.stream, null, { timeout: 20000 });
  await jp.evaluate(watch);
  await jp.evaluate(() => window.watch.connect(window.watch.ac.createMediaStreamSource(window.tolkListen.stream)));
  // Icecast: an <audio> element on the Ogg stream, in a page of Tolk's (its CORS lets the analyser read it).
  const ip = await ctx.newPage();
  await ip.goto(`${BASE_URL}/listen`);
  await ip.evaluate(watch);
  await ip.evaluate((src) => {
    const a = new Audio();
    a.crossOrigin = "anonymous";
    a.src = src;
    a.play();
    window.watch.connect(window.watch.ac.createMediaElementSource(a));
    window.icecastAudio = a;
  }, ICECAST);
  await ip.waitForFunction(() => window.icecastAudio.currentTime > 1, null, { timeout: 30000 });

  const quiet = async (page, ms, limit) => { // until the page has heard silence for ms
    for (let since = 0, t0 = Date.now(); Date.now() - t0 < limit; await sleep(20)) {
      if (await page.evaluate(() => window.watch.level()) < -45) { if (!since) since = Date.now(); if (Date.now() - since >= ms) return true; }
      else since = 0;
    }
    return false;
  };
  for (let i = 0; i < TRIALS; i++) {
    await command("mic fr 1 off");
    await quiet(jp, 500, 10000);
    await quiet(ip, 500, 30000);
    await jp.evaluate(() => window.watch.arm());
    await ip.evaluate(() => window.watch.arm());
    const t0 = await command("mic fr 1 on");
    for (const [name, page, limit] of [["janus", jp, 5000], ["icecast", ip, 30000]]) {
      const h = await page.waitForFunction(() => window.watch.onset, null, { timeout: limit, polling: 5 }).then((x) => x.jsonValue(), () => 0);
      results[name].push(h ? h - t0 : null);
    }
    process.stdout.write(`  trial ${i + 1}: Janus ${results.janus[i] === null ? "none" : results.janus[i].toFixed(0) + " ms"}, Icecast ${results.icecast[i] === null ? "none" : results.icecast[i].toFixed(0) + " ms"}\n`);
  }
  // The tone steady through Janus: a dropout is a fall below -40 dBFS.
  await command("mic fr 1 on");
  await sleep(500);
  const stats0 = await jp.evaluate(async () => { const r = await window.tolkListen.handle.webrtcStuff.pc.getStats(); let x = {}; r.forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "audio") x = { lost: s.packetsLost, concealed: s.concealedSamples, received: s.packetsReceived }; }); return x; });
  await jp.evaluate(() => { window.watch.dropouts = 0; window.watch.lowRun = 0; window.watch.counting = true; });
  await sleep(STEADY * 1000);
  const dropouts = await jp.evaluate(() => { window.watch.counting = false; return window.watch.dropouts; });
  const stats1 = await jp.evaluate(async () => { const r = await window.tolkListen.handle.webrtcStuff.pc.getStats(); let x = {}; r.forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "audio") x = { lost: s.packetsLost, concealed: s.concealedSamples, received: s.packetsReceived }; }); return x; });
  const stat = (name) => {
    const v = results[name].filter((x) => x !== null).sort((a, b) => a - b);
    return { median: v.length ? v[Math.floor(v.length / 2)] : null, worst: v.length ? v[v.length - 1] : null, heard: v.length };
  };
  const j = stat("janus"), ic = stat("icecast");
  const f = (x) => (x === null ? "none" : x.toFixed(0) + " ms");
  console.log(`  Janus (RTP, WebRTC):      median ${f(j.median)}, worst ${f(j.worst)} of ${TRIALS} (${j.heard} heard)`);
  console.log(`  Icecast (Ogg, <audio>, burst-size ${process.env.BURST}): median ${f(ic.median)}, worst ${f(ic.worst)} of ${TRIALS} (${ic.heard} heard)`);
  if (j.median && ic.median) console.log(`  Icecast / Janus: ${(ic.median / j.median).toFixed(1)}x the delay`);
  console.log(`  ${STEADY} s of the tone through Janus: ${dropouts} dropout(s); WebRTC: ${(stats1.received ?? 0) - (stats0.received ?? 0)} packets, ` +
    `${(stats1.lost ?? 0) - (stats0.lost ?? 0)} lost, ${(stats1.concealed ?? 0) - (stats0.concealed ?? 0)} samples concealed`);
  const met = j.heard === TRIALS && j.worst <= 150 && dropouts === 0;
  console.log(`   target room to ear through Janus <= 150 ms, no dropout over ${STEADY} s: ${met ? "met" : "MISSED"} (median ${f(j.median)}, worst ${f(j.worst)}, ${dropouts} dropouts)`);
  appendFileSync(OUT, JSON.stringify({ path: "janus-webrtc", trials_ms: results.janus, median_ms: j.median, worst_ms: j.worst,
    steady_seconds: STEADY, dropouts, packets_lost: (stats1.lost ?? 0) - (stats0.lost ?? 0),
    concealed_samples: (stats1.concealed ?? 0) - (stats0.concealed ?? 0), target_met: met }) + "\n");
  appendFileSync(OUT, JSON.stringify({ path: "icecast-ogg", burst_size: Number(process.env.BURST), trials_ms: results.icecast, median_ms: ic.median, worst_ms: ic.worst }) + "\n");
} finally {
  await browser.close();
}
