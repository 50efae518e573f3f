// The run page: phases, per-pillar scores, the findings table with its filters (kept in the URL
// query so a filtered view is a shareable link), the exemption audit and the Prefect link.

import { api, badge, html, link, objectText, percentText, scoreText, segment, span, when } from "./core.js";
import { frameworkSection, wireFrameworks } from "./frameworks.js";
import { SEVERITIES } from "./views.js";

const PILLARS = ["security", "reliability", "performance", "cost", "operational-excellence", "sustainability"];
const STATUSES = ["failing", "warning", "error", "timeout", "passing", "skipped"];
export const FILTERS = ["pillar", "severity", "status", "namespace", "check"];
const PAGE = 100;

function phases(detail) {
  const list = detail.phases || [];
  const start = list.length ? Date.parse(list[0].at) : NaN;
  const items = list.map((p) => html`<li><b>${p.phase}</b><small>${when(p.at)}</small><br>
    <small>+${span(Date.parse(p.at) - start)}</small></li>`);
  return html`<ol class="timeline" id="phases">${items}</ol>`;
}

function pillarTable(detail) {
  const scores = detail.scores || {};
  const order = scores.pillar_order || Object.keys(detail.pillars || {});
  const row = (name, entry, counts) => html`<tr><td>${name}</td><td class="num">${scoreText(entry)}</td>
    <td class="num">${percentText(entry?.coverage)}</td>
    ${STATUSES.map((s) => html`<td class="num">${counts?.[s] ?? 0}</td>`)}</tr>`;
  return html`<table id="pillars"><thead><tr><th>Pillar</th><th class="num">Score</th><th class="num">Coverage</th>
    ${STATUSES.map((s) => html`<th class="num">${s}</th>`)}</tr></thead><tbody>
    ${order.map((p) => row(p, scores.pillars?.[p], detail.pillars?.[p]))}
    ${row("overall", scores.overall, detail.counts)}</tbody></table>
    ${(scores.not_evaluated || []).length ? html`<p class="muted">Not fully evaluated:</p><ul>
      ${scores.not_evaluated.map((n) => html`<li>${n.check_id} (${n.why}): ${n.message}</li>`)}</ul>` : ""}`;
}

function choice(name, options, chosen) {
  return html`<label>${name}<select name="${name}"><option value="">any</option>
    ${options.map((o) => html`<option value="${o}"${chosen.includes(o) ? html` selected` : ""}>${o}</option>`)}
    </select></label>`;
}

function filterForm(id, params) {
  const text = (name, hint) => html`<label>${name}<input name="${name}" value="${params.get(name) || ""}"
    placeholder="${hint}" autocomplete="off"></label>`;
  return html`<form class="filters" id="filters">
    ${choice("pillar", PILLARS, params.getAll("pillar"))}${choice("severity", SEVERITIES, params.getAll("severity"))}
    ${choice("status", STATUSES, params.getAll("status"))}${text("namespace", "e.g. shop")}${text("check", "e.g. SEC-001")}
    ${params.get("framework") ? html`<input type="hidden" name="framework" value="${params.get("framework")}">` : ""}
    <button type="submit">Filter</button> <a href="${link("run", id)}">clear</a></form>`;
}

export function findingRows(items) {
  return items.map((item) => html`<tr>
    <td>${badge("sev", item.severity)}</td><td>${badge("status", item.status)}</td>
    <td><a href="${link("check", item.check_id)}">${item.check_id}</a><br><small class="muted">${item.check_name}</small></td>
    <td class="obj">${objectText(item)}</td><td class="msg">${item.message ?? item.reason}</td>
    <td class="fix">${item.remediation}</td></tr>`);
}

function exemptions(audit) {
  if (!audit.length) return html`<p class="muted">Nothing to report: no expired, unmatched, invalid or disallowed exemption.</p>`;
  return html`<table id="exemptions"><thead><tr><th>Status</th><th>Source</th><th>Name</th><th>Checks</th>
    <th>Object(s)</th><th>Until</th><th class="num">Results</th><th>Message</th></tr></thead><tbody>
    ${audit.map((e) => html`<tr><td>${e.status}</td><td>${e.source}</td><td>${e.name}</td><td>${e.checks}</td>
      <td class="obj">${e.object ?? e.objects}</td><td>${e.until}</td><td class="num">${e.results ?? "-"}</td>
      <td class="msg">${e.message}</td></tr>`)}</tbody></table>`;
}

const BUILTIN_ID = /^(sec|rel|perf|cost|ops|sus)-[0-9]{3}$/i;

