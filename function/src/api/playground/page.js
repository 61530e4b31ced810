"use strict";
// The speech playground: the page's only script (inline, allowed by its hash in the page's
// Content-Security-Policy). It talks to the function's own API, relative to the page, so it works
// at "/" and under `cargo lambda watch`'s "/lambda-url/<function>/" prefix alike.

const base = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
const $ = (id) => document.getElementById(id);
const metaValue = (name) => document.querySelector(`meta[name="${name}"]`).content;
const MAX_INPUT = Number(metaValue("tts-max-input"));
const CAN_STREAM = metaValue("tts-streaming") === "true";
const PCM_RATE = 24000;
const KEY_STORE = "tts-playground-api-key";

const ui = {
  form: $("form"), input: $("input"), count: $("count"), model: $("model"), voice: $("voice"),
  format: $("format"), formatHelp: $("format-help"), speed: $("speed"), stream: $("stream"),
  speak: $("speak"), stop: $("stop"), status: $("status"), words: $("words"), player: $("player"),
  download: $("download"), ttfa: $("ttfa"), total: $("total"), audioSeconds: $("audio-seconds"),
  rtf: $("rtf"), keySection: $("key-section"), key: $("key"),
};

// What the last run measured and showed; read by people, and by the browser test.
const stats = window.playground = { words: [], highlighted: [], firstAudioAt: null, responseEndAt: null };

let models = [];          // from GET /v1/audio/voices
let run = null;           // the request in flight: {controller, audio}
let apiKey = sessionStorage.getItem(KEY_STORE) || "";

// ---- talking to the API ---------------------------------------------------------------------

function headers(extra) {
  const h = { ...extra };
  if (apiKey) h.Authorization = `Bearer ${apiKey}`;
  return h;
}

async function api(path, init = {}) {
  return fetch(base + path, { ...init, headers: headers(init.headers) });
}

/** The API's error for a response that is not ok: {param, message}. */
async function apiError(response) {
  let param = null;
  let message = `The function answered ${response.status} ${response.statusText}.`;
  try {
    const body = await response.json();
    if (body && body.error) {
      param = body.error.param || null;
      message = body.error.message || message;
    }
  } catch (_) {
    // Not JSON: keep the status line.
  }
  if (response.status === 401) {
    ui.keySection.hidden = false;
    param = "api_key";
  }
  return { param, message };
}

// ---- errors next to their controls ----------------------------------------------------------

