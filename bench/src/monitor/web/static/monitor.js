// ECLAIRs monitor: live updates of the page's <main> by server-sent events.
// The server pushes a change stamp on /events; when it changes, the live part of the page
// (main[data-src], the same page with ?fragment=1) is fetched again and swapped in place,
// without reloading. A form being typed in is not replaced until the field loses focus.
"use strict";
(function () {
  var main = document.getElementById("live");
  if (!main || !window.EventSource) { return; }
  var dot = document.getElementById("live-state");
  var last = null, busy = false, pending = false;
  function typing() {
    var a = document.activeElement;
    return a && main.contains(a) && (a.tagName === "INPUT" || a.tagName === "SELECT" || a.tagName === "TEXTAREA");
  }
  function refresh() {
    if (busy) { pending = true; return; }
    if (typing()) { pending = true; return; }
    busy = true; pending = false;
    fetch(main.dataset.src, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.redirected && r.url.indexOf("/login") >= 0) { window.location.href = r.url; return null; }
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html !== null && html !== undefined) {
        main.innerHTML = html;
        document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || "0") + 1);
      }
    }).catch(function () {}).then(function () {
      busy = false;
      if (pending) { refresh(); }
    });
  }
  // Trends: a click on the plot zooms in x4 around the clicked time.
  main.addEventListener("click", function (e) {
    var svg = e.target.closest ? e.target.closest("svg#trend") : null;
    if (!svg) { return; }
    var box = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
    var vx = (e.clientX - box.left) / box.width * vb.width;
    var x0 = Number(svg.dataset.x0), x1 = Number(svg.dataset.x1);
    var from = Number(svg.dataset.fromMs), to = Number(svg.dataset.toMs);
    var f = Math.min(1, Math.max(0, (vx - x0) / (x1 - x0)));
    var t = from + f * (to - from), half = Math.max(1000, (to - from) / 8);
    var iso = function (ms) { return new Date(Math.round(ms / 1000) * 1000).toISOString().replace(".000Z", "Z"); };
    window.location.href = "/trends?param=" + encodeURIComponent(svg.dataset.param) +
      "&from=" + iso(t - half) + "&to=" + iso(t + half);
  });
  main.addEventListener("focusout", function () { if (pending) { setTimeout(refresh, 0); } });
  // The stream is closed when the page is hidden (navigation, back/forward cache): a browser
  // allows few connections per server, and cached pages would otherwise keep theirs open.
  var es = null;
  function connect() {
    es = new EventSource("/events");
    es.addEventListener("stamp", function (e) {
      if (dot) { dot.className = "live-on"; }
      document.body.dataset.stamp = e.data;
      if (last !== null && e.data !== last) { refresh(); }
      last = e.data;
    });
    es.onerror = function () { if (dot) { dot.className = "live-off"; } };
  }
  window.addEventListener("pagehide", function () {
    if (es) { es.close(); es = null; }
    if (dot) { dot.className = "live-off"; }
  });
  window.addEventListener("pageshow", function (e) {
    if (!es) { connect(); }
    if (e.persisted) { refresh(); }
  });
  connect();
})();
