// The Prompts page: items and labels, a version's text, the diff of two versions, saving a
// new version (every validation problem shown), moving a label, and the playground.
"use strict";

const root = "/api/prompts";
let current = null; // the chosen item: {ref, name, language, ...}
let shown = null; // the version whose text is shown

function itemUrl(item) {
  return `${root}/${encodeURIComponent(item.name)}/${encodeURIComponent(item.language)}`;
}

function labelTags(labels) {
  return Object.entries(labels).map(([label, number]) => el("span", { class: "tag" }, `${label} → v${number}`, " "));
}

async function loadItems() {
  const items = await api("GET", root);
  document.querySelector("#items tbody").replaceChildren(...items.map((item) =>
    el("tr", { "data-ref": item.ref, class: current && current.ref === item.ref ? "chosen" : null },
      el("td", {}, el("a", { href: "#", onclick: (e) => { e.preventDefault(); choose(item); } }, item.ref)),
      el("td", {}, item.kind), el("td", {}, item.purpose), el("td", {}, labelTags(item.labels)))));
  return items;
}

function options(select, versions, value) {
  select.replaceChildren(...versions.map((v) => el("option", { value: v.number }, `v${v.number}${v.labels.length ? ` (${v.labels.join(", ")})` : ""}`)));
  if (value !== undefined) select.value = String(value);
}

async function choose(item, show) {
  current = item;
  document.getElementById("item").hidden = false;
  document.getElementById("item-ref").textContent = item.ref;
  document.querySelectorAll("#items tbody tr").forEach((tr) => tr.classList.toggle("chosen", tr.dataset.ref === item.ref));
  const versions = await api("GET", `${itemUrl(item)}/versions`);
  document.querySelector("#versions tbody").replaceChildren(...versions.map((v) =>
    el("tr", { "data-version": v.number },
      el("td", {}, `v${v.number}`), el("td", {}, v.author), el("td", {}, v.note),
      el("td", {}, v.created_at.replace("T", " ").slice(0, 19)),
      el("td", {}, v.labels.map((l) => el("span", { class: "tag" }, l, " "))),
      el("td", {}, el("button", { type: "button", class: "view", onclick: () => showVersion(v.number) }, "View")))));
  const newest = versions.length ? versions[0].number : undefined;
  const previous = versions.length > 1 ? versions[1].number : newest;
  options(document.getElementById("diff-a"), versions, previous);
  options(document.getElementById("diff-b"), versions, newest);
  options(document.getElementById("move-version"), versions, newest);
  document.getElementById("diff").hidden = true;
  document.getElementById("problems").replaceChildren();
  document.getElementById("move-result").textContent = "";
  await showVersion(show ?? newest);
}

async function showVersion(which) {
  const v = await api("GET", `${itemUrl(current)}/versions/${which}`);
  shown = v;
  document.getElementById("body-number").textContent = `v${v.number} by ${v.author}`;
  document.getElementById("body").textContent = v.body;
  document.getElementById("edit").value = v.body;
}

document.getElementById("diff-form").onsubmit = async (event) => {
  event.preventDefault();
  const a = document.getElementById("diff-a").value, b = document.getElementById("diff-b").value;
  try {
    const { diff } = await api("GET", `${itemUrl(current)}/diff?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
    const box = document.getElementById("diff");
    const lines = diff ? diff.replace(/\n$/, "").split("\n") : [];
    box.replaceChildren(...(lines.length ? lines.map((line) => el("span", {
      class: line.startsWith("+++") || line.startsWith("---") ? "hunk"
        : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : null,
    }, line)) : [el("span", { class: "hunk" }, `v${a} and v${b} are the same`)]));
    box.hidden = false;
  } catch (error) { flash(error.message, true); }
};

document.getElementById("save").onsubmit = async (event) => {
  event.preventDefault();
  const box = document.getElementById("problems");
  const body = { body: document.getElementById("edit").value, note: document.getElementById("note").value, parent: shown ? shown.number : null };
  try {
    const saved = await api("POST", `${itemUrl(current)}/versions`, body);
    box.replaceChildren(el("p", { class: "ok", id: "saved" }, `Saved as v${saved.number}. Move a label to it to put it on air.`));
    document.getElementById("note").value = "";
    await loadItems();
    await choose(current, saved.number);
    box.replaceChildren(el("p", { class: "ok", id: "saved" }, `Saved as v${saved.number}. Move a label to it to put it on air.`));
  } catch (error) {
    const problems = error.data && error.data.problems ? error.data.problems : [error.message];
    box.replaceChildren(el("div", { class: "problems" },
      el("strong", { class: "bad" }, "Not saved: the version fails validation."),
      el("ul", {}, problems.map((p) => el("li", {}, p)))));
  }
};

document.getElementById("move").onsubmit = async (event) => {
  event.preventDefault();
  const label = document.getElementById("move-label").value.trim();
  const version = Number(document.getElementById("move-version").value);
  const out = document.getElementById("move-result");
  try {
    const moved = await api("PUT", `${itemUrl(current)}/labels/${encodeURIComponent(label)}`, { version });
    await loadItems();
    await choose(current, version);
    out.className = "ok";
    out.textContent = `${moved.label} now points at v${moved.version}` + (moved.previous ? ` (was v${moved.previous})` : "");
  } catch (error) {
    const problems = error.data && error.data.problems ? error.data.problems : [error.message];
    out.className = "bad";
    out.textContent = `Refused${error.status === 403 ? " (your role may not)" : ""}: ${problems.join("; ")}`;
  }
};

document.getElementById("play").onsubmit = async (event) => {
  event.preventDefault();
  const button = event.target.querySelector("button");
  button.disabled = true;
  try {
    const r = await api("POST", `${root}/playground`, {
      comment: document.getElementById("play-comment").value,
      label: document.getElementById("play-label").value.trim() || "production",
    });
    document.getElementById("play-reply").textContent = r.reply ?? (r.dropped ? `(dropped: ${r.dropped})` : "(no reply)");
    const guard = document.getElementById("play-guard");
    guard.className = r.guard.ok ? "ok" : "bad";
    guard.textContent = r.guard.ok ? "passed" : `blocked: ${r.violation_kinds.join(", ")} — ${r.guard.violations.join("; ")}`;
    document.getElementById("play-latency").textContent = `${r.latency_ms} ms (${r.backend})`;
    document.getElementById("play-version").textContent = JSON.stringify(r.prompt_version);
    document.getElementById("play-result").hidden = false;
  } catch (error) { flash(error.message, true); }
  finally { button.disabled = false; }
};

loadItems().then((items) => {
  const wanted = new URLSearchParams(location.search).get("item");
  const first = items.find((i) => i.ref === wanted) || items[0];
  if (first) choose(first);
}).catch((error) => flash(error.message, true));
