// Try-it page: upload a photo to POST identify, outline each card found, list the answers.
// Everything user-visible from the API goes in through textContent, never innerHTML.
"use strict";

const CROP_W = 244;
const CROP_H = 340; // a Magic card is 63 x 88 mm
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("cardsight-token") || "";
let lastFile = null;

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function safeLink(url, text) {
  // Only http(s) links: the catalog is data, and data should not run script.
  const a = el("a", { rel: "noopener", target: "_blank" }, text);
  if (/^https?:\/\//i.test(url || "")) a.href = url;
  return a;
}

function showPhoto(file) {
  const img = $("photo");
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(file);
  $("stage").hidden = false;
  $("overlay").replaceChildren();
  $("results").replaceChildren();
  $("decklist").hidden = true;
  return img.decode().catch(() => undefined);
}

function drawOutlines(body) {
  const [w, h] = body.image_size;
  const svg = $("overlay");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  body.cards.forEach((card, i) => {
    const poly = document.createElementNS(SVG_NS, "polygon");
    poly.setAttribute("points", card.quad.map(([x, y]) => `${x},${y}`).join(" "));
    if (card.unsure) poly.classList.add("unsure");
    const label = document.createElementNS(SVG_NS, "text");
    const [x0, y0] = card.quad[0];
    label.setAttribute("x", x0 + w * 0.01);
    label.setAttribute("y", y0 + h * 0.05);
    label.setAttribute("font-size", Math.max(w, h) * 0.04);
    label.textContent = String(i + 1);
    svg.append(poly, label);
  });
}

function showDecklist(deck) {
  // Counts per name in the plain text deck sites import; only worth showing for several cards.
  const box = $("decklist");
  box.hidden = !deck || deck.cards < 2;
  if (box.hidden) return;
  const names = deck.entries.length;
  const unsure = deck.entries.filter((e) => e.unsure).map((e) => e.name);
  $("decklist-summary").textContent = `${deck.cards} cards, ${names} different.` +
    (unsure.length ? ` Not sure about: ${unsure.join(", ")}. Check those before importing.` : "");
  $("decklist-text").textContent = deck.text;
  const link = $("decklist-download");
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([deck.text], { type: "text/plain" }));
  $("decklist-copy").onclick = () => navigator.clipboard.writeText(deck.text)
    .then(() => setStatus("Decklist copied."), () => setStatus("Could not copy: select the list and copy it.", true));
}

function cropCanvas(img, quad, imageSize) {
  // Affine warp from the card's top-left, top-right and bottom-left corners: close enough
  // to the engine's perspective warp for a thumbnail, and canvas does it natively.
  const canvas = el("canvas", { width: CROP_W, height: CROP_H, "aria-label": "Your card" });
  const ctx = canvas.getContext("2d");
  const scale = img.naturalWidth / imageSize[0] || 1;
  const [q0, q1, , q3] = quad.map(([x, y]) => [x * scale, y * scale]);
  const u = [q1[0] - q0[0], q1[1] - q0[1]];
  const v = [q3[0] - q0[0], q3[1] - q0[1]];
  const det = u[0] * v[1] - u[1] * v[0];
  if (Math.abs(det) < 1e-6) return canvas;
  const a = (CROP_W * v[1]) / det, c = (-CROP_W * v[0]) / det;
  const b = (-CROP_H * u[1]) / det, d = (CROP_H * u[0]) / det;
  ctx.setTransform(a, b, c, d, -(a * q0[0] + c * q0[1]), -(b * q0[0] + d * q0[1]));
  ctx.drawImage(img, 0, 0);
  return canvas;
}

// The same wording as the bots' replies (bot/card_text.py); absent details show nothing.
const PRICE_FORMS = [["usd", (v) => `$${v}`], ["usd_foil", (v) => `$${v} foil`], ["eur", (v) => `€${v}`], ["tix", (v) => `${v} TIX`]];
const MAIN_FORMATS = ["standard", "pioneer", "modern", "legacy", "vintage", "commander", "pauper"];
const LEGALITY_WORDS = [["legal", "Legal"], ["restricted", "Restricted"], ["banned", "Banned"], ["not_legal", "Not legal"]];

function pricesText(details) {
  const parts = PRICE_FORMS.filter(([k]) => details.prices && details.prices[k]).map(([k, f]) => f(details.prices[k]));
  if (!parts.length) return null;
  return parts.join(" · ") + (details.prices_date ? ` (prices of ${details.prices_date})` : "");
}

function legalityText(details) {
  const groups = {};
  for (const fmt of MAIN_FORMATS) {
    const status = (details.legalities || {})[fmt];
    if (status) (groups[status] ||= []).push(fmt[0].toUpperCase() + fmt.slice(1));
  }
  const parts = LEGALITY_WORDS.filter(([s]) => groups[s]).map(([s, w]) => `${w}: ${groups[s].join(", ")}`);
  return parts.length ? parts.join(" · ") : null;
}

function renderDetails(details, unsure) {
  // Not under a "not sure" guess: the price of a card that may not be this one would mislead.
  if (!details || unsure) return [];
  const out = [];
  const prices = pricesText(details), legality = legalityText(details);
  if (prices) out.push(el("p", { class: "prices" }, prices));
  if (legality) out.push(el("p", { class: "legality" }, legality));
  const head = [details.mana_cost, details.type_line].filter(Boolean).join(" — ");
  if (head || details.oracle_text) {
    const more = el("details", { class: "rules" });
    more.append(el("summary", {}, "Details"), el("p", { class: "type-line" }, head), el("p", { class: "oracle" }, details.oracle_text || ""));
    out.push(more);
  }
  return out;
}

