// Live crawl progress: poll the app's JSON of running crawls and update the counts in place.
// The page works without this script; it only saves a reload while a crawl runs.
(function () {
  "use strict";
  var host = document.querySelector("[data-live]");
  if (!host || !window.fetch) return;
  var url = host.getAttribute("data-live");
  var status = document.querySelector("[data-live-status]");
  var delay = 2000;

  function update(run) {
    var box = document.querySelector('.counts[data-crawl="' + CSS.escape(String(run.id)) + '"]');
    if (!box) return false;
    Object.keys(run.counts || {}).forEach(function (key) {
      var cell = box.querySelector('[data-count="' + CSS.escape(key) + '"]');
      if (cell) cell.textContent = String(run.counts[key]);
    });
    var item = box.closest(".run");
    var checked = item && item.querySelector("[data-checked]");
    if (checked && run.checked) checked.textContent = run.checked;
    var badge = item && item.querySelector("[data-state]");
    if (badge && badge.textContent !== run.state) {
      badge.textContent = run.state;
      badge.className = "badge " + run.state;
    }
    return true;
  }

  function tick() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) {
        var unknown = false;
        (data.runs || []).forEach(function (run) { if (!update(run)) unknown = true; });
        if (status) status.textContent = "Updated " + new Date().toLocaleTimeString();
        if (unknown || !data.running) { location.reload(); return; }
        setTimeout(tick, delay);
      })
      .catch(function (err) {
        if (status) status.textContent = "Live updates paused (" + err.message + "); reload to retry.";
        setTimeout(tick, delay * 5);
      });
  }
  setTimeout(tick, delay);
})();
