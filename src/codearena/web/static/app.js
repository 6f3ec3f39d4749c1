// codearena pages. No inline scripts (CSP script-src 'self'); untrusted text is only ever
// set with textContent. The one HTML string inserted is the server's rendering of an answer
// (Markdown with raw HTML disabled, every character escaped), parsed with DOMParser. An
// answer's page preview is never inserted: it is a sandboxed frame of its own URL.
"use strict";

const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

async function api(method, url, data) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: data === undefined ? undefined : JSON.stringify(data),
  });
  let json = null;
  try { json = await response.json(); } catch (e) { json = null; }
  if (!response.ok) throw new Error((json && json.error) || response.statusText);
  return json;
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function setServerHtml(target, html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  target.replaceChildren(...Array.from(doc.body.childNodes).map((n) => document.importNode(n, true)));
}

// ----------------------------------------------------------------------------- code tools
function copyCode(button) {
  const code = button.closest(".code-block").querySelector("code").textContent;
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(code).then(() => flash(button, "Copied"), () => flash(button, "Copy failed"));
  } else {
    const area = el("textarea"); area.value = code; document.body.append(area); area.select();
    document.execCommand("copy"); area.remove(); flash(button, "Copied");
  }
}

function downloadCode(button) {
  const code = button.closest(".code-block").querySelector("code").textContent;
  const url = URL.createObjectURL(new Blob([code], { type: "text/plain" }));
  const link = el("a", { href: url, download: button.dataset.filename || "solution.txt" });
  document.body.append(link); link.click(); link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function flash(button, text) {
  const old = button.textContent; button.textContent = text;
  setTimeout(() => { button.textContent = old; }, 1200);
}

// ----------------------------------------------------------------------------- task page
function taskPage() {
  const body = document.body;
  const taskId = body.dataset.task;
  const blind = body.dataset.mode === "blind";
  const running = new Set();
  // turn 1 is the task's answers; a follow-up or repair round streams turn N (data-live-turn)
  const liveTurn = Number(body.dataset.liveTurn || 0);
  const column = (p, t) => document.querySelector(`.answer[data-position="${p}"][data-turn="${t || 1}"]`);
  const key = (p, t) => `${t || 1}:${p}`;
  const part = (col, name) => col.querySelector(`[data-role="${name}"]`);
  // Elapsed times count from the task's start on the server's clock: the page gets the
  // seconds so far (data-elapsed, a snapshot's timing) and counts on from there, so a reload
  // shows the same times. A finished answer keeps the server's figure.
  let base = performance.now() - 1000 * Number(body.dataset.elapsed || 0);
  const seconds = () => Math.max(0, (performance.now() - base) / 1000);
  const finished = new Map();

  function streamTarget(col) {
    const holder = part(col, "body");
    let pre = holder.querySelector("pre.streaming");
    if (!pre) { pre = el("pre", { class: "streaming" }); holder.replaceChildren(pre); }
    return pre;
  }

  // waiting (no token yet), retrying (the gateway retries after a 429 or a passing error),
  // streaming (from the first token), ok, error
  function setStatus(col, status) {
    if (!col) return;
    const badge = part(col, "status");
    badge.textContent = status; badge.className = `badge status-${status}`;
    if (status !== "retrying") part(col, "retry").hidden = true;
  }

  function shownStatus(a) {
    if (a.status === "pending") return a.retries ? "retrying" : "waiting";
    return a.status;
  }

  function showRetry(col, retries, reason) {
    if (!col) return;
    const note = part(col, "retry");
    note.textContent = `retry ${retries || ""}: ${reason || "retrying"}`;
    note.hidden = false;
  }

  function showElapsed(col, value) {
    part(col, "elapsed").textContent = `${Number(value).toFixed(1)} s`;
  }

  function applyTiming(timing) {
    if (!timing || liveTurn > 1) return;
    if (timing.elapsed_s !== null && timing.elapsed_s !== undefined) {
      base = performance.now() - 1000 * timing.elapsed_s;
    }
    for (const t of timing.answers || []) {
      const col = column(t.position);
      if (!col) continue;
      if (t.finished_s !== null && t.finished_s !== undefined) {
        finished.set(key(t.position), t.finished_s);
        showElapsed(col, t.finished_s);
      }
      if (t.first_token_s !== null && t.first_token_s !== undefined) {
        part(col, "elapsed").title = `first token after ${t.first_token_s.toFixed(1)} s`;
      }
    }
  }

  function apply(a) {
    const col = column(a.position, a.turn);
    const k = key(a.position, a.turn);
    if (!col) return;
    if (a.name) part(col, "name").textContent = a.name;
    if (a.status) {
      const status = shownStatus(a);
      // a retry announced live stays shown until the first token
      if (!(status === "waiting" && part(col, "status").textContent === "retrying")) setStatus(col, status);
      if (status === "retrying") showRetry(col, a.retries, a.retry_reason);
    }
    const holder = part(col, "body");
    if (a.html !== undefined) {
      // An answer is rendered once: the reveal after a vote or a stream's snapshot brings the
      // same text again, and re-rendering it would drop its Run results.
      if (holder.dataset.rendered !== "true") {
        setServerHtml(holder, a.html);
        holder.dataset.rendered = "true";
      }
      running.delete(k);
      if (!finished.has(k)) { finished.set(k, seconds()); showElapsed(col, seconds()); }
      enableAnswer(col);
    } else if (a.text !== undefined) {
      if (a.text) streamTarget(col).textContent = a.text;
      running.add(k);
    }
    if (a.self_identified) {
      const notice = document.querySelector('[data-role="self-identified-notice"]');
      if (notice) notice.hidden = false;
    }
    const error = part(col, "error");
    error.textContent = a.error || ""; error.hidden = !a.error;
    if (a.completion_tokens !== undefined && a.completion_tokens !== null) {
      part(col, "tokens").textContent = `${a.completion_tokens} tokens`;
    }
    if (a.cost_usd !== undefined && a.cost_usd !== null) {
      part(col, "cost").textContent = `$${Number(a.cost_usd).toFixed(5)}`;
    }
  }

  function tick() {
    const now = seconds();
    for (const k of running) {
      const [t, p] = k.split(":");
      if (!finished.has(k) && column(p, t)) showElapsed(column(p, t), now);
    }
  }

  function enableRuns(scope) {
    scope.querySelectorAll('[data-action="run"], [data-action="fix-open"], [data-action="preview-open"]').forEach((b) => {
      // an answer is fixed by hand once: an ended attempt keeps its Fix button disabled
      const fixed = b.dataset.action === "fix-open" && fixStatus(b.closest(".answer")).dataset.outcome;
      if (!fixed) b.disabled = false;
    });
  }

  // An answer that has arrived can be run, rated and upvoted while the others still stream;
  // the blind vote waits for both answers.
  function enableAnswer(col) {
    enableRuns(col);
    col.querySelectorAll('[data-testid="rating-save"], [data-action="upvote"]').forEach((b) => {
      if (b.textContent !== "Upvoted") b.disabled = false;
    });
  }

  function complete() {
    body.dataset.complete = "true";
    running.clear();
    document.querySelector('[data-role="task-status"]').textContent = "All answers are in.";
    const followUp = document.querySelector('form[data-role="follow-up"]');
    if (followUp) followUp.hidden = false;
    enableRuns(document);
    document.querySelectorAll('[data-testid="rating-save"], [data-action="upvote"]').forEach((b) => {
      if (b.textContent !== "Upvoted") b.disabled = false;
    });
    if (body.dataset.voted !== "true") {
      document.querySelectorAll("[data-vote]").forEach((b) => { b.disabled = false; });
    }
  }

  document.querySelectorAll('[data-role="elapsed"]').forEach((span) => {
    const col = span.closest(".answer");
    if (span.dataset.finished !== "") finished.set(key(col.dataset.position, col.dataset.turn), Number(span.dataset.finished));
  });
  if (body.dataset.complete === "true" && !liveTurn) {
    complete();
  } else {
    const streamed = liveTurn ? `.answer[data-turn="${liveTurn}"]` : '.answer[data-turn="1"]';
    if (liveTurn) base = performance.now();
    document.querySelectorAll(streamed).forEach((col) => {
      if (part(col, "body").dataset.rendered !== "true") running.add(key(col.dataset.position, col.dataset.turn));
    });
    tick();
    const timer = setInterval(tick, 100);
    const turnQuery = liveTurn ? `?turn=${liveTurn}` : "";
    const source = new EventSource(`/api/tasks/${encodeURIComponent(taskId)}/events${turnQuery}`);
    source.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "snapshot") { applyTiming(event.timing); event.answers.forEach(apply); }
      else if (event.type === "delta") {
        const col = column(event.position, event.turn);
        setStatus(col, "streaming");
        if (col) streamTarget(col).append(document.createTextNode(event.text));
      } else if (event.type === "retry") {
        setStatus(column(event.position, event.turn), "retrying");
        showRetry(column(event.position, event.turn), event.retries, event.reason);
      }
      else if (event.type === "done") apply(event);
      else if (event.type === "end") {
        source.close(); clearInterval(timer); tick(); complete();
        const send = document.querySelector('[data-testid="follow-up-send"]');
        if (send) send.disabled = false;
        if (event.error) document.querySelector('[data-role="task-status"]').textContent = event.error;
      }
    };
  }

  // a run's verdict, tests and output (text nodes only) in ``out``
  function showRun(out, r, testid) {
    const tests = r.tests_total !== null && r.tests_total !== undefined
      ? ` · tests passed ${r.tests_passed}/${r.tests_total}`
      : r.verdict === "ran" ? " · exit 0, no tests to check it" : "";
    const head = el("div", {});
    head.append(el("span", { class: `verdict-${r.verdict}`, "data-testid": testid }, r.verdict),
      el("span", {}, `${tests} · ${Math.round(r.duration_ms)} ms`));
    out.replaceChildren(head);
    if (r.stdout) out.append(el("pre", {}, r.stdout));
    if (r.stderr) out.append(el("pre", { class: "error" }, r.stderr));
    showArtifacts(out, r.artifacts || []);
  }

  // the images a run wrote: an <img> of a data: URL each (an SVG there runs no script), or a
  // line saying why one was not kept; names are text nodes
  const IMAGE_TYPES = ["image/png", "image/svg+xml"];
  function showArtifacts(out, artifacts) {
    if (!artifacts.length) return;
    const box = el("div", { class: "run-artifacts", "data-testid": "run-artifacts" });
    for (const a of artifacts) {
      const size = a.size_bytes >= 1024 ? `${Math.round(a.size_bytes / 1024)} KB` : `${a.size_bytes} bytes`;
      if (a.data_base64 && IMAGE_TYPES.includes(a.media_type)) {
        const figure = el("figure", {});
        figure.append(
          el("img", { "data-testid": "run-artifact", alt: a.name, src: `data:${a.media_type};base64,${a.data_base64}` }),
          el("figcaption", { class: "small" }, `${a.name} · ${size}`));
        box.append(figure);
      } else {
        box.append(el("div", { class: "small", "data-testid": "run-artifact-dropped" },
          `${a.name} (${size}) not kept: ${a.note}`));
      }
    }
    out.append(box);
  }

  async function run(button) {
    const col = button.closest(".answer");
    const out = button.closest(".code-block").querySelector(".run-result");
    out.hidden = false; out.replaceChildren(el("span", {}, "Running…"));
    button.disabled = true;
    try {
      const r = await api("POST", `/api/tasks/${taskId}/answers/${col.dataset.position}/run?turn=${col.dataset.turn || 1}`,
        { block_index: Number(button.dataset.block) });
      // a run that did not pass can go back to its model as the next turn
      const sendError = part(col, "send-error");
      if (sendError) sendError.hidden = r.verdict === "passed" || r.verdict === "ran";
      showRun(out, r, "verdict");
    } catch (error) {
      out.replaceChildren(el("span", { class: "error" }, error.message));
    } finally { button.disabled = false; }
  }

  // ------------------------------------------------------------------- fix it yourself
  // The editor (CodeMirror 5, vendored under /static/vendor) holds the answer's code. The
  // server times the attempt from its activity events: opening it, input pings (at most one
  // every 10 s while the participant types or clicks in the editor, carrying only how many
  // inputs; never what was typed), each run and the end. The browser's clock measures nothing.
  const PING_MS = 10000;
  const openFixes = new Map();
  const MODES = {
    python: "python", py: "python", javascript: "javascript", js: "javascript", node: "javascript",
    typescript: "text/typescript", ts: "text/typescript", c: "text/x-csrc", cpp: "text/x-c++src",
    "c++": "text/x-c++src", java: "text/x-java", csharp: "text/x-csharp", cs: "text/x-csharp",
    "c#": "text/x-csharp", kotlin: "text/x-kotlin", scala: "text/x-scala", go: "go", golang: "go",
    bash: "shell", sh: "shell", shell: "shell", ruby: "ruby", rb: "ruby", rust: "rust", rs: "rust",
    php: "text/x-php", matlab: "octave", octave: "octave",
  };

  function fixStatus(col) { return part(col, "fix-status"); }

  function showFixStatus(col, f) {
    const status = fixStatus(col);
    status.hidden = false;
    status.dataset.fix = f.id; status.dataset.outcome = f.outcome || "";
    const head = f.outcome ? `Fixed by hand: ${f.outcome === "done" ? "done" : "abandoned"}` : "Your fix is open";
    const verdict = f.verdict ? ` · last run ${f.verdict}` : "";
    const lines = f.lines_added !== null && f.lines_added !== undefined ? ` · +${f.lines_added} −${f.lines_removed} lines` : "";
    const runs = ` · ${f.runs} run${f.runs === 1 ? "" : "s"}`;
    status.textContent = `${head}${verdict}${runs}${lines} · ${Math.round(f.active_seconds)} s active`;
  }

  // a plain text area when CodeMirror could not load (the same three calls)
  function makeEditor(box, code, language) {
    if (window.CodeMirror) {
      return window.CodeMirror(box, {
        value: code, mode: MODES[language] || null, lineNumbers: true, indentUnit: 4,
        viewportMargin: Infinity,
      });
    }
    const area = el("textarea", { rows: "12", spellcheck: "false" }); area.value = code; box.append(area);
    return {
      getValue: () => area.value,
      setOption: (name, value) => { if (name === "readOnly") area.readOnly = value; },
      focus: () => area.focus(),
      on: (name, handler) => area.addEventListener({ change: "input", keydown: "keydown", mousedown: "mousedown" }[name], handler),
    };
  }

  function ping(state) {
    state.timer = null;
    if (!state.inputs || state.ended) return;
    const inputs = state.inputs; state.inputs = 0; state.lastPing = Date.now();
    api("POST", `/api/tasks/${taskId}/fixes/${state.id}/activity`, { inputs })
      .then((f) => showFixStatus(state.col, f), () => {});
  }

  function input(state) {
    state.inputs += 1;
    if (state.timer === null && !state.ended) {
      state.timer = setTimeout(() => ping(state), Math.max(0, state.lastPing + PING_MS - Date.now()));
    }
  }

  function settle(state) {  // a run or the end is an activity event itself
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null; state.inputs = 0; state.lastPing = Date.now();
  }

  function showFix(col, opener, f) {
    if (openFixes.has(f.id)) { openFixes.get(f.id).editor.focus(); return; }
    const chosen = col.querySelector(`[data-action="fix-open"][data-block="${f.block_index}"]`) || opener;
    const block = chosen.closest(".code-block");
    const panel = block.querySelector('[data-role="fix-panel"]');
    const box = el("div", { class: "fix-editor", "data-testid": "fix-editor" });
    const runButton = el("button", { type: "button", class: "btn", "data-testid": "fix-run" }, "Run my fix");
    const done = el("button", { type: "button", class: "btn primary", "data-testid": "fix-done" }, "Done: it works");
    const abandon = el("button", { type: "button", class: "btn", "data-testid": "fix-abandon" }, "Give up");
    const tools = el("div", { class: "fix-tools" });
    tools.append(runButton, done, abandon);
    const result = el("div", { class: "run-result", "data-testid": "fix-result" });
    result.hidden = true;
    panel.replaceChildren(el("p", { class: "small" }, "Fix it yourself: edit the code, run it against the task's tests, then say whether it works."), box, tools, result);
    panel.hidden = false;
    const editor = makeEditor(box, f.code, block.dataset.language);
    const state = { id: f.id, col, editor, inputs: 0, lastPing: 0, timer: null, ended: false };
    openFixes.set(f.id, state);
    for (const name of ["change", "keydown", "mousedown"]) editor.on(name, () => input(state));
    const buttons = [runButton, done, abandon];
    const busy = (on) => buttons.forEach((b) => { b.disabled = on || state.ended; });

    runButton.addEventListener("click", async () => {
      settle(state); busy(true);
      result.hidden = false; result.replaceChildren(el("span", {}, "Running…"));
      try {
        const r = await api("POST", `/api/tasks/${taskId}/fixes/${f.id}/run`, { code: editor.getValue() });
        showRun(result, r.run, "fix-verdict");
        showFixStatus(col, r.fix);
      } catch (error) {
        result.replaceChildren(el("span", { class: "error" }, error.message));
      } finally { busy(false); }
    });

    const end = async (outcome) => {
      settle(state); busy(true);
      try {
        const r = await api("POST", `/api/tasks/${taskId}/fixes/${f.id}/${outcome}`, { code: editor.getValue() });
        state.ended = true;
        editor.setOption("readOnly", true);
        showFixStatus(col, r);
        col.querySelectorAll('[data-action="fix-open"]').forEach((b) => { b.disabled = true; });
      } catch (error) {
        result.hidden = false; result.replaceChildren(el("span", { class: "error" }, error.message));
      } finally { busy(false); }
    };
    done.addEventListener("click", () => end("done"));
    abandon.addEventListener("click", () => end("abandon"));
    showFixStatus(col, f);
    editor.focus();
  }

  async function openFix(button) {
    const col = button.closest(".answer");
    button.disabled = true;
    try {
      const f = await api("POST", `/api/tasks/${taskId}/answers/${col.dataset.position}/fix?turn=${col.dataset.turn || 1}`,
        { block_index: Number(button.dataset.block) });
      showFix(col, button, f);
    } catch (error) {
      const status = fixStatus(col); status.hidden = false; status.textContent = error.message;
    } finally { button.disabled = fixStatus(col).dataset.outcome ? true : false; }
  }

  // ------------------------------------------------------------------- previews
  // An answer that is a web page is framed only when asked, from its own URL: the server sends
  // it under a policy that sandboxes it (an opaque origin: no cookies, no API, no forms, popups
  // or top-level navigation) and lets it load nothing; the frame is sandboxed here too.
  function openPreview(button) {
    const col = button.closest(".answer");
    const holder = button.closest('[data-role="preview"]');
    const old = holder.querySelector("iframe");
    if (old) old.remove();
    const url = `/preview/tasks/${encodeURIComponent(taskId)}/answers/${col.dataset.position}?turn=${col.dataset.turn || 1}`;
    holder.append(el("iframe", {
      sandbox: "allow-scripts", referrerpolicy: "no-referrer", class: "preview-frame",
      title: "Preview of the answer's page (sandboxed)", "data-testid": "preview", src: url,
    }));
  }

  async function vote(choice) {
    const status = document.querySelector('[data-role="vote-status"]');
    try {
      const r = await api("POST", `/api/tasks/${taskId}/vote`, { choice });
      body.dataset.voted = "true";
      document.querySelectorAll("[data-vote]").forEach((b) => { b.disabled = true; });
      // the buttons' own wording ("Both are bad"), never the API key ("both_bad")
      const button = document.querySelector(`[data-vote="${r.choice}"]`);
      const label = r.choice_label || (button ? button.textContent : r.choice);
      const excluded = r.self_identified ? " It is excluded from the analysis (an answer named a model)." : "";
      status.textContent = `Your vote: ${label}.${excluded} The models are revealed.`;
      r.answers.forEach(apply);
      (r.turns || []).forEach((t) => t.answers.forEach(apply));
      enableRuns(document);
    } catch (error) { status.textContent = error.message; }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button || button.disabled) return;
    if (button.dataset.action === "run") run(button);
    else if (button.dataset.action === "fix-open") openFix(button);
    else if (button.dataset.action === "preview-open") openPreview(button);
    else if (button.dataset.vote) vote(button.dataset.vote);
    else if (button.dataset.action === "upvote") {
      const col = button.closest(".answer");
      api("POST", `/api/tasks/${taskId}/answers/${col.dataset.position}/upvote?turn=${col.dataset.turn || 1}`).then(
        () => { button.textContent = "Upvoted"; button.disabled = true; },
        (error) => { part(col, "rating-status").textContent = error.message; });
    }
  });

  document.addEventListener("keydown", (event) => {
    if (!blind || body.dataset.complete !== "true" || body.dataset.voted === "true") return;
    if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    const choice = { a: "a", b: "b", t: "tie", x: "both_bad" }[event.key.toLowerCase()];
    if (choice) { event.preventDefault(); vote(choice); }
  });

  document.querySelectorAll('form[data-role="rating"]').forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const col = form.closest(".answer");
      const status = part(col, "rating-status");
      const data = {};
      for (const name of ["correctness", "quality", "usefulness"]) {
        const v = form.elements[name].value; if (v) data[name] = Number(v);
      }
      const minutes = form.elements.minutes_to_usable.value;
      if (minutes !== "") data.minutes_to_usable = Number(minutes);
      const comment = form.elements.comment.value.trim();
      if (comment) data.comment = comment;
      try {
        await api("POST", `/api/tasks/${taskId}/answers/${col.dataset.position}/rating?turn=${col.dataset.turn || 1}`, data);
        status.textContent = "saved";
      } catch (error) { status.textContent = error.message; }
    });
  });
}

