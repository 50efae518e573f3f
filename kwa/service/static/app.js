// The dashboard's entry point: picks the page from the URL query (?view=fleet|cluster|run|check),
// asks for a token when the API answers 401, and shows errors as text.

import { ApiError, NeedToken, html, paintLegends, token } from "./core.js";
import { run, wireRun } from "./run.js";
import { check, cluster, fleet } from "./views.js";

const PAGES = { fleet, cluster, run, check };
const main = document.getElementById("main");

function tokenForm(reason) {
  main.innerHTML = String(html`<form class="token card" id="token-form">
    <h1>API token</h1>
    <p>This kwa service needs a bearer token with the <b>read</b> scope. Create one on the service host with
      <code>kwa tokens create --scope read</code>. It is kept for this browser tab only.</p>
    ${reason ? html`<p class="error" id="token-error">${reason}</p>` : ""}
    <label>Token <input type="password" name="token" id="token" autocomplete="off" required></label>
    <button type="submit">Open the dashboard</button></form>`);
  const form = document.getElementById("token-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = new FormData(form).get("token").trim();
    if (value) {
      token.set(value);
      show();
    }
  });
  document.getElementById("token").focus();
}

async function show() {
  const params = new URLSearchParams(location.search);
  const view = PAGES[params.get("view")] && params.get("id") ? params.get("view") : "fleet";
  document.title = view === "fleet" ? "kwa · fleet" : `kwa · ${view} ${params.get("id")}`;
  try {
    const page = await PAGES[view](params);
    main.innerHTML = String(page);
    paintLegends(main);
    if (view === "run") wireRun(main, params, show);
    document.getElementById("who").textContent = token.get() ? "token in use for this tab" : "";
    document.getElementById("forget").hidden = !token.get();
  } catch (error) {
    if (error instanceof NeedToken) {
      token.clear(); // a refused token is never retried
      tokenForm(error.message);
    } else {
      const detail = error instanceof ApiError ? `${error.status}: ${error.message}` : String(error);
      main.innerHTML = String(html`<p class="error" id="failure">${detail}</p><p><a href="/">Back to the fleet</a></p>`);
    }
  }
}

document.getElementById("forget").addEventListener("click", () => {
  token.clear();
  document.getElementById("forget").hidden = true;
  document.getElementById("who").textContent = "";
  show();
});
window.addEventListener("popstate", show);
show();
