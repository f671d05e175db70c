// The Live page: polls the stream's feed once a second, plays its HLS preview, and sends
// the operator's controls. Comments and lines are fetched incrementally (after the last id).
"use strict";

const stream = document.getElementById("live").dataset.stream;
const base = `/api/streams/${encodeURIComponent(stream)}`;
const seen = { comment: 0, line: 0 };
const latencies = [];  // [{stage: seconds}] of the last replies, oldest first
const STAGES = ["triaged", "reply_ready", "first_audio", "first_frame_out"];
const COLORS = ["#9aa4ae", "#2f80ed", "#ff6a3d", "#1a7f37"];
const MAX_ITEMS = 200;

async function control(method, path, body) {
  try {
    return await api(method, `${base}/${path}`, body);
  } catch (error) {
    flash(error.message, true);
    return null;
  }
}

// the preview
function startPreview() {
  const video = document.getElementById("preview");
  const state = document.getElementById("preview-state");
  const source = `/streams/${encodeURIComponent(stream)}/hls/index.m3u8`;
  if (window.Hls && Hls.isSupported()) {
    const hls = new Hls({ liveSyncDurationCount: 2, manifestLoadingMaxRetry: 60, manifestLoadingRetryDelay: 1000 });
    hls.on(Hls.Events.MANIFEST_PARSED, () => { state.textContent = "live"; video.play().catch(() => {}); });
    hls.on(Hls.Events.ERROR, (_, data) => {
      if (data.fatal) {  // the playlist appears a few seconds after the start: try again
        state.textContent = "waiting for the preview…";
        setTimeout(() => { hls.loadSource(source); hls.startLoad(); }, 1500);
      }
    });
    hls.loadSource(source);
    hls.attachMedia(video);
  } else {
    video.src = source;  // native HLS (Safari)
  }
}

// rendering
function renderCard(product) {
  if (!product) return;
  document.getElementById("card-name").textContent = product.name_en || product.name;
  document.getElementById("card-sku").textContent = product.sku;
  document.getElementById("card-price").textContent = `${product.currency} ${product.price}`;
  document.getElementById("card-stock").textContent = product.stock === null ? "stock unknown" : `stock ${product.stock}`;
  document.getElementById("card-promotion").textContent = product.promotion || "";
}

function append(listId, items) {
  const list = document.getElementById(listId);
  for (const item of items) list.prepend(item);
  while (list.children.length > MAX_ITEMS) list.lastChild.remove();
}

function commentItem(c) {
  const tag = c.reason === "blocked" ? "blocked" : c.decision;
  return el("li", { "data-id": c.id },
    el("strong", {}, c.user), " ", c.text, " ",
    el("span", { class: `tag ${tag}` }, `${c.decision} · ${c.reason}`), " ",
    el("button", { class: "block-user", "data-viewer": c.user_id, title: "block this viewer" }, "block"));
}

function lineItem(l) {
  const verdict = l.guard_ok ? el("span", { class: "ok" }, "guard ok") : el("span", { class: "bad" }, `guard: ${l.violations.join("; ")}`);
  return el("li", { "data-id": l.id, class: "line" },
    el("span", { class: "tag" }, l.intent), " ", el("span", { class: "text" }, l.text), el("br"),
    verdict, " · ", el("span", { class: "muted" }, `by ${l.backend}`),
    l.approved_by ? el("span", { class: "approved" }, ` · approved by ${l.approved_by}`) : null,
    l.latency.first_audio !== undefined ? el("span", { class: "muted" }, ` · first audio ${l.latency.first_audio.toFixed(2)} s`) : null);
}

function renderPending(controls) {
  const box = document.getElementById("pending");
  box.replaceChildren();
  if (!controls.pending.length) { box.append(el("p", { class: "muted" }, "none")); return; }
  for (const p of controls.pending) {
    const edit = el("input", { value: p.reply, size: 40, class: "edit-text" });
    const decide = (choice) => control("POST", `pending/${p.id}`, { choice, text: choice === "edit" ? edit.value : null });
    box.append(el("div", { class: "pending", "data-id": p.id },
      el("div", {}, el("strong", {}, p.user), `: ${p.comment}`),
      el("div", { class: "reply" }, p.reply),
      el("div", { class: "row" }, edit),
      el("div", { class: "row" },
        el("button", { class: "primary approve", onclick: () => decide("approve") }, "Approve"),
        el("button", { class: "edit", onclick: () => decide("edit") }, "Speak edited"),
        el("button", { class: "discard", onclick: () => decide("discard") }, "Discard"),
        el("span", { class: "muted" }, `waiting ${p.waiting_s} s of ${controls.approve_timeout_s} s, then ${controls.timeout_action}`))));
  }
}

let rulesShown = false;
function renderControls(controls) {
  document.getElementById("paused-state").textContent = controls.paused ? "AI paused" : "AI on";
  document.getElementById("approve-mode").checked = controls.approve_mode;
  document.getElementById("blocked").textContent = controls.blocked.length ? `blocked: ${controls.blocked.join(", ")}` : "";
  if (!rulesShown) {
    document.getElementById("rules").value = controls.rules.map((r) => `${r.keyword} => ${r.line}`).join("\n");
    rulesShown = true;
  }
  // the pending box is rebuilt only when its set changes, so an edit in progress survives
  const ids = controls.pending.map((p) => p.id).join(",");
  const box = document.getElementById("pending");
  if (box.dataset.ids !== ids) { box.dataset.ids = ids; renderPending(controls); }
}

