#!/usr/bin/env node
// Drives relay's web page in headless Chromium for tests/interop/web.sh, over the DevTools
// protocol on a pipe (--remote-debugging-pipe: fd 3 in, fd 4 out, NUL-separated JSON), so it needs
// node and nothing from npm.
//
//   node web-driver.js PLAN.json REPORT.json
//
// PLAN: {"chromium": PATH, "profile": DIR, "page": URL, "bare": URL or null, "channels": N,
//        "groups": {NAME: N}, "ts": {"search": TEXT, "name": NAME}, "hls": {...},
//        "codec": [{"search", "name", "engine"}], "guide": URL or null, "events": true|false, "play_seconds": S,
//        "screenshot": PNG, "screenshot_phone": PNG, "screenshot_dark": PNG}
// REPORT: {"steps": [{"name", "ok", "why": [...], "info": {...}}], "console": [...],
//          "network": [...], "requests": [...]}; one step per check web.sh makes.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");

const [planPath, reportPath] = process.argv.slice(2);
const plan = JSON.parse(fs.readFileSync(planPath, "utf8"));
const report = { steps: [], console: [], network: [], requests: [] };
const save = () => fs.writeFileSync(reportPath, JSON.stringify(report, null, 1));

// ---------------------------------------------------------------- the browser and the protocol

const browser = spawn(plan.chromium, [
  "--headless", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--no-first-run", "--disable-quic", "--disable-dev-shm-usage", "--remote-debugging-pipe",
  "--user-data-dir=" + plan.profile, "about:blank",
], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
let stderr = "";
browser.stdio[2].on("data", (d) => (stderr = (stderr + d).slice(-4000)));
const toBrowser = browser.stdio[3], fromBrowser = browser.stdio[4];

let nextId = 1, inbuf = "", session = null;
const pending = new Map();
const listeners = [];
fromBrowser.on("data", (d) => {
  inbuf += d.toString("utf8");
  let i;
  while ((i = inbuf.indexOf("\0")) >= 0) {
    const m = JSON.parse(inbuf.slice(0, i));
    inbuf = inbuf.slice(i + 1);
    if (m.id && pending.has(m.id)) {
      const { resolve, reject, method } = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) reject(new Error(method + ": " + m.error.message));
      else resolve(m.result);
    } else if (m.method) {
      for (const l of listeners) l(m);
    }
  }
});
function send(method, params = {}, sessionId = session) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  toBrowser.write(JSON.stringify(msg) + "\0");
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function js(expression) {
  const r = await send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
  if (r.exceptionDetails) {
    throw new Error("page script failed: " + (r.exceptionDetails.exception
      ? r.exceptionDetails.exception.description : r.exceptionDetails.text));
  }
  return r.result.value;
}
// Polls EXPR until it is truthy; its last value, or null after MS.
async function until(expr, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await js(expr);
    if (v) return v;
    if (Date.now() > end) return null;
    await sleep(200);
  }
}
const KEYS = {
  "/": { code: "Slash", keyCode: 191, text: "/" }, Enter: { code: "Enter", keyCode: 13, text: "\r" },
  Escape: { code: "Escape", keyCode: 27 }, ArrowDown: { code: "ArrowDown", keyCode: 40 },
  ArrowRight: { code: "ArrowRight", keyCode: 39 }, ArrowUp: { code: "ArrowUp", keyCode: 38 },
};
async function key(name) {
  const k = KEYS[name];
  const common = { key: name, code: k.code, windowsVirtualKeyCode: k.keyCode, nativeVirtualKeyCode: k.keyCode };
  await send("Input.dispatchKeyEvent", { type: k.text ? "keyDown" : "rawKeyDown", text: k.text, ...common });
  await send("Input.dispatchKeyEvent", { type: "keyUp", ...common });
}
async function click(selector) {
  const box = await js(`(() => { const e = document.querySelector(${JSON.stringify(selector)});
    if (!e) return null; e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect();
    return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()`);
  if (!box) throw new Error("nothing to click at " + selector);
  for (const type of ["mousePressed", "mouseReleased"]) {
    await send("Input.dispatchMouseEvent", { type, x: box.x, y: box.y, button: "left", clickCount: 1 });
  }
}
async function screenshot(file) {
  const r = await send("Page.captureScreenshot", { format: "png" });
  fs.writeFileSync(file, Buffer.from(r.data, "base64"));
  return fs.statSync(file).size;
}
async function viewport(width, height, mobile) {
  await send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile });
}
async function navigate(url) {
  await send("Page.navigate", { url });
}

