// The coding workbench without page reloads: the answer's "Add" and "×" forms call the JSON
// API (/api/studies/{id}/coding/answers/...) and redraw that answer's codes. Every text from
// the server is set with textContent, never as HTML. Without JavaScript the forms still post.
"use strict";

(() => {
  const heading = document.getElementById("coding-study");
  if (!heading) return;
  const study = heading.dataset.study;
  const api = `/api/studies/${encodeURIComponent(study)}/coding`;
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  async function call(method, url, body) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try {
      data = await response.json();
    } catch (_) {
      data = {};
    }
    if (!response.ok) throw new Error(data.error || `request failed (${response.status})`);
    return data;
  }

  function status(card, text, isError) {
    const line = card.querySelector('[data-testid="answer-status"]');
    if (!line) return;
    line.textContent = text;
    line.classList.toggle("error", Boolean(isError));
  }

  function remember(card, name) {
    const input = card.querySelector('input[name="codes"]');
    const list = input && input.list;
    if (!list) return;
    const known = Array.from(list.options).some((o) => o.value === name);
    if (!known) {
      const option = document.createElement("option");
      option.value = name;
      list.appendChild(option);
    }
  }

  function drawCodes(card, codes) {
    const box = card.querySelector('[data-testid="answer-codes"]');
    box.replaceChildren();
    for (const code of codes) {
      const wrap = document.createElement("span");
      wrap.className = "coded";
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.dataset.testid = "answer-code";
      badge.textContent = [code.name, code.concept, code.category].filter(Boolean).join(" · ");
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.textContent = "×";
      remove.title = `remove ${code.name}`;
      remove.setAttribute("aria-label", `remove ${code.name}`);
      remove.addEventListener("click", () => untag(card, code.id, code.name));
      wrap.append(badge, " ", remove, " ");
      box.appendChild(wrap);
      remember(card, code.name);
    }
  }

  const answerUrl = (card) =>
    `${api}/answers/${encodeURIComponent(card.dataset.kind)}/${encodeURIComponent(card.dataset.id)}/codes`;

  async function tag(card, form) {
    const input = form.querySelector('input[name="codes"]');
    const names = input.value.split(",").map((n) => n.trim()).filter(Boolean);
    if (!names.length) return;
    status(card, "saving…");
    try {
      const data = await call("POST", answerUrl(card), { codes: names });
      drawCodes(card, data.codes);
      input.value = "";
      status(card, `saved: ${data.codes.map((c) => c.name).join(", ")}`);
    } catch (error) {
      status(card, error.message, true);
    }
  }

  async function untag(card, codeId, name) {
    status(card, "removing…");
    try {
      const data = await call("DELETE", `${answerUrl(card)}/${encodeURIComponent(codeId)}`);
      drawCodes(card, data.codes);
      status(card, `removed ${name}`);
    } catch (error) {
      status(card, error.message, true);
    }
  }

  for (const card of document.querySelectorAll('[data-testid="answer"][data-kind]')) {
    const add = card.querySelector('form[data-coding="tag"]');
    if (add) {
      add.addEventListener("submit", (event) => {
        event.preventDefault();
        tag(card, add);
      });
    }
    for (const form of card.querySelectorAll('form[data-coding="untag"]')) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const label = form.querySelector("button").getAttribute("aria-label") || "";
        untag(card, form.dataset.codeId, label.replace(/^remove /, ""));
      });
    }
  }
})();
