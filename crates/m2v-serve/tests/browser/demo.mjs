// The demo page in headless Chromium, driven by Playwright (playwright-core, the
// system's Chromium): load it, type sentences, click, read the heatmap, switch to the
// pipeline, read its labels, and check both against the API. Run by `cargo xtask ci`:
//
//   NODE_PATH=~/.cache/m2v/node/node_modules node demo.mjs http://127.0.0.1:PORT SHOT.png [PIPELINE]
//
// Exits non-zero with the reason when anything differs.
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const [base, shot, pipeline] = process.argv.slice(2);
if (!base || !shot) {
  console.error("usage: demo.mjs BASE_URL SCREENSHOT.png [PIPELINE_NAME]");
  process.exit(2);
}

function fail(msg) {
  console.error("demo page test failed: " + msg);
  process.exit(1);
}

async function api(path, body) {
  const r = await fetch(base + path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!r.ok) fail(`${path} answered ${r.status}`);
  return r.json();
}

function cosine(a, b) {
  const dot = a.reduce((s, x, i) => s + x * b[i], 0);
  const n = Math.hypot(...a) * Math.hypot(...b);
  return n > 0 ? dot / n : 0;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  const errors = [];
  const foreign = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => { if (!r.url().startsWith(base)) foreign.push(r.url()); });

  await page.goto(base + "/");
  // The page loads the model list and compares its example sentences by itself.
  await page.waitForSelector('body[data-done="1"]', { timeout: 15000 });
  const defaultCells = await page.locator("td.cell").count();
  if (defaultCells !== 16) fail(`the example heatmap has ${defaultCells} cells, not 16`);
  await page.screenshot({ path: shot, fullPage: true });

  // Type three sentences and click.
  const texts = ["A cat sits on the mat.", "A kitten is resting on a rug.", "Interest rates rose again."];
  await page.fill("#texts", texts.join("\n"));
  await page.click("#run");
  await page.waitForSelector('body[data-done="2"]', { timeout: 15000 });
  const cells = await page.$$eval("td.cell", (tds) =>
    tds.map((td) => ({ i: +td.dataset.i, j: +td.dataset.j, v: +td.dataset.value, text: td.textContent })));
  if (cells.length !== 9) fail(`${cells.length} cells for 3 sentences`);
  const model = await page.$eval("#model", (s) => s.value);
  const emb = await api("/v1/embeddings", { input: texts, model, encoding_format: "float" });
  const vecs = emb.data.map((d) => d.embedding);
  for (const c of cells) {
    const want = cosine(vecs[c.i], vecs[c.j]);
    if (Math.abs(c.v - want) > 1e-6) fail(`cell (${c.i},${c.j}) shows ${c.v}, the API gives ${want}`);
    if (c.text !== c.v.toFixed(2)) fail(`cell (${c.i},${c.j}) reads ${c.text}`);
  }
  const near = cells.find((c) => c.i === 0 && c.j === 1).v;
  const far = cells.find((c) => c.i === 0 && c.j === 2).v;
  if (!(near > far)) fail(`cat/kitten (${near}) is not closer than cat/rates (${far})`);

  let labels = [];
  if (pipeline) {
    await page.selectOption("#model", pipeline);
    await page.waitForSelector('body[data-done="3"]', { timeout: 15000 });
    labels = await page.$$eval("#labels .label", (els) => els.map((e) => e.textContent));
    const pred = await api("/predict", { inputs: texts, model: pipeline });
    const want = pred.map((scores) => String(scores[0].label));
    if (JSON.stringify(labels) !== JSON.stringify(want)) {
      fail(`labels ${JSON.stringify(labels)}, the API gives ${JSON.stringify(want)}`);
    }
  }
  if (errors.length) fail("console errors: " + errors.join("; "));
  if (foreign.length) fail("requests to other origins: " + foreign.join(", "));
  const summary = { cells: cells.length, near, far, labels, screenshot: shot };
  console.log("demo page ok: " + JSON.stringify(summary));
  writeFileSync(shot + ".json", JSON.stringify(summary) + "\n");
} finally {
  await browser.close();
}