// ---------------------------------------------------------------- steps

async function step(name, fn) {
  const s = { name, ok: false, why: [], info: {} };
  report.steps.push(s);
  try {
    await fn(s);
  } catch (e) {
    s.why.push(String(e && e.message || e));
  }
  s.ok = s.why.length === 0;
  save();
  return s.ok;
}
const cards = `[...document.querySelectorAll("#grid button.card")]`;
const names = `${cards}.map(b => b.querySelector(".name").textContent)`;

// Plays the channel the dialog shows until video time advanced by SECONDS.
async function watch(s, want, seconds) {
  const open = await until(`document.getElementById("player").open && document.getElementById("player").dataset.engine`, 15000);
  if (!open) {
    s.why.push("the player did not open with an engine: " + JSON.stringify(await js(`({open: document.getElementById("player").open, msg: document.getElementById("p-msg").textContent})`)));
    return;
  }
  s.info.engine = open;
  if (!open.startsWith(want)) s.why.push(`played with ${open}, want ${want}`);
  await js(`window.__t0 = null; window.__v = document.getElementById("video");`);
  const done = await until(`(() => { const v = __v;
    if (v.readyState >= 3 && !v.paused && __t0 === null) __t0 = v.currentTime;
    return __t0 !== null && v.currentTime - __t0 >= ${seconds}; })()`, 45000);
  const st = await js(`(() => { const v = __v, q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {};
    return {t0: __t0, currentTime: v.currentTime, readyState: v.readyState, paused: v.paused,
      width: v.videoWidth, height: v.videoHeight, frames: q.totalVideoFrames, error: v.error && v.error.message,
      msg: document.getElementById("p-msg").hidden ? null : document.getElementById("p-msg").textContent,
      vlc: document.getElementById("p-vlc").getAttribute("href")}; })()`);
  Object.assign(s.info, st);
  if (!done) s.why.push(`video time did not advance ${seconds} s: ${JSON.stringify(st)}`);
  if (!(st.width > 0 && st.frames > 0)) s.why.push(`no video frames decoded: ${JSON.stringify(st)}`);
  if (st.msg) s.why.push("the player shows a message: " + st.msg);
}

// Types TEXT into the emptied search box (as a user would); the grid's names once it shows COUNT
// cards (the first named FIRST, when given).
async function search(text, count, first) {
  await js(`(() => { const q = document.getElementById("q"); q.focus(); q.value = "";
    q.dispatchEvent(new Event("input", {bubbles: true})); })()`);
  if (text) await send("Input.insertText", { text });
  const want = first == null ? "true" : `n[0] === ${JSON.stringify(first)}`;
  return until(`(() => { const n = ${names}; return n.length === ${count} && ${want} ? n : null; })()`, 10000);
}

async function closePlayer(s) {
  await key("Escape");
  const closed = await until(`!document.getElementById("player").open`, 5000);
  if (!closed) s.why.push("Escape did not close the player");
  // the dialog's close event (which stops the player) comes a task after `open` turns false
  const state = `(() => { const v = document.getElementById("video");
    return {src: v.getAttribute("src"), ready: v.readyState, focus: document.activeElement.className}; })()`;
  await until(`(() => { const s = ${state}; return !s.src && !s.ready && s.focus; })()`, 5000);
  const st = await js(state);
  if (st.src || st.ready) s.why.push(`the video still has a source after closing: ${JSON.stringify(st)}`);
  s.info.focus_after_close = st.focus;
}

