// hearth's web page: chat over /v1/chat/completions (streamed) and the model library over
// Ollama's /api routes. Everything comes from the server that served this page; conversations
// stay in this browser (localStorage), the API key in this tab (sessionStorage).
"use strict";

const $ = (selector) => document.querySelector(selector);
const STORE = "hearth.conversations";
const CURRENT = "hearth.current";
const KEY = "hearth.apiKey";

// ---- talking to the server ---------------------------------------------------------------------

class ApiError extends Error {}

// The message of an error body: OpenAI's {error: {message}} or Ollama's {error: "..."}.
function errorMessage(status, text) {
  try {
    const body = JSON.parse(text);
    const e = body.error;
    if (typeof e === "string") return `${e} (HTTP ${status})`;
    if (e && e.message) return `${e.message} (HTTP ${status})`;
  } catch (_) { /* not JSON: the status says enough */ }
  return `the server answered HTTP ${status}`;
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  const key = sessionStorage.getItem(KEY);
  if (key) headers.Authorization = `Bearer ${key}`;
  if (options.body) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, Object.assign({}, options, { headers }));
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError("cannot reach the server (is hearth serve still running?)");
  }
  if (response.status === 401) {
    sessionStorage.removeItem(KEY);
    $("#key-form").hidden = false;
    $("#key-input").focus();
    throw new ApiError("this server needs an API key: enter it above");
  }
  if (!response.ok) throw new ApiError(errorMessage(response.status, await response.text()));
  return response;
}

async function apiJson(path, options) {
  return (await api(path, options)).json();
}

// Calls onItem with each JSON item of a streamed body: NDJSON lines, or SSE "data: " lines.
async function readStream(response, onItem) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const take = (line) => {
    line = line.trim();
    if (line.startsWith("data:")) line = line.slice(5).trim();
    else if (line.startsWith(":") || line.startsWith("event:")) return;
    if (line === "" || line === "[DONE]") return;
    onItem(JSON.parse(line));
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const lines = buffer.split("\n");
    buffer = lines.pop();
    lines.forEach(take);
  }
  take(buffer + decoder.decode());
}

function showError(message) {
  const box = $("#error");
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  $("#error").hidden = true;
  $("#error").textContent = "";
}

// ---- conversations (localStorage) --------------------------------------------------------------

let conversations = [];
let currentId = null;

function loadConversations() {
  try {
    conversations = JSON.parse(localStorage.getItem(STORE) || "[]");
    if (!Array.isArray(conversations)) conversations = [];
  } catch (_) {
    conversations = [];
  }
  currentId = localStorage.getItem(CURRENT);
  if (!conversations.some((c) => c.id === currentId)) currentId = null;
}

function saveConversations() {
  localStorage.setItem(STORE, JSON.stringify(conversations));
  if (currentId) localStorage.setItem(CURRENT, currentId);
  else localStorage.removeItem(CURRENT);
}

function current() {
  return conversations.find((c) => c.id === currentId) || null;
}