function clearErrors() {
  for (const slot of document.querySelectorAll(".error")) slot.textContent = "";
  for (const control of document.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}

function showError({ param, message }) {
  const slot = document.querySelector(`.error[data-param="${param || ""}"]`) || $("error");
  slot.textContent = message;
  const control = { input: ui.input, model: ui.model, voice: ui.voice, response_format: ui.format,
    speed: ui.speed, stream_format: ui.stream, api_key: ui.key }[param];
  if (control) {
    control.setAttribute("aria-invalid", "true");
    control.focus();
  }
  setStatus("");
}

function setStatus(text) { ui.status.textContent = text; }

// ---- models and voices ----------------------------------------------------------------------

async function loadModels() {
  const [list, voices] = await Promise.all([api("v1/models"), api("v1/audio/voices")]);
  for (const response of [list, voices]) {
    if (!response.ok) {
      showError(await apiError(response));
      return;
    }
  }
  const ids = (await list.json()).data.map((m) => m.id);
  models = (await voices.json()).data.filter((m) => ids.includes(m.model));
  ui.model.replaceChildren(...models.map((m) => new Option(`${m.model} (${m.family})`, m.model)));
  fillVoices();
}

function currentModel() { return models.find((m) => m.model === ui.model.value); }

function fillVoices() {
  const model = currentModel();
  if (!model) return;
  const names = [...new Set([model.default_voice, ...model.voices, ...Object.keys(model.voice_table || {})])];
  ui.voice.replaceChildren(...names.map((v) => new Option(v, v)));
  ui.voice.value = model.default_voice;
  describeFormat();
}

function describeFormat() {
  const streaming = ui.stream.checked && CAN_STREAM;
  ui.format.disabled = streaming;
  ui.formatHelp.textContent = streaming
    ? "Streaming plays pcm as it arrives; the download is a WAV of it."
    : "";
}

// ---- the text -------------------------------------------------------------------------------

function countInput() {
  const n = [...ui.input.value].length;
  ui.count.textContent = `${n} / ${MAX_INPUT} characters`;
  ui.count.classList.toggle("over", n > MAX_INPUT);
}

/** The input with each timed word in a span, found in order in what was sent. */
function renderWords(text, words) {
  const parts = [];
  let at = 0;
  words.forEach((w, i) => {
    const found = text.indexOf(w.word, at);
    if (found < 0) return;
    if (found > at) parts.push(document.createTextNode(text.slice(at, found)));
    const span = document.createElement("span");
    span.className = "w";
    span.dataset.index = String(i);
    span.textContent = w.word;
    parts.push(span);
    at = found + w.word.length;
  });
  parts.push(document.createTextNode(text.slice(at)));
  ui.words.replaceChildren(...parts);
  lit = -1;
}

let lit = -1;

/** Highlights the word spoken at `seconds` of the audio (none between words). */
function highlight(seconds) {
  const words = stats.words;
  let index = -1;
  for (let i = 0; i < words.length; i++) {
    if (words[i].start_time <= seconds && seconds < words[i].end_time) { index = i; break; }
  }
  if (index === lit) return;
  const old = ui.words.querySelector(".w.on");
  if (old) old.classList.remove("on");
  lit = index;
  if (index >= 0) {
    const span = ui.words.querySelector(`.w[data-index="${index}"]`);
    if (span) {
      span.classList.add("on", "said");
      if (stats.highlighted[stats.highlighted.length - 1] !== index) stats.highlighted.push(index);
    }
  }
}

// ---- results --------------------------------------------------------------------------------

function seconds(value) { return `${value.toFixed(2)} s`; }

function showStats({ ttfa, total, audio }) {
  ui.ttfa.textContent = ttfa == null ? "–" : `${Math.round(ttfa * 1000)} ms`;
  ui.total.textContent = total == null ? "–" : seconds(total);
  ui.audioSeconds.textContent = audio == null ? "–" : seconds(audio);
  ui.rtf.textContent = total != null && audio ? (total / audio).toFixed(3) : "–";
}

function fileName(extension) {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const safe = (s) => s.replace(/[^A-Za-z0-9._-]+/g, "_");
  return `speech-${safe(ui.model.value)}-${safe(ui.voice.value)}-${stamp}.${extension}`;
}

function offer(blob, extension) {
  if (ui.player.src) URL.revokeObjectURL(ui.player.src);
  const url = URL.createObjectURL(blob);
  ui.player.src = url;
  ui.download.href = url;
  ui.download.download = fileName(extension);
  ui.download.textContent = `Download ${ui.download.download}`;
  ui.download.hidden = false;
}

/** 16-bit mono PCM as a WAV file. */
function wav(pcm, rate) {
  const header = new DataView(new ArrayBuffer(44));
  const text = (at, s) => [...s].forEach((c, i) => header.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF"); header.setUint32(4, 36 + pcm.byteLength, true); text(8, "WAVE");
  text(12, "fmt "); header.setUint32(16, 16, true); header.setUint16(20, 1, true);
  header.setUint16(22, 1, true); header.setUint32(24, rate, true); header.setUint32(28, rate * 2, true);
  header.setUint16(32, 2, true); header.setUint16(34, 16, true);
  text(36, "data"); header.setUint32(40, pcm.byteLength, true);
  return new Blob([header, pcm], { type: "audio/wav" });
}

// ---- speaking -------------------------------------------------------------------------------

function request() {
  const model = currentModel();
  return {
    model: ui.model.value,
    voice: ui.voice.value,
    input: ui.input.value,
    speed: Number(ui.speed.value),
    timed: Boolean(model && model.word_timestamps),
  };
}

async function speak() {
  clearErrors();
  stop(true);
  const job = request();
  if (!job.input.trim()) {
    showError({ param: "input", message: "Type something to speak." });
    return;
  }
  stats.words = []; stats.highlighted = []; stats.firstAudioAt = null; stats.responseEndAt = null;
  lit = -1;
  ui.words.replaceChildren();
  ui.download.hidden = true;
  ui.player.removeAttribute("src");
  showStats({});
  const streaming = ui.stream.checked && CAN_STREAM;
  // Made in the click itself, so the browser lets it play.
  run = { controller: new AbortController(), audio: streaming ? new AudioContext() : null, sources: [] };
  if (run.audio) run.audio.resume().catch(() => {});
  ui.speak.disabled = true;
  ui.stop.disabled = false;
  setStatus("Speaking…");
  const started = performance.now();
  try {
    if (streaming) await streamed(job, started);
    else await whole(job, started);
  } catch (error) {
    if (error && error.name === "AbortError") setStatus("Stopped.");
    else showError({ param: null, message: `The request failed: ${error && error.message ? error.message : error}` });
  } finally {
    ui.speak.disabled = false;
    // A stream's sound may still be playing: Stop stays for it until it ends.
    if (run && !(run.audio && run.audio.state !== "closed")) run = null;
    ui.stop.disabled = !run;
  }
}

/** Streamed: SSE with base64 pcm, played with Web Audio as it arrives. */
async function streamed(job, started) {
  const body = { model: job.model, voice: job.voice, input: job.input, speed: job.speed,
    response_format: "pcm", stream_format: "sse" };
  if (job.timed) body.word_timestamps = true;
  const response = await api("v1/audio/speech", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body), signal: run.controller.signal,
  });
  const audio = run.audio;
  if (!response.ok) {
    finishPlayback();
    showError(await apiError(response));
    return;
  }
  let playAt = 0;
  let startAt = null;
  const chunks = [];
  let carry = null;
  let samples = 0;
  const play = (bytes) => {
    let data = bytes;
    if (carry) { data = new Uint8Array(carry.length + bytes.length); data.set(carry); data.set(bytes, carry.length); carry = null; }
    if (data.length % 2) { carry = data.slice(-1); data = data.slice(0, -1); }
    if (!data.length) return;
    chunks.push(data);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const n = data.length / 2;
    const buffer = audio.createBuffer(1, n, PCM_RATE);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < n; i++) channel[i] = view.getInt16(2 * i, true) / 32768;
    const source = audio.createBufferSource();
    source.buffer = buffer;
    source.connect(audio.destination);
    if (startAt === null) {
      startAt = audio.currentTime + 0.05;
      playAt = startAt;
      stats.firstAudioAt = performance.now();
      ui.ttfa.textContent = `${Math.round(stats.firstAudioAt - started)} ms`;
      follow(() => audio.currentTime - startAt, () => run && run.audio === audio);
    }
    playAt = Math.max(playAt, audio.currentTime);
    source.start(playAt);
    playAt += buffer.duration;
    samples += n;
    if (run) run.sources.push(source);
    ui.audioSeconds.textContent = seconds(samples / PCM_RATE);
  };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  let failed = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = pending.indexOf("\n\n")) >= 0) {
      const block = pending.slice(0, cut);
      pending = pending.slice(cut + 2);
      const line = block.split("\n").find((l) => l.startsWith("data: "));
      if (!line) continue;
      const event = JSON.parse(line.slice(6));
      if (event.type === "speech.audio.delta") {
        play(Uint8Array.from(atob(event.audio), (c) => c.charCodeAt(0)));
      } else if (event.type === "speech.audio.timestamps") {
        stats.words.push(...event.timestamps);
        renderWords(job.input, stats.words);
      } else if (event.type === "error") {
        failed = event.error;
      }
    }
  }
  stats.responseEndAt = performance.now();
  const total = (stats.responseEndAt - started) / 1000;
  showStats({ ttfa: stats.firstAudioAt ? (stats.firstAudioAt - started) / 1000 : null, total, audio: samples / PCM_RATE });
  if (failed) {
    finishPlayback();
    showError({ param: failed.param, message: failed.message });
    return;
  }
  offer(wav(new Blob(chunks), PCM_RATE), "wav");
  setStatus("Playing…");
  const left = Math.max(0, playAt - audio.currentTime);
  setTimeout(() => {
    if (run && run.audio === audio) finishPlayback();
  }, left * 1000 + 100);
}