function builtinId(value) {
  return BUILTIN_ID.test(value) ? value.toUpperCase() : value;
}

// The filters of the URL, as the results endpoint takes them (repeated parameters).
export function filtersOf(params) {
  const out = {};
  for (const name of FILTERS) {
    // Built-in ids are upper case ("sec-001" finds SEC-001); a custom or admission-policy check
    // keeps the spelling it was registered with (VAP-demo-policy.example.com), so only those are changed.
    const values = params.getAll(name).map((v) => (name === "check" ? builtinId(v.trim()) : v.trim())).filter((v) => v);
    if (values.length) out[name] = values;
  }
  return out;
}

export async function run(params) {
  const id = params.get("id");
  const filters = filtersOf(params);
  const [detail, results, compliance] = await Promise.all([
    api(`runs/${segment(id)}`), api(`runs/${segment(id)}/results`, { ...filters, limit: PAGE }),
    frameworkSection(id, params),
  ]);
  const r = detail.run;
  const prefect = detail.prefect?.url;
  const safePrefect = prefect && /^https?:\/\//i.test(prefect) ? prefect : null;
  const total = results.pagination.total;
  return html`<div class="crumbs"><a href="/">Fleet</a> › <a href="${link("cluster", r.cluster_id)}">${r.cluster_id}</a> › run</div>
    <h1>${r.run_id}</h1>
    <ul class="facts"><li><span>score</span><b class="big" id="run-score">${scoreText(detail.scores?.overall)}</b></li>
      <li><span>coverage</span>${percentText(detail.scores?.overall?.coverage)}</li>
      <li><span>state</span>${badge("state", r.state)}</li><li><span>cluster</span>
        <a href="${link("cluster", r.cluster_id)}">${r.cluster_id}</a></li>
      <li><span>scope</span>${r.scope}</li><li><span>trigger</span>${r.trigger}</li><li><span>source</span>${r.source}</li>
      <li><span>duration</span>${span(detail.timings?.duration_ms)}</li>
      <li><span>Prefect</span>${safePrefect ? html`<a id="prefect" href="${safePrefect}">flow run</a>`
        : r.prefect_flow_run_id ? html`<span class="muted">flow run ${r.prefect_flow_run_id} (no Prefect UI found)</span>`
        : html`<span class="muted">no flow run</span>`}</li></ul>
    ${r.error ? html`<p class="error">${r.error}</p>` : ""}
    ${(detail.warnings || []).length ? html`<ul>${detail.warnings.map((w) => html`<li>${w}</li>`)}</ul>` : ""}
    <h2>Phases</h2>${phases(detail)}
    <h2>Pillars</h2>${pillarTable(detail)}
    <h2>Compliance framework</h2>${compliance}
    <h2>Findings</h2>${filterForm(id, params)}
    <p id="findings-total"><b>${total}</b> result(s) match${Object.keys(filters).length ? " these filters" : ""}.</p>
    <table id="findings"><thead><tr><th>Severity</th><th>Status</th><th>Check</th><th>Object</th><th>Message</th>
      <th>Remediation</th></tr></thead><tbody>${findingRows(results.items)}</tbody></table>
    ${results.pagination.next_cursor ? html`<button class="more" id="more" data-cursor="${results.pagination.next_cursor}">
      Show ${PAGE} more</button>` : ""}
    <h2>Exemptions audit</h2>${exemptions(detail.exemption_audit || [])}`;
}

// Wiring of the run page once shown: the filter form rewrites the URL query, "more" pages on.
export function wireRun(root, params, rerender) {
  wireFrameworks(root, rerender);
  const form = root.querySelector("#filters");
  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const next = new URLSearchParams({ view: "run", id: params.get("id") });
      for (const [name, value] of new FormData(form)) if (String(value).trim()) next.append(name, String(value).trim());
      history.pushState(null, "", `/?${next}`);
      rerender();
    });
  }
  const more = root.querySelector("#more");
  if (more) {
    more.addEventListener("click", async () => {
      more.disabled = true;
      const page = await api(`runs/${segment(params.get("id"))}/results`,
        { ...filtersOf(params), limit: PAGE, cursor: more.dataset.cursor });
      root.querySelector("#findings tbody").insertAdjacentHTML("beforeend", String(findingRows(page.items).map(String).join("")));
      if (page.pagination.next_cursor) {
        more.dataset.cursor = page.pagination.next_cursor;
        more.disabled = false;
      } else more.remove();
    });
  }
}