function newConversation() {
  const c = {
    id: `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
    title: "New conversation",
    model: $("#model").value || "",
    system: "",
    temperature: "",
    top_p: "",
    max_tokens: "",
    messages: [],
  };
  conversations.unshift(c);
  currentId = c.id;
  saveConversations();
  return c;
}

// The OpenAI messages format (as `hearth chat /load` reads it): roles and contents only.
function openaiMessages(c) {
  const out = [];
  if (c.system) out.push({ role: "system", content: c.system });
  for (const m of c.messages) {
    if (m.failed) continue;  // an answer that never came: nothing to send back
    const item = { role: m.role, content: m.content || "" };
    if (m.tool_calls && m.tool_calls.length) item.tool_calls = m.tool_calls;
    out.push(item);
  }
  return out;
}

function exportConversation(c) {
  const blob = new Blob([JSON.stringify(openaiMessages(c), null, 2)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `${c.title.replace(/[^\w.-]+/g, "_") || "conversation"}.json`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function smallButton(label, ariaLabel, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.setAttribute("aria-label", ariaLabel);
  b.addEventListener("click", onClick);
  return b;
}

function renderConversationList() {
  const list = $("#conversations");
  list.replaceChildren();
  for (const c of conversations) {
    const item = document.createElement("li");
    item.className = c.id === currentId ? "current" : "";
    const open = smallButton(c.title, `Open conversation ${c.title}`, () => selectConversation(c.id));
    open.className = "open";
    if (c.id === currentId) open.setAttribute("aria-current", "true");
    item.append(open,
      smallButton("Rename", `Rename ${c.title}`, () => {
        const title = prompt("New name of the conversation", c.title);
        if (title && title.trim()) { c.title = title.trim(); saveConversations(); renderConversationList(); }
      }),
      smallButton("Export", `Export ${c.title} as JSON`, () => exportConversation(c)),
      smallButton("Delete", `Delete ${c.title}`, () => {
        if (!confirm(`Delete the conversation "${c.title}"?`)) return;
        conversations = conversations.filter((x) => x !== c);
        if (currentId === c.id) currentId = conversations.length ? conversations[0].id : null;
        saveConversations();
        renderAll();
      }));
    list.append(item);
  }
}

function selectConversation(id) {
  currentId = id;
  saveConversations();
  renderAll();
}

// The settings fields show the current conversation's values and write back to it.
function renderSettings() {
  const c = current();
  $("#system").value = c ? c.system : "";
  $("#temperature").value = c ? c.temperature : "";
  $("#top-p").value = c ? c.top_p : "";
  $("#max-tokens").value = c ? c.max_tokens : "";
  if (c && c.model && [...$("#model").options].some((o) => o.value === c.model)) $("#model").value = c.model;
}

function bindSetting(selector, field) {
  $(selector).addEventListener("change", () => {
    const c = current() || newConversation();
    c[field] = $(selector).value;
    saveConversations();
    renderConversationList();
  });
}

// ---- rendering messages ------------------------------------------------------------------------

function renderMarkdown(text) {
  const html = marked.parse(text, { mangle: false, headerIds: false });
  // No style attributes: the Content-Security-Policy would refuse them anyway.
  return DOMPurify.sanitize(html, { FORBID_ATTR: ["style"], FORBID_TAGS: ["style"] });
}

function decorateCode(container) {
  for (const code of container.querySelectorAll("pre code")) {
    hljs.highlightBlock(code);
    const copy = smallButton("Copy", "Copy the code", async () => {
      try {
        await navigator.clipboard.writeText(code.textContent);
        copy.textContent = "Copied";
      } catch (_) {
        copy.textContent = "Copy failed";
      }
    });
    copy.className = "copy";
    code.parentElement.append(copy);
  }
}

function formatStats(stats) {
  if (!stats) return "";
  const parts = [];
  if (stats.prompt_tokens !== undefined) parts.push(`${stats.prompt_tokens} prompt tokens`);
  if (stats.completion_tokens !== undefined) parts.push(`${stats.completion_tokens} tokens`);
  if (stats.tokens_per_second) parts.push(`${stats.tokens_per_second.toFixed(1)} t/s`);
  return parts.join(" · ");
}

// Fills (or refills, while streaming) one message's element.
function fillMessage(element, m) {
  element.replaceChildren();
  if (m.role === "user") {
    element.textContent = m.content;
    return;
  }
  if (m.reasoning_content) {
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "Reasoning";
    const body = document.createElement("div");
    body.className = "reasoning";
    body.textContent = m.reasoning_content;
    details.append(summary, body);
    element.append(details);
  }
  const content = document.createElement("div");
  content.className = "content";
  content.innerHTML = renderMarkdown(m.content || "");
  decorateCode(content);
  element.append(content);
  for (const call of m.tool_calls || []) {
    const line = document.createElement("div");
    line.className = "tool-call";
    line.textContent = `Tool call: ${call.function.name}(${call.function.arguments || ""})`;
    element.append(line);
  }
  if (m.note) {
    const note = document.createElement("div");
    note.className = "note";
    note.textContent = m.note;
    element.append(note);
  }
  const stats = formatStats(m.stats);
  if (stats) {
    const line = document.createElement("div");
    line.className = "stats";
    line.textContent = stats;
    element.append(line);
  }
}

function messageElement(m) {
  const element = document.createElement("div");
  element.className = `message ${m.role}`;
  fillMessage(element, m);
  return element;
}

function renderMessages() {
  const c = current();
  $("#messages").replaceChildren(...(c ? c.messages.map(messageElement) : []));
}

function renderAll() {
  renderConversationList();
  renderSettings();
  renderMessages();
}

// ---- sending -----------------------------------------------------------------------------------

let controller = null;

function setBusy(busy) {
  $("#send").disabled = busy;
  $("#stop").disabled = !busy;
}

function requestBody(c) {
  const body = {
    model: c.model,
    messages: openaiMessages(c),
    stream: true,
    stream_options: { include_usage: true },
  };
  if (c.temperature !== "") body.temperature = Number(c.temperature);
  if (c.top_p !== "") body.top_p = Number(c.top_p);
  if (c.max_tokens !== "") body.max_tokens = Number(c.max_tokens);
  return body;
}

// Adds one streamed chunk's delta to the answer (tool calls arrive in pieces, by index).
function applyDelta(answer, delta) {
  if (delta.content) answer.content += delta.content;
  if (delta.reasoning_content) answer.reasoning_content = (answer.reasoning_content || "") + delta.reasoning_content;
  for (const piece of delta.tool_calls || []) {
    answer.tool_calls = answer.tool_calls || [];
    const index = piece.index !== undefined ? piece.index : answer.tool_calls.length;
    const call = answer.tool_calls[index] ||
      (answer.tool_calls[index] = { id: piece.id || "", type: "function", function: { name: "", arguments: "" } });
    if (piece.id) call.id = piece.id;
    if (piece.function && piece.function.name) call.function.name += piece.function.name;
    if (piece.function && piece.function.arguments) call.function.arguments += piece.function.arguments;
  }
}

async function send(text) {
  clearError();
  const c = current() || newConversation();
  c.model = $("#model").value;
  if (!c.model) {
    showError("no model to chat with: pull one in the Library tab");
    return;
  }
  if (c.messages.length === 0) c.title = text.slice(0, 40);
  c.messages.push({ role: "user", content: text });
  const answer = { role: "assistant", content: "" };
  const body = requestBody(c);
  c.messages.push(answer);
  saveConversations();
  renderConversationList();
  renderMessages();
  const element = $("#messages").lastElementChild;
  controller = new AbortController();
  setBusy(true);
  const started = performance.now();
  let firstToken = null;
  let pending = false;
  const redraw = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; fillMessage(element, answer); });
  };
  try {
    const response = await api("/v1/chat/completions", {
      method: "POST", body: JSON.stringify(body), signal: controller.signal,
    });
    await readStream(response, (chunk) => {
      if (chunk.error) throw new ApiError(chunk.error.message || String(chunk.error));
      const choice = chunk.choices && chunk.choices[0];
      if (choice && choice.delta) {
        if (firstToken === null) firstToken = performance.now();
        applyDelta(answer, choice.delta);
        redraw();
      }
      if (chunk.usage) answer.stats = { prompt_tokens: chunk.usage.prompt_tokens, completion_tokens: chunk.usage.completion_tokens };
      if (chunk.timings && chunk.timings.predicted_per_second) {
        answer.stats = Object.assign(answer.stats || {}, { tokens_per_second: chunk.timings.predicted_per_second });
      }
    });
    // Without the server's timings: tokens over the time from the first streamed token.
    if (answer.stats && !answer.stats.tokens_per_second && firstToken !== null && answer.stats.completion_tokens > 1) {
      const seconds = (performance.now() - firstToken) / 1000;
      if (seconds > 0) answer.stats.tokens_per_second = (answer.stats.completion_tokens - 1) / seconds;
    }
  } catch (e) {
    if (e.name === "AbortError") {
      answer.note = "Stopped.";
    } else {
      answer.note = "No answer: see the error above.";
      answer.failed = true;
      showError(e.message);
    }
  } finally {
    controller = null;
    setBusy(false);
    answer.elapsed_ms = Math.round(performance.now() - started);
    saveConversations();
    fillMessage(element, answer);
  }
}

// ---- library -----------------------------------------------------------------------------------

function formatBytes(n) {
  if (!n) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

async function contextLength(name) {
  try {
    const show = await apiJson("/api/show", { method: "POST", body: JSON.stringify({ model: name }) });
    const info = show.model_info || {};
    const key = Object.keys(info).find((k) => k.endsWith(".context_length"));
    return key ? String(info[key]) : "";
  } catch (_) {
    return "";
  }
}

async function refreshLibrary() {
  clearError();
  try {
    const [tags, ps] = await Promise.all([apiJson("/api/tags"), apiJson("/api/ps")]);
    const loaded = new Set((ps.models || []).map((m) => m.name));
    const rows = await Promise.all((tags.models || []).map(async (m) => {
      const d = m.details || {};
      const row = document.createElement("tr");
      const name = document.createElement("th");
      name.scope = "row";
      name.textContent = m.name;
      row.append(name, cell(formatBytes(m.size)), cell(d.quantization_level || ""), cell(d.family || ""),
        cell(d.parameter_size || ""), cell(await contextLength(m.name)), cell(loaded.has(m.name) ? "yes" : "no"));
      const actions = document.createElement("td");
      actions.append(smallButton("Delete", `Delete ${m.name}`, () => deleteModel(m.name)));
      row.append(actions);
      return row;
    }));
    $("#models tbody").replaceChildren(...rows);
  } catch (e) {
    showError(e.message);
  }
}

async function deleteModel(name) {
  if (!confirm(`Delete the model ${name} from the library?`)) return;
  try {
    await api("/api/delete", { method: "DELETE", body: JSON.stringify({ model: name }) });
    await Promise.all([refreshLibrary(), refreshModels()]);
  } catch (e) {
    showError(e.message);
  }
}

async function pull(name) {
  clearError();
  const progress = $("#pull-progress");
  const status = $("#pull-status");
  progress.hidden = false;
  progress.removeAttribute("value");  // indeterminate until sizes arrive
  status.textContent = `pulling ${name}…`;
  try {
    const response = await api("/api/pull", { method: "POST", body: JSON.stringify({ model: name }) });
    await readStream(response, (item) => {
      if (item.error) throw new ApiError(`pull of ${name} failed: ${item.error}`);
      if (item.total) { progress.max = item.total; progress.value = item.completed || 0; }
      status.textContent = item.status || "";
    });
    status.textContent = `${name}: pulled`;
    await Promise.all([refreshLibrary(), refreshModels()]);
  } catch (e) {
    status.textContent = "";
    showError(e.message);
  } finally {
    progress.hidden = true;
  }
}

// ---- models, tabs, start -----------------------------------------------------------------------

async function refreshModels() {
  try {
    const list = await apiJson("/v1/models");
    const select = $("#model");
    const chosen = (current() && current().model) || select.value;
    select.replaceChildren(...list.data.map((m) => new Option(m.id, m.id)));
    if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
  } catch (e) {
    showError(e.message);
  }
}

function showTab(name) {
  for (const tab of ["chat", "library"]) {
    const selected = tab === name;
    $(`#tab-${tab}`).setAttribute("aria-selected", String(selected));
    $(`#tab-${tab}`).tabIndex = selected ? 0 : -1;
    $(`#view-${tab}`).hidden = !selected;
  }
  if (name === "library") refreshLibrary();
}