function renderStopped(stopped) {
  document.getElementById("stopped").replaceChildren(...stopped.slice().reverse().map((s) =>
    el("li", { class: "bad" }, `${s.text} — ${s.violations.join("; ")}`)));
}

function renderQueue(queue) {
  document.getElementById("queue").replaceChildren(...queue.map((q) =>
    el("li", {}, el("strong", {}, q.user), ` ${q.text} `, el("span", { class: "muted" }, `${q.waiting_s} s`))));
}

function renderProducts(lineup, product) {
  const select = document.getElementById("product-sku");
  const wanted = lineup.join(",");
  if (select.dataset.skus === wanted) return;
  select.dataset.skus = wanted;
  select.replaceChildren(...lineup.map((sku) => el("option", { selected: product && product.sku === sku }, sku)));
}

function renderChart() {
  const svg = document.getElementById("chart");
  const top = Math.max(1, ...latencies.flatMap((l) => STAGES.map((s) => l[s] || 0)));
  const x = (i) => (latencies.length < 2 ? 200 : (i * 400) / (latencies.length - 1));
  const y = (v) => 155 - (v / top) * 145;
  const svgNode = (tag, attrs) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    return node;
  };
  const shapes = STAGES.flatMap((stage, n) => {
    const points = latencies.map((l, i) => (l[stage] === undefined ? null : [x(i), y(l[stage])])).filter(Boolean);
    const line = svgNode("polyline", {
      points: points.map((p) => p.join(",")).join(" "), fill: "none", stroke: COLORS[n],
      "stroke-width": 2, "vector-effect": "non-scaling-stroke", "data-stage": stage,
    });
    const dots = points.map(([px, py]) => svgNode("circle", { cx: px, cy: py, r: 3, fill: COLORS[n] }));
    return [line, ...dots];
  });
  svg.replaceChildren(...shapes);
  document.getElementById("chart-legend").replaceChildren(
    ...STAGES.map((s, n) => el("span", { style: `color:${COLORS[n]};margin-right:1em` }, `■ ${s}`)),
    el("span", {}, `(max ${top.toFixed(2)} s)`));
}

async function poll() {
  let feed;
  try {
    feed = await api("GET", `${base}/live?after_comment=${seen.comment}&after_line=${seen.line}`);
  } catch (error) {
    document.getElementById("paused-state").textContent = error.message;
    return;
  }
  if (!feed.running) {
    document.getElementById("paused-state").textContent = `stream ${feed.status.state}`;
    return;
  }
  renderCard(feed.product);
  renderControls(feed.controls);
  renderQueue(feed.queue);
  renderProducts(feed.lineup, feed.product);
  renderStopped(feed.stopped);
  if (feed.comments.length) {
    seen.comment = feed.comments[feed.comments.length - 1].id;
    append("comments", feed.comments.map(commentItem));
  }
  if (feed.lines.length) {
    seen.line = feed.lines[feed.lines.length - 1].id;
    append("lines", feed.lines.map(lineItem));
    for (const l of feed.lines) if (Object.keys(l.latency).length) latencies.push(l.latency);
    latencies.splice(0, Math.max(0, latencies.length - 30));
    renderChart();
  }
}

// controls
document.getElementById("pause").onclick = () => control("POST", "pause");
document.getElementById("resume").onclick = () => control("POST", "resume");
document.getElementById("skip").onclick = () => control("POST", "skip");
document.getElementById("approve-mode").onchange = (event) => control("POST", "approve-mode", { on: event.target.checked });
document.getElementById("say").onsubmit = async (event) => {
  event.preventDefault();
  const input = document.getElementById("say-text");
  if (await control("POST", "say", { text: input.value })) { flash(`Queued: ${input.value}`); input.value = ""; }
};
document.getElementById("product").onsubmit = (event) => {
  event.preventDefault();
  control("POST", "product", { sku: document.getElementById("product-sku").value });
};
document.getElementById("lineup").onsubmit = (event) => {
  event.preventDefault();
  const skus = document.getElementById("lineup-skus").value.split(",").map((s) => s.trim()).filter(Boolean);
  control("PUT", "lineup", { skus: skus.length ? skus : null });
};
document.getElementById("block").onsubmit = (event) => {
  event.preventDefault();
  control("POST", "block", { viewer: document.getElementById("block-viewer").value });
};
document.getElementById("unblock").onclick = () => control("POST", "unblock", { viewer: document.getElementById("block-viewer").value });
document.getElementById("save-rules").onclick = async () => {
  const rules = document.getElementById("rules").value.split("\n").map((line) => line.split("=>"))
    .filter((parts) => parts.length === 2).map(([keyword, line]) => ({ keyword: keyword.trim(), line: line.trim() }));
  if (await control("PUT", "rules", { rules })) flash(`${rules.length} keyword rules saved`);
};
document.addEventListener("click", (event) => {
  if (event.target.matches("button.block-user")) control("POST", "block", { viewer: event.target.dataset.viewer });
});

startPreview();
poll();
setInterval(poll, 1000);
