// The Catalog page: check an upload (dry run) and confirm it, search and edit products
// inline, edit the store policy. Everything goes through the catalog API.
"use strict";

const merchant = document.getElementById("catalog").dataset.merchant;
const base = `/api/merchants/${encodeURIComponent(merchant)}`;
let products = [];

function uploadForm(dryRun) {
  const form = new FormData();
  form.append("file", document.getElementById("upload-file").files[0]);
  form.append("currency", document.getElementById("upload-currency").value);
  form.append("dry_run", dryRun ? "true" : "false");
  return form;
}

function renderReport(report, imported) {
  const box = document.getElementById("report");
  const counts = report.counts || {};
  const changes = (report.diff && report.diff.changed) || [];
  box.replaceChildren(...[
    el("p", { class: report.ok ? "ok" : "bad", id: "report-summary" },
      imported ? "Imported: " : (report.ok ? "Valid. If confirmed: " : "Not valid: nothing was imported. "),
      `${counts.added || 0} added, ${counts.changed || 0} changed, ${counts.removed || 0} removed, ${counts.unchanged || 0} unchanged`),
    report.errors && report.errors.length ? el("table", { class: "errors" },
      el("tr", {}, el("th", {}, "Row"), el("th", {}, "Column"), el("th", {}, "Problem")),
      report.errors.map((e) => el("tr", {}, el("td", {}, e.row ?? ""), el("td", {}, e.column ?? ""), el("td", {}, e.message)))) : null,
    report.warnings && report.warnings.length ? el("ul", {}, report.warnings.map((w) => el("li", { class: "muted" }, w.message))) : null,
    report.diff ? el("div", { id: "diff" },
      report.diff.added.length ? el("p", {}, el("strong", {}, "Added: "), report.diff.added.join(", ")) : null,
      report.diff.removed.length ? el("p", {}, el("strong", {}, "Removed: "), report.diff.removed.join(", ")) : null,
      changes.length ? el("table", {},
        el("tr", {}, el("th", {}, "SKU"), el("th", {}, "Field"), el("th", {}, "Was"), el("th", {}, "Becomes")),
        changes.flatMap((c) => Object.entries(c.changes).map(([field, change]) =>
          el("tr", {}, el("td", {}, c.sku), el("td", {}, field),
            el("td", {}, JSON.stringify(change[0])),
            el("td", {}, JSON.stringify(change[1])))))) : null) : null].filter(Boolean));
  document.getElementById("confirm").hidden = imported || !report.ok;
}

document.getElementById("upload").onsubmit = async (event) => {
  event.preventDefault();
  if (!document.getElementById("upload-file").files.length) { flash("choose a file first", true); return; }
  try {
    renderReport(await api("POST", `${base}/imports`, uploadForm(true)), false);
  } catch (error) {
    if (error.status === 422 && error.data && error.data.errors) renderReport(error.data, false);
    else flash(error.message, true);
  }
};

document.getElementById("confirm").onclick = async () => {
  try {
    renderReport(await api("POST", `${base}/imports`, uploadForm(false)), true);
    flash("Catalog imported");
    loadProducts();
  } catch (error) { flash(error.message, true); }
};

function productRow(p) {
  const price = el("input", { value: p.price, size: 8, class: "price" });
  const stock = el("input", { value: p.stock ?? "", size: 5, class: "stock", placeholder: "unknown" });
  const promotion = el("input", { value: p.promotion ?? "", size: 28, class: "promotion" });
  const save = async () => {
    const patch = {};
    if (price.value !== p.price) patch.price = price.value;
    const stockValue = stock.value.trim() === "" ? null : Number(stock.value);
    if (stockValue !== p.stock) patch.stock = stockValue;
    const promotionValue = promotion.value.trim() === "" ? null : promotion.value;
    if (promotionValue !== p.promotion) patch.promotion = promotionValue;
    if (!Object.keys(patch).length) return;
    try {
      Object.assign(p, await api("PATCH", `${base}/products/${encodeURIComponent(p.sku)}`, patch));
      flash(`${p.sku} saved: on air at once`);
      renderProducts();
    } catch (error) { flash(`${p.sku}: ${error.message}`, true); }
  };
  return el("tr", { "data-sku": p.sku },
    el("td", {}, p.link ?? ""), el("td", {}, p.sku), el("td", {}, p.name_en ? `${p.name} · ${p.name_en}` : p.name),
    el("td", {}, `${p.currency} `, price), el("td", {}, stock), el("td", {}, promotion),
    el("td", {}, el("button", { class: "save", onclick: save }, "Save")));
}

function renderProducts() {
  const query = document.getElementById("search").value.trim().toLowerCase();
  const shown = products.filter((p) => !query ||
    [p.sku, p.name, p.name_en, ...(p.aliases || [])].some((v) => v && v.toLowerCase().includes(query)));
  document.querySelector("#products tbody").replaceChildren(...shown.map(productRow));
}

async function loadProducts() {
  try { products = await api("GET", `${base}/products`); }
  catch (error) { products = []; if (error.status !== 404) flash(error.message, true); }
  renderProducts();
}

async function loadPolicy() {
  document.getElementById("policy").value = JSON.stringify(await api("GET", `${base}/policy`), null, 2);
}

document.getElementById("search").oninput = renderProducts;
document.getElementById("save-policy").onclick = async () => {
  let body;
  try { body = JSON.parse(document.getElementById("policy").value || "{}"); }
  catch (error) { flash(`policy is not JSON: ${error.message}`, true); return; }
  try { await api("PUT", `${base}/policy`, body); flash("Store policy saved"); }
  catch (error) { flash(error.message, true); }
};

loadProducts();
loadPolicy();