function start() {
  loadConversations();
  $("#tab-chat").addEventListener("click", () => showTab("chat"));
  $("#tab-library").addEventListener("click", () => showTab("library"));
  // Arrow keys move between the tabs, as a tablist's do.
  $("nav").addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const next = $("#tab-chat").getAttribute("aria-selected") === "true" ? "library" : "chat";
    showTab(next);
    $(`#tab-${next}`).focus();
  });
  $("#new-conversation").addEventListener("click", () => { newConversation(); renderAll(); $("#prompt").focus(); });
  $("#model").addEventListener("change", () => {
    const c = current();
    if (c) { c.model = $("#model").value; saveConversations(); }
  });
  bindSetting("#system", "system");
  bindSetting("#temperature", "temperature");
  bindSetting("#top-p", "top_p");
  bindSetting("#max-tokens", "max_tokens");
  $("#send-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("#prompt").value.trim();
    if (!text || controller) return;
    $("#prompt").value = "";
    send(text);
  });
  $("#prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("#send-form").requestSubmit(); }
  });
  $("#stop").addEventListener("click", () => { if (controller) controller.abort(); });
  $("#pull-form").addEventListener("submit", (e) => { e.preventDefault(); pull($("#pull-name").value.trim()); });
  $("#key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, $("#key-input").value);
    $("#key-input").value = "";
    $("#key-form").hidden = true;
    clearError();
    refreshModels().then(renderSettings);
  });
  renderAll();
  refreshModels().then(renderSettings);
}

start();