/** Whole: one answer (with its words from /dev/captioned_speech when the model has them). */
async function whole(job, started) {
  const format = ui.format.value;
  const body = { model: job.model, voice: job.voice, input: job.input, speed: job.speed, response_format: format };
  const path = job.timed ? "dev/captioned_speech" : "v1/audio/speech";
  if (job.timed) body.stream = false;
  const response = await api(path, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body), signal: run.controller.signal,
  });
  if (!response.ok) {
    showError(await apiError(response));
    return;
  }
  let blob;
  if (job.timed) {
    const answer = await response.json();
    const bytes = Uint8Array.from(atob(answer.audio), (c) => c.charCodeAt(0));
    blob = new Blob([bytes], { type: answer.audio_format });
    stats.words = answer.timestamps || [];
    renderWords(job.input, stats.words);
  } else {
    blob = await response.blob();
  }
  stats.responseEndAt = stats.firstAudioAt = performance.now();
  const total = (stats.responseEndAt - started) / 1000;
  const audioSeconds = Number(response.headers.get("x-audio-duration-seconds")) || null;
  showStats({ ttfa: total, total, audio: audioSeconds });
  if (format === "pcm") offer(wav(await blob.arrayBuffer(), PCM_RATE), "wav");
  else offer(blob, format === "aac" ? "aac" : format);
  setStatus("Playing…");
  ui.player.play().catch(() => setStatus("Ready: press play."));
}

