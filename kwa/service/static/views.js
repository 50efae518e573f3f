// The fleet, cluster and check pages. Each is an async function of the URL's query that returns
// HTML (built with `html`, so every API value is escaped) and reads only the JSON API.

import {
  api, badge, html, lineChart, link, numberText, objectText, percentText, scoreText, segment, signedText,
  sparkline, when,
} from "./core.js";

export const SEVERITIES = ["critical", "high", "medium", "low", "info"];
const FLAGGED = ["failing", "warning", "error", "timeout"];

async function historyOf(cluster) {
  try {
    return await api(`clusters/${segment(cluster)}/history`);
  } catch (error) {
    if (error.status === 404 || error.status === 409) return null; // no finished run to chart yet
    throw error;
  }
}

// History rows carry the score in flat fields: the same entry shape score_text reads.
const historyScore = (item) => ({
  score: item.overall_score, grade: item.overall_grade,
  grade_capped: item.overall_grade_capped, incomplete: item.overall_incomplete,
});

export async function fleet() {
  const clusters = (await api("clusters")).items;
  const histories = await Promise.all(clusters.map((c) => historyOf(c.cluster_id)));
  const rows = clusters.map((c, i) => {
    const finished = c.latest_finished;
    const overall = finished?.scores?.overall;
    const counts = finished?.counts || {};
    const trend = (histories[i]?.items || []).map((item) => item.overall_score);
    return html`<tr>
      <td><a href="${link("cluster", c.cluster_id)}">${c.cluster_id}</a></td>
      <td class="num score">${scoreText(overall)}</td>
      <td class="num">${percentText(overall?.coverage)}</td>
      <td class="num">${counts.failing ?? "-"}</td>
      <td class="num">${counts.warning ?? "-"}</td>
      <td>${badge("state", c.state)} <a href="${link("run", c.run_id)}">${when(c.requested_at)}</a></td>
      <td class="num">${c.runs}</td>
      <td>${sparkline(trend, `overall score of ${c.cluster_id} over ${trend.length} runs`)}</td>
    </tr>`;
  });
  return html`<h1>Fleet</h1>
    <p class="muted">${clusters.length} cluster(s). Score, grade and coverage of each cluster's latest finished run;
      state of its latest run; the trend is the overall score of its comparable runs.</p>
    <table id="fleet"><thead><tr><th>Cluster</th><th class="num">Score</th><th class="num">Coverage</th>
      <th class="num">Failing</th><th class="num">Warnings</th><th>Last run</th><th class="num">Runs</th><th>Trend</th>
    </tr></thead><tbody>${rows}</tbody></table>`;
}

async function bySeverity(runId) {
  const totals = await Promise.all(SEVERITIES.map((severity) => api(`runs/${segment(runId)}/results`,
    { severity, status: FLAGGED, limit: 1 }).then((page) => page.pagination.total)));
  const cells = SEVERITIES.map((severity, i) => html`<tr><td>${badge("sev", severity)}</td>
    <td class="num"><a href="${link("run", runId, { severity, status: FLAGGED })}">${totals[i]}</a></td></tr>`);
  return html`<table id="by-severity"><thead><tr><th>Severity</th><th class="num">Findings</th></tr></thead>
    <tbody>${cells}</tbody></table>`;
}

function changeList(items) {
  if (!items.length) return html`<p class="muted">none</p>`;
  return html`<table><tbody>${items.map((item) => html`<tr><td>${badge("sev", item.severity)}</td>
    <td><a href="${link("check", item.check_id)}">${item.check_id}</a></td>
    <td class="obj">${objectText(item)}</td><td class="msg">${item.message}</td></tr>`)}</tbody></table>`;
}

async function sincePrevious(items) {
  if (items.length < 2) return html`<p class="muted">No earlier comparable run to compare with.</p>`;
  const [a, b] = [items[items.length - 2], items[items.length - 1]];
  const diff = await api(`runs/${segment(a.run_id)}/diff/${segment(b.run_id)}`);
  return html`<p>From <a href="${link("run", a.run_id)}">${when(a.requested_at)}</a> to
      <a href="${link("run", b.run_id)}">${when(b.requested_at)}</a>:
      <b id="new-count">${diff.counts.new_failures} new</b>, <b id="fixed-count">${diff.counts.fixed} fixed</b>,
      ${diff.counts.still_failing} still failing.</p>
    <div class="grid"><div class="card"><h3>New</h3>${changeList(diff.new_failures)}</div>
      <div class="card"><h3>Fixed</h3>${changeList(diff.fixed)}</div></div>`;
}

