// Drives hearth serve's web page in a real Chromium (puppeteer-core, Debian's chromium) against
// a server on a library of stories260K under two names (run.sh starts it), and checks each state:
// the key prompt, a streamed answer, Stop, a reload that keeps the conversation, Markdown, code,
// reasoning and tool calls as rendered and sanitised, another model,
// the library with a delete, errors from the server and from a stopped server; a phone-sized
// screen and dark mode. Fails on any console error, any request to another origin, and any
// serious or critical axe-core finding. Screenshots of each state go to ARTEFACTS.
//
//   node webui.mjs URL API_KEY CHROMIUM ARTEFACTS SERVER_PID
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";

const [url, key, chromium, artefacts, serverPid] = process.argv.slice(2);
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
mkdirSync(artefacts, { recursive: true });

const problems = [];
// While a step provokes an HTTP error on purpose, Chromium's own "Failed to load resource" line
// for it is expected; every other console error fails the test.
let networkErrorsExpected = false;

let step = "start";
function check(condition, what) {
  step = what;
  if (!condition) throw new Error(`FAIL: ${what}`);
  console.log(`ok - ${what}`);
}

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    if (networkErrorsExpected && m.text().startsWith("Failed to load resource")) return;
    const where = m.location();
    problems.push(`console error: ${m.text()} (${where.url || "?"}:${where.lineNumber ?? "?"}, step ${step})`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    const target = r.url();
    if (!target.startsWith(url) && !target.startsWith("data:") && !target.startsWith("blob:"))
      problems.push(`request to another origin: ${target}`);
  });
  await page.setViewport({ width: 1200, height: 800 });
  const shot = (name) => page.screenshot({ path: `${artefacts}/${name}.png`, fullPage: true });
  const axe = async (state) => {
    await page.evaluate(axeSource);  // evaluated through DevTools: the page's CSP allows no inline script
    const found = await page.evaluate(async () => {
      const result = await window.axe.run(document, { resultTypes: ["violations"] });
      return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    });
    check(found.length === 0, `axe-core finds nothing serious (${state})${found.length ? ": " + found.join("; ") : ""}`);
  };
  const text = (selector) => page.$eval(selector, (e) => e.textContent);
  const idle = () => page.waitForFunction(() => !document.querySelector("#send").disabled &&
    document.querySelector("#stop").disabled);
  const settings = async (field, value) => {
    await page.$eval("#settings", (d) => { d.open = true; });
    await page.$eval(field, (e, v) => { e.value = v; e.dispatchEvent(new Event("change")); }, value);
  };
  const sendMessage = async (message) => {
    await page.focus("#prompt");
    await page.keyboard.type(message);
    await page.keyboard.press("Enter");  // Enter sends: no mouse needed
  };

  // ---- the key: asked for once, kept for the tab ------------------------------------------------
  networkErrorsExpected = true;  // the first /v1/models has no key: 401
  await page.goto(url, { waitUntil: "networkidle0" });
  await page.waitForSelector("#key-form:not([hidden])");
  networkErrorsExpected = false;
  check((await page.$eval("#error", (e) => !e.hidden)) && /API key/.test(await text("#error")), "the page asks for the API key");
  await shot("01-api-key");
  await page.type("#key-input", key);
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelectorAll("#model option").length === 2);
  check(await page.$eval("#error", (e) => e.hidden), "with the key the error goes and the models are listed");
  const models = await page.$$eval("#model option", (os) => os.map((o) => o.value));
  check(models.includes("stories:latest") && models.includes("tale:v2"), `the model picker lists both names (${models})`);
  await page.select("#model", "stories:latest");

  // ---- a streamed answer ------------------------------------------------------------------------
  await settings("#max-tokens", "300");
  await page.evaluate(() => {
    window.seenLengths = new Set();
    new MutationObserver(() => {
      const answer = document.querySelector("#messages .message.assistant:last-child .content");
      if (answer && answer.textContent.length) window.seenLengths.add(answer.textContent.length);
    }).observe(document.querySelector("#messages"), { childList: true, subtree: true, characterData: true });
  });
  await sendMessage("Once upon a time");
  await page.waitForSelector("#messages .message.assistant .stats");
  await idle();
  const steps = await page.evaluate(() => window.seenLengths.size);
  check(steps > 1, `the answer arrived in ${steps} visible steps`);
  const stats = await text("#messages .message.assistant .stats");
  check(/\d+ prompt tokens · \d+ tokens · [\d.]+ t\/s/.test(stats), `token counts and t/s are shown (${stats})`);
  await shot("02-answer");
  await axe("an answer");

  // ---- Stop ---------------------------------------------------------------------------------------
  // stories260K writes its 4000 tokens in well under a second here, so Stop is pressed from
  // inside the page the moment the first text shows (a click from here could come too late).
  await settings("#max-tokens", "4000");
  await settings("#temperature", "1");
  await page.evaluate(() => {
    const observer = new MutationObserver(() => {
      const answers = document.querySelectorAll("#messages .message.assistant");
      if (answers.length === 2 && answers[1].querySelector(".content")?.textContent.length > 0) {
        observer.disconnect();
        document.querySelector("#stop").click();
      }
    });
    observer.observe(document.querySelector("#messages"), { childList: true, subtree: true, characterData: true });
  });
  await sendMessage("Tell me a long story");
  await page.waitForFunction(() => document.querySelectorAll("#messages .message.assistant").length === 2);
  await idle();
  check((await text("#messages .message.assistant:last-child .note")) === "Stopped.", "Stop ends the generation");
  await shot("03-stopped");

  // ---- reload: the conversation is still there ---------------------------------------------------
  await page.reload({ waitUntil: "networkidle0" });
  await page.waitForFunction(() => document.querySelectorAll("#model option").length === 2);
  check((await page.$$("#conversations li")).length === 1, "after a reload the conversation is listed");
  check((await page.$$("#messages .message")).length === 4, "after a reload its four messages are shown");
  check((await text("#conversations li .open")) === "Once upon a time", "the conversation is named after its first message");
  await shot("04-reloaded");

  // ---- rendering: Markdown, sanitising, code, reasoning, tool calls (a stored conversation) ---------
  // stories260K writes neither Markdown nor reasoning, so a conversation with them is put in
  // localStorage as the page keeps it, and shown after a reload.
  await page.evaluate(() => {
    const list = JSON.parse(localStorage.getItem("hearth.conversations"));
    list.push({
      id: "crendered", title: "Rendered", model: "stories:latest", system: "", temperature: "", top_p: "",
      max_tokens: "", messages: [
        { role: "user", content: "Show me" },
        { role: "assistant", reasoning_content: "Thinking it over",
          content: "**Bold** text\n\n```js\nconst answer = 42;\n```\n\n<script>window.injected = 1</script>" +
            '<a href="javascript:window.injected = 2">link</a>',
          tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }] },
      ],
    });
    localStorage.setItem("hearth.conversations", JSON.stringify(list));
    localStorage.setItem("hearth.current", "crendered");
  });
  await page.reload({ waitUntil: "networkidle0" });
  await page.waitForSelector("#messages .message.assistant pre code");
  const rendered = await page.$eval("#messages .message.assistant", (m) => ({
    bold: m.querySelector(".content strong")?.textContent,
    highlighted: m.querySelector("pre code").classList.contains("hljs") && m.querySelectorAll("pre code span").length > 0,
    copy: m.querySelector("pre button.copy")?.textContent,
    reasoningClosed: m.querySelector("details") !== null && !m.querySelector("details").open,
    reasoning: m.querySelector("details .reasoning")?.textContent,
    tool: m.querySelector(".tool-call")?.textContent,
    scripts: m.querySelectorAll("script").length,
    href: m.querySelector(".content a")?.getAttribute("href") ?? null,
  }));
  check(rendered.bold === "Bold", "Markdown is rendered");
  check(rendered.highlighted && rendered.copy === "Copy", "code is highlighted and has a copy button");
  check(rendered.reasoningClosed && rendered.reasoning === "Thinking it over", "reasoning is shown collapsed");
  check(rendered.tool === 'Tool call: get_weather({"city":"Oslo"})', `a tool call is shown as such (${rendered.tool})`);
  check(rendered.scripts === 0 && rendered.href === null &&
    (await page.evaluate(() => window.injected)) === undefined, "HTML in an answer is sanitised");
  await shot("05-rendered");
  await axe("a rendered answer");
  // Back to the first conversation.
  await page.click("#conversations li:nth-child(1) .open");
  await page.waitForFunction(() => document.querySelectorAll("#messages .message").length === 4);

  // ---- another model -----------------------------------------------------------------------------
  await page.select("#model", "tale:v2");
  await settings("#max-tokens", "20");
  await sendMessage("Hello");
  await page.waitForFunction(() => document.querySelectorAll("#messages .message.assistant .stats").length >= 2);
  await idle();
  const ps = await (await fetch(`${url}/api/ps`, { headers: { Authorization: `Bearer ${key}` } })).json();
  check(ps.models.some((m) => m.name === "tale:v2"), "the answer came from the model picked (tale:v2 is loaded)");

  // ---- library ------------------------------------------------------------------------------------
  await page.click("#tab-library");
  await page.waitForFunction(() => document.querySelectorAll("#models tbody tr").length === 2);
  const rows = await page.$$eval("#models tbody tr", (rs) => rs.map((r) => [...r.children].map((c) => c.textContent)));
  check(rows.some((r) => r[0] === "tale:v2" && r[2] === "F32" && r[3] === "llama" && r[5] === "2048" && r[6] === "yes"),
    `the library shows quantization, architecture, context and loaded state (${JSON.stringify(rows)})`);
  await shot("06-library");
  await axe("the library");
  // run.sh points the server at a registry nobody answers: the pull's NDJSON ends in an error line.
  await page.type("#pull-name", "nosuch/model:v1");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => /pull of nosuch\/model:v1 failed/.test(document.querySelector("#error").textContent));
  check(await page.$eval("#pull-progress", (p) => p.hidden), `a failed pull is shown as an error (${await text("#error")})`);
  page.once("dialog", (d) => d.accept());
  await page.click('#models button[aria-label="Delete tale:v2"]');
  await page.waitForFunction(() => document.querySelectorAll("#models tbody tr").length === 1);
  check((await text("#models tbody th")) === "stories:latest", "a model deleted after the confirmation is gone");
  await shot("07-deleted");

  // ---- errors: a 4xx from the server, then no server at all --------------------------------------
  await page.click("#tab-chat");
  await settings("#temperature", "7");  // the server takes 0..2
  networkErrorsExpected = true;
  await sendMessage("Hi");
  await page.waitForSelector("#error:not([hidden])");
  await idle();
  const refused = await text("#error");
  check(/temperature/.test(refused) && /HTTP 400/.test(refused), `a 400 is shown as a message (${refused})`);
  await shot("08-error-400");
  await settings("#temperature", "");
  // Stopping: while it drains the server refuses new work (503; or it is gone already: the drain
  // is short with nothing running); once it is gone, nothing answers.
  process.kill(Number(serverPid), "SIGTERM");
  await sendMessage("Are you there?");
  await page.waitForFunction(() => /shutting down|cannot reach/.test(document.querySelector("#error").textContent));
  await idle();
  check(/HTTP 503|cannot reach/.test(await text("#error")), `a stopping server's refusal is shown (${await text("#error")})`);
  for (;;) {
    try { process.kill(Number(serverPid), 0); } catch (_) { break; }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await sendMessage("Still there?");
  await page.waitForFunction(() => /cannot reach the server/.test(document.querySelector("#error").textContent));
  await idle();
  check((await page.$$("#messages .message")).length > 0, "with the server stopped the page still shows the conversation");
  await shot("09-server-stopped");
  networkErrorsExpected = false;

  // ---- keyboard only: Tab reaches every control of the chat in order ------------------------------
  const reached = [];
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    reached.push(await page.evaluate(() => document.activeElement.id || document.activeElement.tagName.toLowerCase()));
  }
  const order = ["tab-chat", "new-conversation", "model", "summary", "system", "prompt", "send"];
  const cycle = reached.slice(reached.indexOf("tab-chat"));  // Tab starts after the last focused control
  const positions = order.map((id) => cycle.indexOf(id));
  check(positions.every((p, i) => p >= 0 && (i === 0 || p > positions[i - 1])),
    `Tab reaches ${order.join(", ")} in order (${reached.join(" ")})`);

  // ---- a phone-sized screen, and dark mode ----------------------------------------------------------
  await page.setViewport({ width: 390, height: 844 });
  const [overflow, widest] = await page.evaluate(() => {
    const over = [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1);
    const names = over.slice(-3).map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}.${e.className}`);
    return [document.documentElement.scrollWidth - window.innerWidth, names.join(", ")];
  });
  check(overflow <= 0, `nothing is wider than a phone's screen (${overflow} px over${widest ? ": " + widest : ""})`);
  await shot("10-phone");
  await page.setViewport({ width: 1200, height: 800 });
  await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
  await shot("11-dark");
  await axe("dark mode");
} finally {
  await browser.close();
}
check(problems.length === 0, `no console errors and no requests elsewhere${problems.length ? ":\n  " + problems.join("\n  ") : ""}`);
console.log("webui browser test: all passed");
