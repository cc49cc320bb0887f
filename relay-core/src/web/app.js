// relay's web page: browse and search the catalog, watch a channel in the page.
// Plain JS, no build step. Reads GET api/channels, api/groups, health and (when it answers 200)
// api/events, all relative to the page; plays HLS with hls.js (or natively), live MPEG-TS with
// mpegts.js, files natively. The two player scripts come from <meta name="relay-assets">; without
// them the player offers links only. Builds every element with textContent: nothing the API
// returns is parsed as HTML.
"use strict";
(() => {
  const PAGE = 120; // channels rendered at once; "Show more" adds as many again
  const MAX_EVENTS = 60; // programmes listed at once
  const HEALTH_MS = 15000; // status strip refresh
  const START_MS = 20000; // nothing played after this long: say so
  const NO_PICTURE_MS = 4000; // playing this long without a picture: say so

  const $ = (id) => document.getElementById(id);
  const abs = (path) => new URL(path, document.baseURI).href;
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  };
  const meta = document.querySelector('meta[name="relay-assets"]');
  let assets = meta ? meta.content.trim() : "";
  if (assets && !assets.endsWith("/")) assets += "/";

  const q = $("q"), group = $("group"), grid = $("grid"), more = $("more"), note = $("note");
  const dialog = $("player"), video = $("video"), msg = $("p-msg");
  let channels = [], shown = 0, eventsOn = false, listCtl = null, searchTimer = 0;
  const byId = new Map();

  // ------------------------------------------------------------ channels

  async function getJson(path, signal) {
    const r = await fetch(abs(path), { signal, headers: { Accept: "application/json" } });
    return { status: r.status, body: r.ok ? await r.json() : null };
  }

  function params() {
    const p = new URLSearchParams();
    if (q.value.trim()) p.set("q", q.value.trim());
    if (group.value) p.set("group", group.value);
    return p.toString();
  }

  async function load() {
    clearTimeout(searchTimer);
    if (listCtl) listCtl.abort();
    const ctl = (listCtl = new AbortController());
    const p = params();
    history.replaceState(null, "", p ? "?" + p : location.pathname);
    try {
      const r = await getJson("api/channels" + (p ? "?" + p : ""), ctl.signal);
      if (!r.body) throw new Error("HTTP " + r.status);
      render(r.body.channels || []);
    } catch (e) {
      if (e.name === "AbortError") return;
      note.textContent = "The channel list could not be loaded (" + e.message + ").";
    }
    if (eventsOn) loadEvents(ctl.signal);
  }

  function render(list) {
    channels = list;
    shown = 0;
    grid.textContent = "";
    for (const c of list) byId.set(c.id, c);
    $("count").textContent = "(" + list.length + ")";
    note.textContent = list.length ? "" : "No channel matches.";
    showMore();
  }

  function showMore() {
    const end = Math.min(channels.length, shown + PAGE);
    const frag = document.createDocumentFragment();
    for (; shown < end; shown++) frag.append(card(channels[shown], shown));
    grid.append(frag);
    more.hidden = shown >= channels.length;
    more.textContent = "Show more (" + (channels.length - shown) + ")";
  }

  const initials = (name) =>
    (name || "?").split(/\s+/).filter(Boolean).slice(0, 2).map((w) => [...w][0]).join("").toUpperCase();

  function logo(src, name) {
    const box = el("span", "logo");
    box.setAttribute("aria-hidden", "true");
    if (src) {
      const img = el("img");
      img.alt = "";
      img.loading = "lazy";
      img.decoding = "async";
      img.referrerPolicy = "no-referrer";
      img.onerror = () => {
        img.remove();
        box.textContent = initials(name);
      };
      img.src = src;
      box.append(img);
    } else {
      box.textContent = initials(name);
    }
    return box;
  }

  function card(c, i) {
    const li = el("li");
    const b = el("button", "card");
    b.type = "button";
    b.tabIndex = i === 0 ? 0 : -1;
    b.dataset.id = c.id;
    b.append(logo(c.logo, c.name));
    const title = el("span", "title");
    if (c.chno) title.append(el("span", "chno", c.chno));
    title.append(el("span", "name", c.name));
    b.append(title);
    const kind = { hls: "HLS", ts: "TS", file: "File" }[c.kind] || "";
    b.append(el("span", "sub", [c.group, kind].filter(Boolean).join(" · ")));
    if (c.now && c.now.title) b.append(programme("now", c.now));
    if (c.next && c.next.title) b.append(programme("next", c.next));
    b.addEventListener("click", () => play(c, b));
    li.append(b);
    return li;
  }

  // ------------------------------------------------------------ guide (when the relay has one)

  // A time as the API may give it: seconds or milliseconds since 1970, ISO 8601, or XMLTV's
  // "YYYYMMDDhhmmss +zzzz".
  function when(v) {
    if (v == null || v === "") return null;
    if (typeof v === "number") return new Date(v < 1e11 ? v * 1000 : v);
    const x = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?\s*([+-]\d\d)?(\d\d)?$/.exec(v);
    if (x) {
      const z = x[7] ? x[7] + ":" + (x[8] || "00") : "Z";
      return new Date(`${x[1]}-${x[2]}-${x[3]}T${x[4]}:${x[5]}:${x[6] || "00"}${z}`);
    }
    if (/^\d+$/.test(v)) return when(Number(v));
    const d = new Date(v);
    return isNaN(d) ? null : d;
  }
  const hm = (d) => (d ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "");

  function programme(which, p) {
    const start = when(p.start), stop = when(p.stop);
    const line = el("span", "prog " + which);
    line.append(el("span", "at", which === "now" ? "Now" : hm(start) || "Next"));
    line.append(" " + p.title);
    if (which === "now" && start && stop && stop > start) {
      const f = Math.min(1, Math.max(0, (Date.now() - start) / (stop - start)));
      const bar = el("span", "done");
      const fill = el("span");
      fill.style.width = Math.round(f * 100) + "%";
      bar.append(fill);
      line.append(bar);
      line.title = hm(start) + "–" + hm(stop);
    }
    return line;
  }

  async function probeEvents() {
    try {
      const r = await getJson("api/events?q=");
      eventsOn = r.status === 200 && !!r.body && Array.isArray(r.body.events);
      if (eventsOn) renderEvents(r.body.events);
      if (eventsOn && q.value.trim()) loadEvents();
    } catch (e) {
      eventsOn = false;
    }
    $("events").hidden = !eventsOn;
  }

  async function loadEvents(signal) {
    const text = q.value.trim();
    try {
      const r = await getJson("api/events?q=" + encodeURIComponent(text), signal);
      if (r.body) renderEvents(r.body.events || [], text);
    } catch (e) {
      // an aborted or failed search keeps the list it had
    }
  }

  function renderEvents(list, text) {
    $("events-h").textContent = text ? "Programmes matching “" + text + "”" : "On now";
    const ul = $("event-list");
    ul.textContent = "";
    if (!list.length) ul.append(el("li", "none", "No programme matches."));
    for (const ev of list.slice(0, MAX_EVENTS)) {
      const start = when(ev.start), stop = when(ev.stop);
      const b = el("button", "ev");
      b.type = "button";
      b.append(logo(ev.logo, ev.name));
      const t = el("span", "title", ev.title);
      const live = start && stop && start <= Date.now() && Date.now() < stop;
      b.append(el("span", "at", (live ? "Now · " : "") + hm(start) + (stop ? "–" + hm(stop) : "")), t);
      b.append(el("span", "sub", [ev.name, ev.category].filter(Boolean).join(" · ")));
      const known = byId.get(ev.channel);
      b.addEventListener("click", () =>
        play(known || { id: ev.channel, name: ev.name, url: ev.url, kind: kindOf(ev.url) }, b));
      const li = el("li");
      li.append(b);
      ul.append(li);
    }
  }

  // ------------------------------------------------------------ player

  const scripts = {};
  // Loads a player script from the assets base once; resolves false when there is none.
  function lib(name) {
    if (!assets) return Promise.resolve(false);
    if (!scripts[name]) {
      scripts[name] = new Promise((resolve) => {
        const s = el("script");
        s.src = assets + name;
        s.onload = () => resolve(true);
        s.onerror = () => resolve(false);
        document.head.append(s);
      });
    }
    return scripts[name];
  }

  function kindOf(url) {
    const path = (url || "").split(/[?#]/)[0].toLowerCase();
    if (/\.m3u8?$/.test(path)) return "hls";
    return /\.ts$/.test(path) ? "ts" : "file";
  }

  let run = 0, engine = null, opener = null, startTimer = 0, pictureTimer = 0;
  let failed = false, played = false, said = "";

  function stop() {
    run++;
    clearTimeout(startTimer);
    clearTimeout(pictureTimer);
    if (engine) {
      try {
        engine.stop();
      } catch (e) {
        // a player that cannot tear down cleanly is dropped all the same
      }
    }
    engine = null;
    video.pause();
    video.removeAttribute("src");
    video.load();
  }

  const MESSAGES = {
    codec: "This browser cannot play this channel's video or audio format (MPEG-2 video, MP2 or AC-3 audio are common).",
    network: "The stream could not be loaded.",
    stalled: "Nothing has played yet: the stream may be down, or in a format this browser cannot play.",
    nolib: "Playing this kind of stream in the page needs a player script this relay does not serve.",
    nots: "This browser cannot play live MPEG-TS in a page.",
    picture: "No picture: the channel is audio only, or its video format cannot be shown by this browser.",
    press: "Press play to start.",
  };

  // Shows a message under the video; for a problem, with the way out: the VLC link, focused.
  function say(kind, detail) {
    const problem = kind !== "press";
    said = kind;
    msg.textContent = MESSAGES[kind] + (detail ? " (" + detail + ")" : "") +
      (problem ? " Open it in VLC or another player:" : "");
    msg.hidden = false;
    if (problem) $("p-vlc").focus();
  }

  // A problem that ends playback: the message and the links stay, the player goes.
  function fail(kind, detail) {
    if (failed) return;
    failed = true;
    say(kind, detail);
    const id = run;
    setTimeout(() => {
      if (id === run && engine) {
        const e = engine;
        engine = null;
        try {
          e.stop();
        } catch (err) {
          // already broken
        }
      }
    }, 0);
  }

  function started() {
    video.play().catch((e) => {
      if (e.name === "NotAllowedError") say("press");
    });
  }

  function playHls(url, id) {
    return lib("hls.min.js").then((ok) => {
      if (id !== run) return;
      const Hls = ok && window.Hls;
      if (Hls && Hls.isSupported()) {
        const h = new Hls({ enableWorker: true });
        let recovered = false;
        h.on(Hls.Events.ERROR, (ev, d) => {
          if (!d.fatal) return;
          const codec = /codec|incompatible/i.test(d.details);
          if (d.type === Hls.ErrorTypes.MEDIA_ERROR && !codec && !recovered) {
            recovered = true;
            h.recoverMediaError();
            return;
          }
          fail(codec || d.type === Hls.ErrorTypes.MEDIA_ERROR ? "codec" : "network", d.details);
        });
        h.on(Hls.Events.MANIFEST_PARSED, started);
        h.loadSource(url);
        h.attachMedia(video);
        engine = { name: "hls.js " + Hls.version, stop: () => h.destroy() };
      } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
        native(url, "native HLS");
      } else {
        fail("nolib");
      }
    });
  }

  function playTs(url, id) {
    return lib("mpegts.js").then((ok) => {
      if (id !== run) return;
      const m = ok && window.mpegts;
      if (!m) return fail("nolib");
      if (!m.isSupported() || !m.getFeatureList().mseLivePlayback) return fail("nots");
      m.LoggingControl.enableAll = false;
      const p = m.createPlayer({ type: "mpegts", isLive: true, url }, { liveBufferLatencyChasing: true });
      p.on(m.Events.ERROR, (type, detail, info) =>
        fail(type === m.ErrorTypes.MEDIA_ERROR ? "codec" : "network",
          detail + (info && info.msg ? ": " + info.msg : "")));
      p.attachMediaElement(video);
      p.load();
      started();
      engine = {
        name: "mpegts.js " + m.version,
        stop: () => {
          p.unload();
          p.detachMediaElement();
          p.destroy();
        },
      };
    });
  }

  function native(url, name) {
    video.src = url;
    engine = { name, stop: () => {} };
    started();
  }

  async function play(c, from) {
    stop();
    const id = run;
    failed = false;
    played = false;
    said = "";
    opener = from || document.activeElement;
    $("p-title").textContent = (c.chno ? c.chno + " " : "") + c.name;
    $("p-vlc").href = "vlc://" + c.url;
    $("p-url").href = c.url;
    $("p-engine").textContent = "";
    msg.hidden = true;
    if (!dialog.open) dialog.showModal();
    $("p-close").focus();
    const kind = c.kind || kindOf(c.url);
    if (kind === "hls") await playHls(c.url, id);
    else if (kind === "ts") await playTs(c.url, id);
    else native(c.url, "native");
    if (id !== run) return;
    dialog.dataset.engine = engine ? engine.name : "";
    $("p-engine").textContent = engine ? "via " + engine.name : "";
    startTimer = setTimeout(() => {
      if (id === run && !played && !failed) say("stalled");
    }, START_MS);
  }

  video.addEventListener("playing", () => {
    const id = run;
    played = true;
    healthSoon();
    if (said === "press" || said === "stalled") msg.hidden = true; // it started after all
    clearTimeout(pictureTimer);
    pictureTimer = setTimeout(() => {
      if (id === run && engine && !video.paused && !video.videoWidth) say("picture");
    }, NO_PICTURE_MS);
  });
  video.addEventListener("ended", () => {
    if (engine && played && !video.videoWidth) say("picture");
  });
  video.addEventListener("error", () => {
    if (!engine || !video.error) return;
    const e = video.error;
    fail(e.code === e.MEDIA_ERR_NETWORK ? "network" : "codec", e.message || "media error " + e.code);
  });
  dialog.addEventListener("close", () => {
    stop();
    healthSoon();
    dialog.dataset.engine = "";
    if (opener && opener.isConnected) opener.focus();
  });
  $("p-close").addEventListener("click", () => dialog.close());

  // ------------------------------------------------------------ keyboard

  const typing = (t) => t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));

  document.addEventListener("keydown", (e) => {
    if (e.key === "/" && !typing(e.target) && !dialog.open && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      q.focus();
      q.select();
    }
  });

  q.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") {
      const first = grid.querySelector("button.card");
      if (first) {
        e.preventDefault();
        focusCard(first);
      }
    }
  });

  function focusCard(b) {
    const old = grid.querySelector('button.card[tabindex="0"]');
    if (old && old !== b) old.tabIndex = -1;
    b.tabIndex = 0;
    b.focus();
  }

  // Cards per row: those on the first card's row.
  function columns(cards) {
    const top = cards[0].offsetTop;
    let n = 0;
    while (n < cards.length && cards[n].offsetTop === top) n++;
    return Math.max(1, n);
  }

  grid.addEventListener("keydown", (e) => {
    const b = e.target.closest && e.target.closest("button.card");
    if (!b || e.altKey || e.ctrlKey || e.metaKey) return;
    let cards = [...grid.querySelectorAll("button.card")];
    const i = cards.indexOf(b);
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(cards), ArrowUp: -columns(cards) }[e.key];
    let n;
    if (step) n = i + step;
    else if (e.key === "Home") n = 0;
    else if (e.key === "End") n = cards.length - 1;
    else return;
    e.preventDefault();
    if (n < 0) {
      if (e.key === "ArrowUp") q.focus();
      return;
    }
    if (n >= cards.length && !more.hidden) {
      showMore();
      cards = [...grid.querySelectorAll("button.card")];
    }
    focusCard(cards[Math.min(n, cards.length - 1)]);
  });
  grid.addEventListener("focusin", (e) => {
    if (e.target.matches("button.card")) focusCard(e.target);
  });

  // ------------------------------------------------------------ search, groups, URLs, status

  q.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(load, 200);
  });
  $("find").addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });
  group.addEventListener("change", load);
  more.addEventListener("click", showMore);

  async function loadGroups() {
    try {
      const r = await getJson("api/groups");
      for (const g of (r.body && r.body.groups) || []) {
        const o = el("option", null, g.name + " (" + g.channels + ")");
        o.value = g.name;
        group.append(o);
      }
      const want = new URLSearchParams(location.search).get("group");
      if (want && [...group.options].some((o) => o.value === want)) group.value = want;
    } catch (e) {
      // the filter keeps "All groups" only
    }
  }

  const base = abs("./").replace(/\/$/, "");
  $("u-playlist").value = abs("playlist.m3u8");
  $("u-guide").value = abs("epg.xml");
  $("u-tuner").value = base;
  for (const b of document.querySelectorAll("[data-copy]")) {
    b.addEventListener("click", async () => {
      const input = $(b.dataset.copy);
      let ok = false;
      try {
        await navigator.clipboard.writeText(input.value);
        ok = true;
      } catch (e) {
        input.select(); // no clipboard API (e.g. plain http): select for a manual copy
        try {
          ok = document.execCommand("copy");
        } catch (err) {
          ok = false;
        }
      }
      b.textContent = ok ? "Copied" : "Select and copy";
      setTimeout(() => (b.textContent = "Copy"), 2000);
    });
  }

  let healthTimer = 0, healthOff = false;
  // The counters again soon, after a viewer came or went.
  const healthSoon = () => {
    if (healthOff) return;
    clearTimeout(healthTimer);
    healthTimer = setTimeout(health, 1500);
  };
  async function health() {
    clearTimeout(healthTimer);
    const strip = $("status");
    try {
      const r = await getJson("health");
      const h = r.body;
      if (!h || typeof h.streams_active !== "number") throw new Error("no counters");
      const viewers = typeof h.shared_viewers === "number" ? h.shared_viewers : 0;
      strip.textContent = viewers + (viewers === 1 ? " viewer" : " viewers") + " · " +
        h.streams_active + (h.streams_active === 1 ? " stream" : " streams");
      strip.hidden = false;
    } catch (e) {
      strip.hidden = true;
      healthOff = true;
      return; // not readable here (e.g. behind a token): stay hidden, stop asking
    }
    if (!document.hidden) healthTimer = setTimeout(health, HEALTH_MS);
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && !healthOff) health();
  });

  const start = new URLSearchParams(location.search);
  q.value = start.get("q") || "";
  loadGroups().then(load);
  probeEvents();
  health();
})();