// ----------------------------------------------------------------------------- survey page
function surveyPage() {
  document.querySelectorAll("fieldset.question").forEach((set) => {
    set.addEventListener("change", async () => {
      const kind = set.dataset.kind;
      let value;
      if (kind === "multi") value = Array.from(set.querySelectorAll("input:checked")).map((i) => i.value);
      else if (kind === "text") value = set.querySelector("textarea").value;
      else if (kind === "number") {
        const text = set.querySelector("input").value.trim();
        value = text === "" ? null : Number(text);
      }
      else {
        const checked = set.querySelector("input:checked");
        value = checked ? (kind === "rating" ? Number(checked.value) : checked.value) : null;
      }
      const saved = set.querySelector('[data-role="saved"]');
      try {
        await api("PUT", `/api/survey/answers/${encodeURIComponent(set.dataset.question)}`, { value });
        saved.textContent = "saved"; saved.className = "small";
        set.classList.remove("invalid"); set.removeAttribute("aria-invalid");
        const problem = set.querySelector('[data-role="question-error"]');
        if (problem) problem.remove();
      } catch (error) {
        saved.textContent = error.message; saved.className = "small error";
        set.classList.add("invalid"); set.setAttribute("aria-invalid", "true");
      }
    });
  });
}

// ----------------------------------------------------------------------------- study page
function studyPage() {
  const form = document.getElementById("task-form");
  if (!form) return;
  form.addEventListener("submit", () => {
    const button = form.querySelector('[data-testid="generate"]');
    setTimeout(() => { button.disabled = true; button.textContent = "Sending…"; }, 0);
  });
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  if (button.dataset.action === "copy") copyCode(button);
  else if (button.dataset.action === "download") downloadCode(button);
});

const pages = { task: taskPage, survey: surveyPage, study: studyPage };
document.addEventListener("DOMContentLoaded", () => {
  const page = pages[document.body.dataset.page];
  if (page) page();
});
