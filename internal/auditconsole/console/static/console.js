// The console's only script. Every page is this shell; the script fetches the
// page's content, rendered and escaped by the server, from the query API with
// the bearer token in the Authorization header (a browser cannot add one to a
// navigation), and shows the token form when the API answers 401. The token
// stays in this tab's sessionStorage: never in a URL or a cookie.
"use strict";
(function () {
  const key = "policyaudit.console.token";
  const page = document.getElementById("page");
  const form = document.getElementById("token-form");
  const forget = document.getElementById("forget-token");

  function fragmentURL() {
    const path = location.pathname === "/" ? "/timeline" : location.pathname;
    return "/console/fragment" + path + location.search;
  }

  async function load() {
    const headers = { Accept: "text/html" };
    const token = sessionStorage.getItem(key);
    if (token) {
      headers.Authorization = "Bearer " + token;
    }
    let resp;
    try {
      resp = await fetch(fragmentURL(), { headers: headers, credentials: "omit", cache: "no-store", redirect: "error" });
    } catch (err) {
      show("The query API did not answer: " + err.message);
      return;
    }
    if (resp.status === 401) {
      sessionStorage.removeItem(key);
      form.hidden = false;
      forget.hidden = true;
      show(token ? "The token was refused." : "This audit store asks for a bearer token.");
      document.getElementById("token").focus();
      return;
    }
    form.hidden = true;
    forget.hidden = !token;
    const type = resp.headers.get("Content-Type") || "";
    if (!type.startsWith("text/html")) {
      show("Unexpected answer from the query API (" + resp.status + ").");
      return;
    }
    // The fragment is HTML the server escaped; inserted markup never runs
    // script (innerHTML does not execute it, and the page's CSP allows
    // none but this file).
    page.innerHTML = await resp.text();
    const h1 = page.querySelector("h1");
    document.title = (h1 ? h1.textContent + " · " : "") + "policyaudit console";
    document.body.dataset.loaded = String(resp.status);
  }

  function show(message) {
    const p = document.createElement("p");
    p.className = "problem";
    p.textContent = message;
    page.replaceChildren(p);
    document.body.dataset.loaded = "error";
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    sessionStorage.setItem(key, document.getElementById("token").value);
    document.getElementById("token").value = "";
    load();
  });
  forget.addEventListener("click", function () {
    sessionStorage.removeItem(key);
    location.reload();
  });
  load();
})();
