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
  main.addEventListener("focusout", function () { if (pending) { setTimeout(refresh, 0); } });
  var es = new EventSource("/events");
  es.addEventListener("stamp", function (e) {
    if (dot) { dot.className = "live-on"; }
    document.body.dataset.stamp = e.data;
    if (last !== null && e.data !== last) { refresh(); }
    last = e.data;
  });
  es.onerror = function () { if (dot) { dot.className = "live-off"; } };
})();