async function main() {
  const target = await send("Target.createTarget", { url: "about:blank" }, null);
  const att = await send("Target.attachToTarget", { targetId: target.targetId, flatten: true }, null);
  session = att.sessionId;
  listeners.push((m) => {
    if (m.sessionId !== session) return;
    const p = m.params;
    if (m.method === "Runtime.exceptionThrown") {
      report.console.push({ kind: "exception", text: p.exceptionDetails.exception
        ? p.exceptionDetails.exception.description : p.exceptionDetails.text });
    } else if (m.method === "Runtime.consoleAPICalled" && (p.type === "error" || p.type === "warning" || p.type === "assert")) {
      report.console.push({ kind: "console." + p.type, text: p.args.map((a) => a.value !== undefined ? String(a.value) : a.description || a.type).join(" ") });
    } else if (m.method === "Log.entryAdded" && (p.entry.level === "error" || p.entry.level === "warning")) {
      report.network.push({ level: p.entry.level, source: p.entry.source, text: p.entry.text, url: p.entry.url || "" });
    } else if (m.method === "Network.requestWillBeSent") {
      report.requests.push(p.request.url.slice(0, 300));
    }
  });
  for (const d of ["Page", "Runtime", "Log", "Network"]) await send(d + ".enable");
  await viewport(1280, 860, false);

  const page = plan.page;
  const origin = new URL(page).origin;
  await navigate(page);

  await step("load", async (s) => {
    const n = await until(`${cards}.length === ${plan.channels} && ${cards}.length`, 20000);
    s.info.cards = await js(`${cards}.length`);
    if (!n) s.why.push(`${s.info.cards} channel cards, want ${plan.channels}`);
    s.info.title = await js(`document.title`);
    s.info.logos = await js(`document.querySelectorAll("#grid .logo img").length`);
    s.info.chno = await js(`${cards}.filter(b => b.querySelector(".chno")).length`);
  });

  await step("urls", async (s) => {
    const u = await js(`["u-playlist", "u-guide", "u-tuner"].map(id => document.getElementById(id).value)`);
    s.info.urls = u;
    const want = [origin + "/playlist.m3u8", origin + "/epg.xml", origin];
    want.forEach((w, i) => u[i] !== w && s.why.push(`URL ${i}: '${u[i]}', want '${w}'`));
  });

  await step("groups", async (s) => {
    const opts = await js(`[...document.getElementById("group").options].map(o => o.value)`);
    s.info.options = opts;
    for (const [g, n] of Object.entries(plan.groups)) {
      if (!opts.includes(g)) { s.why.push(`no option for group '${g}'`); continue; }
      await js(`(() => { const s = document.getElementById("group"); s.value = ${JSON.stringify(g)};
        s.dispatchEvent(new Event("change")); })()`);
      const got = await until(`${cards}.length === ${n} && ${cards}.every(b => b.querySelector(".sub").textContent.startsWith(${JSON.stringify(g)}))`, 10000);
      if (!got) s.why.push(`group '${g}': ${await js(`${cards}.length`)} cards, want ${n} all of that group`);
    }
    await js(`(() => { const s = document.getElementById("group"); s.value = ""; s.dispatchEvent(new Event("change")); })()`);
    if (!await until(`${cards}.length === ${plan.channels}`, 10000)) s.why.push("'All groups' did not bring every channel back");
  });

  await step("events", async (s) => {
    const hidden = await until(`document.readyState === "complete" && (() => { const e = document.getElementById("events"); return e.hidden ? "hidden" : "shown"; })()`, 5000);
    s.info.events = hidden;
    if (hidden !== (plan.events ? "shown" : "hidden")) s.why.push(`events section ${hidden}, want ${plan.events ? "shown" : "hidden"}`);
  });

  await step("status", async (s) => {
    const text = await until(`!document.getElementById("status").hidden && document.getElementById("status").textContent`, 10000);
    s.info.text = text;
    if (!text || !/^\d+ viewers? · \d+ streams?$/.test(text)) s.why.push(`status strip '${text}'`);
  });

  await step("search", async (s) => {
    await js(`document.activeElement.blur(); document.body.focus()`);
    await key("/");
    const focus = await js(`document.activeElement.id`);
    if (focus !== "q") s.why.push(`'/' focused '${focus}', want the search box`);
    const got = await search(plan.ts.search, 1, plan.ts.name);
    s.info.names = got || await js(names);
    if (!got || got[0] !== plan.ts.name) s.why.push(`search '${plan.ts.search}' shows ${JSON.stringify(s.info.names)}, want ['${plan.ts.name}']`);
    const loc = await js(`location.search`);
    if (!loc.includes("q=")) s.why.push(`the search is not kept in the page URL ('${loc}')`);
  });

  await step("play-ts", async (s) => {
    // keyboard only: ArrowDown from the search box to the first card, Enter plays
    await key("ArrowDown");
    const f = await js(`document.activeElement.matches("button.card") && document.activeElement.querySelector(".name").textContent`);
    if (f !== plan.ts.name) s.why.push(`ArrowDown from the search box focused '${f}'`);
    await key("Enter");
    await watch(s, "mpegts.js", plan.play_seconds);
    s.info.status = await js(`document.getElementById("status").textContent`);
    s.info.screenshot_bytes = await screenshot(plan.screenshot);
    await closePlayer(s);
    if (s.info.focus_after_close !== "card") s.why.push(`focus after closing on '${s.info.focus_after_close}', want the card`);
  });

  await step("play-hls", async (s) => {
    const got = await search(plan.hls.search, 1, plan.hls.name);
    if (!got || got[0] !== plan.hls.name) s.why.push(`search '${plan.hls.search}' shows ${JSON.stringify(got || await js(names))}`);
    await click("#grid button.card");
    await watch(s, "hls.js", plan.play_seconds);
    await closePlayer(s);
  });

  await step("grid-keys", async (s) => {
    // narrow enough for two rows
    await viewport(560, 860, false);
    await search("", plan.channels);
    await sleep(200);
    await js(`document.querySelector("#grid button.card").focus()`);
    const cols = await js(`(() => { const c = ${cards}; const t = c[0].offsetTop; return c.filter(b => b.offsetTop === t).length; })()`);
    await key("ArrowRight");
    const right = await js(`${cards}.indexOf(document.activeElement)`);
    await key("ArrowDown");
    const down = await js(`${cards}.indexOf(document.activeElement)`);
    await key("ArrowUp");
    const up = await js(`${cards}.indexOf(document.activeElement)`);
    s.info = { cols, right, down, up };
    const wantDown = Math.min(1 + cols, plan.channels - 1), wantUp = wantDown - cols;
    if (cols >= plan.channels) s.why.push(`${cols} columns: one row, the test needs two`);
    if (right !== 1) s.why.push(`ArrowRight from card 0 went to ${right}`);
    if (down !== wantDown) s.why.push(`ArrowDown from card 1 went to ${down}, want ${wantDown} (${cols} columns)`);
    if (up !== wantUp) s.why.push(`ArrowUp from ${down} went to ${up}, want ${wantUp}`);
    await viewport(1280, 860, false);
    const tabbable = await js(`${cards}.filter(b => b.tabIndex === 0).length`);
    if (tabbable !== 1) s.why.push(`${tabbable} cards in the tab order, want 1 (roving tabindex)`);
  });

  for (const c of plan.codec || []) {
    await step("codec " + c.name, async (s) => {
      const got = await search(c.search, 1, c.name);
      if (!got) s.why.push(`search '${c.search}' shows ${JSON.stringify(await js(names))}`);
      await click("#grid button.card");
      const m = await until(`!document.getElementById("p-msg").hidden && document.getElementById("p-msg").textContent`, 40000);
      s.info.msg = m;
      s.info.video = await js(`(() => { const v = document.getElementById("video");
        return {ready: v.readyState, paused: v.paused, ended: v.ended, t: v.currentTime, w: v.videoWidth,
          error: v.error && v.error.message}; })()`);
      s.info.engine = await js(`document.getElementById("player").dataset.engine`);
      s.info.vlc = await js(`document.getElementById("p-vlc").getAttribute("href")`);
      s.info.url = await js(`document.getElementById("p-url").getAttribute("href")`);
      if (!m || !/cannot (play|be shown)/.test(m)) s.why.push(`no codec message: '${m}'`);
      if (!(s.info.engine || "").startsWith(c.engine)) s.why.push(`played with '${s.info.engine}', want ${c.engine}`);
      if (!s.info.url || s.info.vlc !== "vlc://" + s.info.url) s.why.push(`VLC link '${s.info.vlc}' for '${s.info.url}'`);
      if (m && !(await js(`document.activeElement.id`) === "p-vlc")) s.why.push("the VLC link does not have the focus after the message");
      await closePlayer(s);
    });
  }

  if (plan.bare) {
    await step("bare", async (s) => {
      await navigate(plan.bare + "?q=" + encodeURIComponent(plan.ts.search));
      const got = await until(`(() => { const n = ${names}; return n.length === 1 ? n : null; })()`, 20000);
      if (!got || got[0] !== plan.ts.name) s.why.push(`the page under /bare/ with ?q= shows ${JSON.stringify(await js(names))}`);
      const u = await js(`document.getElementById("u-playlist").value`);
      if (u !== plan.bare + "playlist.m3u8") s.why.push(`playlist URL under a prefix: '${u}'`);
      await click("#grid button.card");
      const m = await until(`!document.getElementById("p-msg").hidden && document.getElementById("p-msg").textContent`, 10000);
      s.info.msg = m;
      if (!m || !/player script/.test(m)) s.why.push(`no links-only message without player scripts: '${m}'`);
      const vlc = await js(`document.getElementById("p-vlc").getAttribute("href")`);
      if (!/^vlc:\/\/http/.test(vlc || "")) s.why.push(`VLC link '${vlc}'`);
      s.info.scripts = await js(`[...document.scripts].map(x => x.src)`);
      if (s.info.scripts.some((x) => /hls|mpegts/.test(x))) s.why.push("a player script was loaded with no assets base");
      await closePlayer(s);
    });
  }

  if (plan.guide) {
    await step("guide", async (s) => {
      await navigate(plan.guide);
      const n = await until(`${cards}.length === ${plan.channels} && document.querySelectorAll("#event-list button.ev").length`, 20000);
      s.info.events = n;
      if (n !== 2 * plan.channels) s.why.push(`${n} programmes listed, want ${2 * plan.channels} (now and next of each channel)`);
      const c = await js(`(() => { const b = document.querySelector("#grid button.card");
        return {now: b.querySelector(".prog.now") && b.querySelector(".prog.now").textContent,
          next: b.querySelector(".prog.next") && b.querySelector(".prog.next").textContent,
          bar: b.querySelector(".prog.now .done span") && b.querySelector(".prog.now .done span").style.width,
          heading: document.getElementById("events-h").textContent}; })()`);
      s.info.card = c;
      if (!c.now || !/^Now News at 0/.test(c.now)) s.why.push(`the first card's now line: '${c.now}'`);
      if (!c.next || !/^\d\d?:\d\d( [AP]M)? Film 0$/.test(c.next)) s.why.push(`the first card's next line: '${c.next}'`);
      if (c.bar !== "33%") s.why.push(`the now progress bar at '${c.bar}', want 33% (10 of 30 minutes)`);
      await js(`(() => { const q = document.getElementById("q"); q.focus(); q.value = ""; })()`);
      await send("Input.insertText", { text: "film" });
      const f = await until(`(() => { const t = [...document.querySelectorAll("#event-list .ev .title")].map(e => e.textContent);
        return t.length === ${plan.channels} && t.every(x => x.startsWith("Film")) && document.getElementById("events-h").textContent; })()`, 10000);
      s.info.heading = f;
      if (f !== "Programmes matching “film”") s.why.push(`searching 'film': heading '${f}', programmes ${JSON.stringify(await js(`[...document.querySelectorAll("#event-list .ev .title")].map(e => e.textContent)`))}`);
      const want = await js(`document.querySelector("#event-list .ev .sub").textContent.split(" · ")[0]`);
      await click("#event-list button.ev");
      const title = await until(`document.getElementById("player").open && document.getElementById("p-title").textContent`, 10000);
      s.info.played = title;
      if (!title || !title.endsWith(want)) s.why.push(`clicking a programme opened '${title}', want channel '${want}'`);
      await closePlayer(s);
    });
  }

  await step("phone", async (s) => {
    await viewport(390, 844, true);
    await navigate(page);
    await until(`${cards}.length === ${plan.channels}`, 20000);
    await sleep(300);
    const st = await js(`(() => { const c = ${cards}; const t = c[0].offsetTop;
      return {cols: c.filter(b => b.offsetTop === t).length, scroll: document.documentElement.scrollWidth,
        width: 390, more: getComputedStyle(document.getElementById("more")).display}; })()`);
    s.info = st;
    if (st.cols < 2 || st.cols > 3) s.why.push(`${st.cols} columns on a 390 px phone, want 2 or 3`);
    if (st.scroll > st.width) s.why.push(`the page scrolls sideways (${st.scroll} px wide in ${st.width})`);
    if (st.more !== "none") s.why.push(`"Show more" shown (display ${st.more}) with every channel on the page`);
    s.info.screenshot_bytes = await screenshot(plan.screenshot_phone);
  });

  await step("dark", async (s) => {
    const light = await js(`getComputedStyle(document.body).backgroundColor`);
    await send("Emulation.setEmulatedMedia", { features: [{ name: "prefers-color-scheme", value: "dark" }] });
    await sleep(200);
    const dark = await js(`getComputedStyle(document.body).backgroundColor`);
    s.info = { light, dark };
    const lum = (c) => (c.match(/\d+/g) || []).slice(0, 3).reduce((a, b) => a + Number(b), 0);
    if (!(lum(dark) < lum(light))) s.why.push(`background light ${light}, dark ${dark}`);
    await viewport(1280, 860, false);
    s.info.screenshot_bytes = await screenshot(plan.screenshot_dark);
  });

  await step("labels", async (s) => {
    // every control has an accessible name: a label, aria-label, or text
    const bad = await js(`[...document.querySelectorAll("input, select, button, a[href]")].filter(e =>
      !e.closest("[hidden]") && !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.textContent.trim()
    ).map(e => e.outerHTML.slice(0, 80))`);
    if (bad.length) s.why.push("controls without a name: " + bad.join(" | "));
  });
}

const watchdog = setTimeout(() => {
  report.steps.push({ name: "driver", ok: false, why: ["the driver ran out of time (240 s)"], info: {} });
  save();
  browser.kill("SIGKILL");
  process.exit(2);
}, 240000);
browser.on("exit", (code) => {
  if (report.done) return;
  report.steps.push({ name: "driver", ok: false, why: [`chromium exited (${code}): ${stderr.slice(-800)}`], info: {} });
  save();
  process.exit(2);
});
main()
  .catch((e) => report.steps.push({ name: "driver", ok: false, why: [String(e && e.stack || e)], info: {} }))
  .finally(async () => {
    report.done = true;
    save();
    clearTimeout(watchdog);
    try {
      await Promise.race([send("Browser.close", {}, null), sleep(3000)]);
    } catch (e) {
      // closing anyway
    }
    browser.kill("SIGKILL");
    process.exit(0);
  });