async function explainCard(card, crop, button) {
  // The crop tinted where it agrees (green) and disagrees (red) with the matched card,
  // from POST explain?card=ID with the same photo; pressing again shows the plain crop.
  if (button.explained) {
    button.explained.replaceWith(crop);
    URL.revokeObjectURL(button.explained.src);
    button.explained = null;
    button.textContent = "Explain";
    return;
  }
  const form = new FormData();
  form.append("image", lastFile, lastFile.name || "photo");
  button.disabled = true;
  try {
    const resp = await fetch(`explain?card=${encodeURIComponent(card.card_id)}`, {
      method: "POST", body: form, headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    if (!resp.ok) {
      const body = await resp.json().catch(() => null);
      setStatus((body && body.error && body.error.message) || `The server answered ${resp.status}.`, true);
      return;
    }
    const shown = el("img", { alt: `Where your card agrees (green) and differs (red) from ${card.name}`, class: "explained" });
    shown.src = URL.createObjectURL(await resp.blob());
    crop.replaceWith(shown);
    button.explained = shown;
    button.textContent = "Hide explanation";
  } catch (err) {
    setStatus(`Could not reach the server: ${err.message}`, true);
  } finally {
    button.disabled = false;
  }
}

function renderCard(card, i, img, imageSize) {
  const item = el("li", { class: card.unsure ? "card unsure" : "card" });
  const crop = cropCanvas(img, card.quad, imageSize);
  item.append(crop);
  if (card.image_uri) {
    const ref = el("img", { alt: `${card.name} (matched printing)`, loading: "lazy" });
    ref.addEventListener("error", () => ref.remove());
    ref.src = card.image_uri;
    item.append(ref);
  }
  const text = el("div", { class: "text" });
  const title = el("h2");
  title.append(el("span", { class: "badge" }, String(i + 1)), safeLink(card.scryfall_uri, card.name));
  const setName = card.set_name ? `${card.set_name} (${card.set.toUpperCase()})` : card.set.toUpperCase();
  const meta = el("p", { class: "meta" }, `${setName} #${card.collector_number}`);
  const conf = el("p");
  conf.append(el("span", { class: "confidence" }, `${Math.round(card.confidence * 100)}% confident`));
  if (card.unsure) conf.append(document.createTextNode(" - not sure, maybe one of these:"));
  text.append(title, meta, conf, ...renderDetails(card.details, card.unsure));
  if (card.printing_known) {
    const why = el("button", { type: "button", class: "explain" }, "Explain");
    why.addEventListener("click", () => explainCard(card, crop, why));
    text.append(why);
  }
  if (card.alternatives.length) {
    const alts = el("ul", { class: "alternatives" });
    for (const alt of card.alternatives) {
      const li = el("li");
      li.append(safeLink(alt.scryfall_uri, alt.name), document.createTextNode(` (${alt.set.toUpperCase()} #${alt.collector_number})`));
      alts.append(li);
    }
    text.append(alts);
  }
  item.append(text);
  return item;
}

async function identify(file) {
  lastFile = file;
  setStatus(`Reading ${file.name || "photo"}…`);
  await showPhoto(file);
  const form = new FormData();
  form.append("image", file, file.name || "photo");
  let resp, body;
  try {
    resp = await fetch("identify", {
      method: "POST",
      body: form,
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    body = await resp.json().catch(() => null);
  } catch (err) {
    setStatus(`Could not reach the server: ${err.message}`, true);
    return;
  }
  if (resp.status === 401) {
    $("token-form").hidden = false;
    setStatus("This server needs an access token.", true);
    return;
  }
  if (!resp.ok) {
    setStatus((body && body.error && body.error.message) || `The server answered ${resp.status}.`, true);
    return;
  }
  drawOutlines(body);
  showDecklist(body.decklist);
  const img = $("photo");
  $("results").replaceChildren(...body.cards.map((c, i) => renderCard(c, i, img, body.image_size)));
  const n = body.cards.length;
  const ms = Math.round(body.timings_ms.total || 0);
  setStatus(n ? `Found ${n} card${n > 1 ? "s" : ""} in ${ms} ms.` : "No card found. Try a closer photo on a plain background.");
}

async function showCatalog() {
  // The demo catalog's cards are invented: say so before anyone trusts an answer.
  try {
    const resp = await fetch("health");
    const info = await resp.json();
    if (info.demo) {
      $("catalog").textContent = `This server answers from the ${info.catalog}: invented cards, for trying cardsight out. Their Scryfall links do not exist.`;
      $("catalog").hidden = false;
    }
  } catch (err) {
    // Health is informational here; the upload path reports real failures.
  }
}

function setup() {
  showCatalog();
  const drop = $("drop");
  $("file").addEventListener("change", (e) => e.target.files[0] && identify(e.target.files[0]));
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const type of ["dragleave", "drop"]) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.remove("over"); });
  }
  drop.addEventListener("drop", (e) => e.dataTransfer.files[0] && identify(e.dataTransfer.files[0]));
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem("cardsight-token", token);
    $("token-form").hidden = true;
    if (lastFile) identify(lastFile);
  });
}

setup();
