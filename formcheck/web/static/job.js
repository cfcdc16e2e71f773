// Progress of one upload job (the page a non-JS upload lands on, or a reload).
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) return;
  var id = box.dataset.job;
  var bar = document.getElementById("bar");
  var state = document.getElementById("state");
  var err = document.getElementById("error");
  var next = document.getElementById("next");
  function poll() {
    fetch("/api/jobs/" + encodeURIComponent(id), { headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (s) {
          if (r.ok && s && typeof s.state === "string") return s;
          if (r.status >= 500) return null;  // the server restarting: ask again
          throw new Error(r.status === 403
            ? "The server needs its access token: open the address printed by `formcheck serve` (it ends with ?token=…)."
            : ((s && s.error) || ("The server did not answer with this upload's progress (HTTP " + r.status + ").")));
        });
      })
      .then(function (s) {
        if (s === null) { setTimeout(poll, 1500); return; }
        if (s.state === "done") { bar.style.width = "100%"; window.location.href = s.report; return; }
        if (s.state === "error") {
          state.textContent = "Failed";
          err.textContent = s.error || "The analysis failed.";
          err.hidden = false; next.hidden = false; return;
        }
        bar.style.width = Math.round(100 * (s.progress || 0)) + "%";
        state.textContent = s.state === "running" ? "Analysing… " + Math.round(100 * s.progress) + "%"
          : (s.ahead > 0 ? "Queued: " + s.ahead + " clip(s) ahead." : "Waiting for a free analyser…");
        setTimeout(poll, 500);
      })
      .catch(function (e) {
        if (e instanceof TypeError) { setTimeout(poll, 1500); return; }  // network down: retry
        state.textContent = "Stopped";
        err.textContent = e.message;
        err.hidden = false; next.hidden = false;
      });
  }
  if (!err.hidden) return;
  poll();
})();
