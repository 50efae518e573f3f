// The dashboard's plumbing: escaping, the API client, the token, number formats and SVG charts.
// Every value from the API is hostile until escaped: pages build HTML only through `html`, which
// escapes each interpolated value unless it is already the output of `html`.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
// Control and bidirectional characters from the input (a right-to-left override would show a name
// reordered) are shown as \xNN / \uNNNN, as kwa's terminal output shows them.
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const shown = (c) => {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
};
export const esc = (value) => String(value ?? "").replace(UNSAFE, shown).replace(/[&<>"']/g, (c) => ESCAPES[c]);

class Safe {
  constructor(text) { this.text = text; }
  toString() { return this.text; }
}

function piece(value) {
  if (value instanceof Safe) return value.text;
  if (Array.isArray(value)) return value.map(piece).join("");
  if (value === null || value === undefined || value === false) return "";
  return esc(value);
}

export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((value, i) => { out += piece(value) + strings[i + 1]; });
  return new Safe(out);
}

// ---- links: every page is "/" with its view and filters in the query, so links are shareable
export function link(view, id, extra = {}) {
  const params = new URLSearchParams({ view, id });
  for (const [key, value] of Object.entries(extra)) {
    for (const v of [].concat(value)) if (v !== "" && v !== null && v !== undefined) params.append(key, v);
  }
  return `/?${params}`;
}

// ---- the token: asked once, kept for the tab in sessionStorage, never in a URL, never logged
const TOKEN_KEY = "kwa-token";
export class NeedToken extends Error {}
export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}
export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export async function api(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const v of [].concat(value)) if (v !== "" && v !== null && v !== undefined) query.append(key, v);
  }
  const headers = { Accept: "application/json" };
  const secret = token.get();
  if (secret) headers.Authorization = `Bearer ${secret}`;
  const qs = query.toString();
  const url = `/api/v1/${path}${qs ? `?${qs}` : ""}`;
  const response = await fetch(url, { headers, credentials: "same-origin", cache: "no-store" });
  if (response.status === 401) throw new NeedToken(secret ? "the token was refused (unknown or revoked)" : "");
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try { detail = (await response.json()).detail || detail; } catch { /* not a problem document */ }
    throw new ApiError(response.status, detail);
  }
  return response.json();
}

export const segment = (value) => encodeURIComponent(value);

// ---- numbers as every kwa output shows them (storage/grades.py: cut toward zero, one decimal)
export function numberText(value, places = 1) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "-";
  const scale = 10 ** places;
  const scaled = value * scale;
  const whole = scaled >= 0 ? Math.trunc(scaled + 1e-9) : Math.trunc(scaled - 1e-9);
  let text = (whole / scale).toFixed(places);
  if (places) text = text.replace(/0+$/, "").replace(/\.$/, "");
  return text === "-0" || text === "" ? "0" : text;
}

export const percentText = (value) => (numberText(value) === "-" ? "-" : `${numberText(value)} %`);

export function signedText(value) {
  const text = numberText(value);
  return text === "-" || text === "0" || text.startsWith("-") ? text : `+${text}`;
}

// The API's stored score entry shown as the CLI shows it (storage.grades.score_text); the grade
// and the cap come from the API, never recomputed here.
export function scoreText(entry) {
  if (entry === null || entry === undefined) return "-";
  if (typeof entry !== "object") return numberText(entry);
  if (entry.incomplete) return "incomplete";
  const shown = numberText(entry.score);
  if (shown === "-") return "-";
  if (!entry.grade) return shown;
  return entry.grade_capped ? `${shown} (${entry.grade}, capped)` : `${shown} (${entry.grade})`;
}

export function when(value) {
  if (!value) return "-";
  return String(value).replace("T", " ").replace(/\.\d+/, "").replace(/\+00:00$|Z$/, " UTC");
}

export function span(ms) {
  if (typeof ms !== "number") return "-";
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  return s < 120 ? `${numberText(s)} s` : `${numberText(s / 60)} min`;
}

export const badge = (kind, value) => html`<span class="${kind} ${kind}-${value}">${value ?? "-"}</span>`;

export function objectText(item) {
  const parts = [item.object_kind, item.object_namespace, item.object_name].filter((p) => p);
  const text = parts.join("/") || "(cluster)";
  return item.container ? `${text} [${item.container}]` : text;
}

// ---- SVG: a sparkline and a multi-series line chart over 0..100, drawn from history
const PALETTE = ["#1d2329", "#c92a2a", "#2b8a3e", "#0b5cad", "#b08900", "#7048e8", "#0c8599"];

function points(values, width, height, pad) {
  const n = values.length;
  const step = n > 1 ? (width - 2 * pad) / (n - 1) : 0;
  return values.map((v, i) => (typeof v === "number"
    ? [pad + i * step, pad + (height - 2 * pad) * (1 - v / 100)] : null));
}

function path(pts) {
  let d = "";
  let pen = false;
  for (const p of pts) {
    if (!p) { pen = false; continue; }
    d += `${pen ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)} `;
    pen = true;
  }
  return d.trim();
}

export function sparkline(values, label) {
  const [w, h, pad] = [120, 28, 3];
  const pts = points(values, w, h, pad);
  const dots = pts.filter((p) => p);
  if (!dots.length) return html`<span class="muted">no scores</span>`;
  const last = dots[dots.length - 1];
  return html`<svg class="trend" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${label}">
    <title>${label}</title>
    <path d="${path(pts)}" fill="none" stroke="#0b5cad" stroke-width="1.5"></path>
    <circle cx="${last[0].toFixed(1)}" cy="${last[1].toFixed(1)}" r="2.5" fill="#0b5cad"></circle></svg>`;
}

export function lineChart(series, labels, title) {
  const [w, h, pad] = [900, 240, 28];
  const grid = [0, 25, 50, 75, 100].map((v) => {
    const y = pad + (h - 2 * pad) * (1 - v / 100);
    return html`<line x1="${pad}" x2="${w - pad}" y1="${y}" y2="${y}" stroke="#d6dbe0"></line>
      <text x="2" y="${y + 4}" font-size="11" fill="#5b6670">${v}</text>`;
  });
  const lines = series.map((s, i) => {
    const pts = points(s.values, w, h, pad);
    const color = PALETTE[i % PALETTE.length];
    return html`<path d="${path(pts)}" fill="none" stroke="${color}" stroke-width="${i ? 1.5 : 2.5}"></path>
      ${pts.filter((p) => p).map((p) => html`<circle cx="${p[0].toFixed(1)}" cy="${p[1].toFixed(1)}" r="3" fill="${color}"></circle>`)}`;
  });
  const first = labels[0] || "";
  const last = labels[labels.length - 1] || "";
  const legend = series.map((s, i) => html`<li><i class="swatch-${i}" data-color="${PALETTE[i % PALETTE.length]}"></i>${s.name}</li>`);
  return html`<svg class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${title}">
    <title>${title}</title>${grid}${lines}
    <text x="${pad}" y="${h - 6}" font-size="11" fill="#5b6670">${first}</text>
    <text x="${w - pad}" y="${h - 6}" font-size="11" fill="#5b6670" text-anchor="end">${last}</text></svg>
    <ul class="legend">${legend}</ul>`;
}

// The legend swatches take their colour from data attributes: inline style attributes would be
// refused by the page's Content-Security-Policy (style-src 'self').
export function paintLegends(root) {
  for (const swatch of root.querySelectorAll("i[data-color]")) swatch.style.background = swatch.dataset.color;
}