export async function cluster(params) {
  const id = params.get("id");
  const [history, runs] = await Promise.all([
    historyOf(id), api(`clusters/${segment(id)}/runs`, { limit: 20 }),
  ]);
  const items = history?.items || [];
  const pillars = history?.pillars || [];
  const latest = items[items.length - 1];
  const series = [{ name: "overall", values: items.map((i) => i.overall_score) },
    ...pillars.map((p) => ({ name: p, values: items.map((i) => i.pillar_scores?.[p]) }))];
  const chart = items.length ? lineChart(series, items.map((i) => when(i.requested_at)),
    `scores of ${id} over ${items.length} runs`) : html`<p class="muted">No finished run yet.</p>`;
  const historyRows = items.slice().reverse().map((item) => html`<tr>
    <td><a href="${link("run", item.run_id)}">${when(item.requested_at)}</a></td><td>${badge("state", item.state)}</td>
    <td class="num">${scoreText(historyScore(item))}</td><td class="num">${percentText(item.overall_coverage)}</td>
    <td class="num">${signedText(item.delta?.overall_score)}</td>
    ${pillars.map((p) => html`<td class="num">${(item.pillar_incomplete || []).includes(p) ? "incomplete" : numberText(item.pillar_scores?.[p])}</td>`)}
    <td class="num">${item.counts?.failing ?? "-"}</td></tr>`);
  const runRows = runs.items.map((run) => html`<tr><td><a href="${link("run", run.run_id)}">${run.run_id}</a></td>
    <td>${badge("state", run.state)}</td><td>${run.scope}</td><td>${run.trigger}</td><td>${when(run.requested_at)}</td>
    <td class="msg">${run.error}</td></tr>`);
  return html`<div class="crumbs"><a href="/">Fleet</a> › cluster</div><h1>${id}</h1>
    ${latest ? html`<ul class="facts"><li><span>latest score</span><b class="big">${scoreText(historyScore(latest))}</b></li>
      <li><span>coverage</span>${percentText(latest.overall_coverage)}</li>
      <li><span>history of</span>${history.scope_chosen} (scope ${history.scope})</li></ul>` : ""}
    <h2>Scores over time</h2>${chart}
    <table id="history"><thead><tr><th>Run</th><th>State</th><th class="num">Score</th><th class="num">Coverage</th>
      <th class="num">Change</th>${pillars.map((p) => html`<th class="num">${p}</th>`)}<th class="num">Failing</th></tr></thead>
      <tbody>${historyRows}</tbody></table>
    ${latest ? html`<h2>Findings by severity (latest run)</h2>${await bySeverity(latest.run_id)}
      <h2>Since the previous comparable run</h2>${await sincePrevious(items)}` : ""}
    <h2>Runs</h2><table id="runs"><thead><tr><th>Run</th><th>State</th><th>Scope</th><th>Trigger</th><th>Requested</th>
      <th>Error</th></tr></thead><tbody>${runRows}</tbody></table>`;
}

export async function check(params) {
  const body = await api(`checks/${segment(params.get("id"))}`);
  const c = body.check;
  const peers = Object.entries(c.peers || {}).map(([tool, ids]) => html`<li><span>${tool}</span>${ids.join(", ")}</li>`);
  const clusters = body.clusters.map((entry) => html`<tr>
    <td><a href="${link("cluster", entry.cluster_id)}">${entry.cluster_id}</a></td>
    <td><a href="${link("run", entry.run_id, { check: c.id })}">${when(entry.requested_at)}</a> ${badge("state", entry.state)}</td>
    <td class="num">${entry.affected}</td>
    <td>${entry.items.length ? html`<ul>${entry.items.map((item) => html`<li>${badge("status", item.status)}
      <span class="obj">${objectText(item)}</span> <span class="muted">${item.message}</span></li>`)}</ul>`
    : html`<span class="muted">none</span>`}</td></tr>`);
  return html`<div class="crumbs"><a href="/">Fleet</a> › check</div>
    <h1>${c.id} ${c.name}</h1>
    <ul class="facts"><li><span>pillar</span>${c.pillar}</li><li><span>severity</span>${badge("sev", c.severity)}</li>
      <li><span>mode</span>${c.mode}</li><li><span>reference</span>${c.docs_url}</li></ul>
    <h2>Rule</h2><p id="rule">${c.description}</p>
    <h2>Remediation</h2><p id="remediation">${c.remediation}</p>
    ${c.requires?.length ? html`<p><span class="muted">Reads:</span> ${c.requires.join(", ")}</p>` : ""}
    ${peers.length ? html`<h2>Same rule elsewhere</h2><ul class="facts">${peers}</ul>` : ""}
    <h2>Affected objects across clusters</h2>
    <p class="muted">In each cluster's latest finished run that assessed this check.</p>
    <table id="affected"><thead><tr><th>Cluster</th><th>Run</th><th class="num">Affected</th><th>Objects</th></tr></thead>
      <tbody>${clusters}</tbody></table>`;
}