/** Keeps the highlight on the word being heard while `alive()`. */
function follow(position, alive) {
  const tick = () => {
    if (!alive()) return;
    highlight(position());
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

function finishPlayback() {
  if (run && run.audio) run.audio.close().catch(() => {});
  run = null;
  highlight(-1);
  ui.stop.disabled = true;
  setStatus("Done. The player has the whole audio.");
}

/** Stops the request (the function stops synthesizing) and the sound. */
function stop(quiet) {
  if (!run) return;
  run.controller.abort();
  for (const source of run.sources) {
    try { source.stop(); } catch (_) { /* not started */ }
  }
  if (run.audio) run.audio.close().catch(() => {});
  run = null;
  highlight(-1);
  ui.stop.disabled = true;
  ui.speak.disabled = false;
  if (!quiet) setStatus("Stopped.");
}

// ---- wiring ---------------------------------------------------------------------------------

ui.form.addEventListener("submit", (event) => { event.preventDefault(); speak(); });
ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); speak(); }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target !== ui.input) { event.preventDefault(); speak(); }
});
ui.input.addEventListener("input", countInput);
ui.model.addEventListener("change", fillVoices);
ui.stream.addEventListener("change", describeFormat);
ui.stop.addEventListener("click", () => stop(false));
ui.keySection.addEventListener("submit", (event) => {
  event.preventDefault();
  apiKey = ui.key.value.trim();
  sessionStorage.setItem(KEY_STORE, apiKey);
  clearErrors();
  loadModels();
});
// The player: highlight follows it, seeking included.
const fromPlayer = () => { if (!run) highlight(ui.player.currentTime); };
for (const name of ["timeupdate", "seeked", "seeking"]) ui.player.addEventListener(name, fromPlayer);
ui.player.addEventListener("play", () => follow(() => ui.player.currentTime, () => !ui.player.paused && !run));
ui.player.addEventListener("ended", () => highlight(-1));

if (!CAN_STREAM) {
  ui.stream.checked = false;
  ui.stream.disabled = true;
  $("stream-error").textContent = "This function runs with Lambda's buffered invoke mode: no streaming.";
}
countInput();
describeFormat();
loadModels().catch((error) => showError({ param: null, message: `Could not load the models: ${error.message}` }));
