// chia-pool status pages: the HTML already holds every figure; this only refreshes the numbers marked with
// data-k from the JSON endpoint the page names (data-api on <main>) once a minute, without reloading.
"use strict";
(function () {
  var main = document.querySelector("main[data-api]");
  if (!main || !window.fetch) { return; }
  var api = main.getAttribute("data-api");
  function pick(obj, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? undefined : o[k]; }, obj);
  }
  function refresh() {
    fetch(api, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        document.querySelectorAll("[data-k]").forEach(function (el) {
          var v = pick(data, el.getAttribute("data-k"));
          if (typeof v === "number" || typeof v === "string") {
            var unit = el.getAttribute("data-unit");
            el.textContent = unit === "bytes" ? formatBytes(v) : String(v);
          }
        });
      })
      .catch(function () {});
  }
  function formatBytes(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i === 0 ? 0 : 2) + " " + units[i];
  }
  setInterval(refresh, 60000);
})();
