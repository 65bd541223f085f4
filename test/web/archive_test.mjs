// The Archive view in Debian's chromium (playwright-core), against a real
// engine that test/integration/archive_test.sh started and recorded with:
// the meeting listed, a lane per channel drawn from the timeline, and a
// click on the fr lane that plays fr's Opus file from that moment, heard
// through WebAudio (440 Hz before the mic went on, 600 Hz after).
// Prints cmocka-style lines and exits 1 on any failure.
import { chromium } from "playwright-core";

const { BASE, TECH, SHOT } = process.env;
let passed = 0, failed = 0;
const check = (name, ok, detail = "") => {
  if (ok) { console.log(`[       OK ] ${name}`); passed++; }
  else { console.log(`[  FAILED  ] ${name}: ${detail}`); failed++; }
};

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"] });
try {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  const ranges = [];
  page.on("response", (r) => { if (r.url().endsWith(".opus")) ranges.push(r.status()); });
  await page.goto(`${BASE}/?token=${TECH}`);
  await page.click("#archive-toggle");
  await page.waitForSelector('#meetings button[data-meeting="signed"]', { timeout: 5000 });
  check("the Archive view lists the meeting", true);
  await page.click('#meetings button[data-meeting="signed"]');
  await page.waitForSelector('.lane[data-channel="fr"] .span', { timeout: 5000 });
  const lanes = await page.$$eval(".lane", (ls) => ls.map((l) => l.dataset.channel));
  check("a lane per recorded channel", ["floor", "en", "fr", "de", "mic_fr_1", "mic_fr_2"].every((c) => lanes.includes(c)),
    lanes.join(" "));
  const spans = await page.$$eval('.lane[data-channel="fr"] .span', (s) => s.map((x) => x.className + ":" + x.textContent));
  check("the fr lane shows idle, then fr/1 live from the floor", spans.length >= 2 && /idle/.test(spans[0]) &&
    spans.some((t) => /live:fr\/1 ← floor/.test(t)), spans.join(" | "));
  check("the segments table gives the first sample's time", /UTC/.test(await page.textContent("#segments")));

  // Where the mic went on, from the page's own model of the timeline.
  const model = await page.evaluate(() => {
    const on = archive.events.find((e) => e.event === "channel" && e.channel === "fr" && e.live === "fr/1");
    return { from: archive.from, to: archive.to, on: on.at, seg: archive.segments[0].startMs };
  });
  const box = await page.$eval('.lane[data-channel="fr"] .track', (t) => {
    const r = t.getBoundingClientRect();
    return { x: r.left, y: r.top, w: r.width, h: r.height };
  });
  // A WebAudio analyser on the player, to hear what it plays.
  await page.evaluate(() => {
    const ctx = new AudioContext();
    const an = ctx.createAnalyser();
    an.fftSize = 8192;
    ctx.createMediaElementSource(document.getElementById("player")).connect(an);
    an.connect(ctx.destination);
    window.peakHz = () => {
      const bins = new Float32Array(an.frequencyBinCount);
      an.getFloatFrequencyData(bins);
      let best = 0;
      for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
      return best * ctx.sampleRate / an.fftSize;
    };
    window.resumeAudio = () => ctx.resume();
  });
  const hear = async () => {
    await page.evaluate(() => window.resumeAudio());
    await page.waitForFunction(() => document.getElementById("player").currentTime > 0 &&
      !document.getElementById("player").paused, null, { timeout: 5000 });
    await new Promise((r) => setTimeout(r, 400));
    return page.evaluate(() => window.peakHz());
  };
  const clickAt = async (ms) => {
    await page.mouse.click(box.x + (ms - model.from) / (model.to - model.from) * box.w, box.y + box.h / 2);
  };

  // A second after the mic went on: the player starts there, and hears 600 Hz.
  const after = model.on + 1000;
  await clickAt(after);
  const hzAfter = await hear();
  const where = await page.evaluate(() => Number(document.getElementById("player").dataset.offset));
  const expected = (after - model.seg) / 1000;
  check("a click on the fr lane plays fr from that moment (offset within 0.1 s)", Math.abs(where - expected) < 0.1,
    `${where} vs ${expected}`);
  const t = await page.evaluate(() => document.getElementById("player").currentTime);
  check("the audio element's currentTime is there", t >= expected - 0.1 && t < expected + 1.5, `${t} vs ${expected}`);
  check("and it plays the mic's 600 Hz", Math.abs(hzAfter - 600) < 15, `${hzAfter} Hz`);
  check("the Opus file came with range requests (206 Partial Content)", ranges.includes(206), ranges.join(","));

  // Before the mic: the floor's 440 Hz.
  await page.evaluate(() => document.getElementById("player").pause());
  await clickAt(model.on - 1200);
  const hzBefore = await hear();
  check("a click before the mic went on plays the floor's 440 Hz", Math.abs(hzBefore - 440) < 15, `${hzBefore} Hz`);
  check("the page says what is playing", /Playing fr from/.test(await page.textContent("#playing")));
  // A clip of fr from where the player is, as a download.
  await page.fill("#clip-to", new Date(model.on - 200).toISOString());
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: 10000 }), page.click("#clip-get")]);
  const saved = `${process.env.REC}/../browser-clip.wav`;
  await download.saveAs(saved);
  const { readFileSync } = await import("node:fs");
  const bytes = readFileSync(saved);
  const expectFrames = Math.round(1.0 * 48000);
  check("Download clip gives a WAV of the chosen second", bytes.subarray(0, 4).toString() === "RIFF" &&
    Math.abs((bytes.length - 44) / 3 - expectFrames) < 2000, `${bytes.length} bytes, name ${download.suggestedFilename()}`);
  if (SHOT) await page.screenshot({ path: SHOT, fullPage: true });
} catch (e) {
  check("the archive page test runs", false, String(e));
} finally {
  await browser.close();
}
console.log(`[  PASSED  ] ${passed} test(s).`);
if (failed) console.log(`[  FAILED  ] ${failed} test(s)`);
process.exit(failed ? 1 : 0);
