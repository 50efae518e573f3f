// The run page's compliance view: a framework selector (kept in the URL query as ?framework=, so
// the view is a shareable link) and, once one is chosen, its controls with their status, the
// framework score and coverage, exactly as GET /api/v1/runs/{id}/frameworks/{name} answers them.

import { ApiError, api, badge, html, numberText, percentText, segment } from "./core.js";

function details(c) {
  if (c.status === "not-assessed") return c.reason;
  const bits = [];
  if (c.failing_checks.length) bits.push(`${c.failing} failing (${c.failing_checks.join(", ")})`);
  if (c.warning) bits.push(`${c.warning} warning`);
  if (c.exempted) bits.push(`${c.exempted} exempted`);
  if (c.not_evaluated.length) bits.push(`not evaluated: ${c.not_evaluated.map((n) => `${n.check_id} ${n.why}`).join(", ")}`);
  return bits.join("; ");
}

function controlsTable(report) {
  return html`<ul class="facts"><li><span>framework score</span><b class="big" id="framework-score">${numberText(report.score)}</b></li>
    <li><span>coverage</span><b id="framework-coverage">${percentText(report.coverage)}</b></li>
    <li><span>controls evaluated</span>${report.controls_evaluated} of ${report.controls_total}</li>
    ${["passed", "failed", "warning", "not-evaluated", "not-assessed"].map(
      (s) => html`<li><span>${s}</span>${report.counts[s] ?? 0}</li>`)}</ul>
    <p class="muted">${report.framework.title} ${report.framework.version}.
      ~ marks a partial mapping: kwa's checks cover only part of the control.</p>
    <table id="controls"><thead><tr><th>Control</th><th>Title</th><th>Status</th><th>Checks</th><th>Details</th></tr></thead>
    <tbody>${report.controls.map((c) => html`<tr data-control="${c.id}"><td>${c.id}${c.partial ? " ~" : ""}</td>
      <td>${c.title}<br><small class="muted">${c.reference}</small></td>
      <td>${badge("control", c.status)}</td><td>${c.checks.join(", ") || "-"}</td>
      <td class="msg">${details(c)}</td></tr>`)}</tbody></table>`;
}

export async function frameworkSection(id, params) {
  const chosen = params.get("framework") || "";
  // An unknown name in a shared link is said here; the rest of the run page still shows.
  const asked = chosen ? api(`runs/${segment(id)}/frameworks/${segment(chosen)}`).catch((error) => {
    if (error instanceof ApiError) return { error: `${error.status}: ${error.message}` };
    throw error;
  }) : null;
  const [list, report] = await Promise.all([api("frameworks"), asked]);
  const selector = html`<form class="filters" id="framework-form"><label>Framework<select name="framework" id="framework">
    <option value="">none</option>${list.items.map((f) => html`<option value="${f.name}"${f.name === chosen ? html` selected` : ""}>
      ${f.name}: ${f.title}</option>`)}</select></label></form>`;
  if (report?.error) return html`${selector}<p class="error" id="framework-error">${report.error}</p>`;
  return html`${selector}${report ? controlsTable(report) : html`<p class="muted">Choose a framework to read this run control by control.</p>`}`;
}

// Choosing a framework rewrites ?framework= and shows the page again.
export function wireFrameworks(root, rerender) {
  const select = root.querySelector("#framework");
  if (!select) return;
  root.querySelector("#framework-form").addEventListener("submit", (event) => event.preventDefault());
  select.addEventListener("change", () => {
    const next = new URLSearchParams(location.search);
    if (select.value) next.set("framework", select.value);
    else next.delete("framework");
    history.pushState(null, "", `/?${next}`);
    rerender();
  });
}
