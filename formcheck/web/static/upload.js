// Check a set: client-side checks (size, empty), upload with progress, then follow the job.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var input = document.getElementById("clip");
  var chosen = document.getElementById("chosen");
  var errBox = document.getElementById("error");
  var wrap = document.getElementById("bar-wrap");
  var bar = document.getElementById("bar");
  var barText = document.getElementById("bar-text");
  var go = document.getElementById("go");
  var limit = parseInt(form.dataset.limit, 10);

  function showError(msg) {
    errBox.textContent = msg;  // textContent: never interpreted as HTML
    errBox.hidden = false;
    wrap.hidden = true;
    go.disabled = false;
  }
  function mb(n) { return (n / 1048576).toFixed(n < 10485760 ? 1 : 0) + " MB"; }

  input.addEventListener("change", function () {
    errBox.hidden = true;
    var f = input.files[0];
    chosen.textContent = f ? f.name + " · " + mb(f.size) : "";
  });

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    errBox.hidden = true;
    var f = input.files[0];
    if (!f) { showError("Choose a clip first (or record one)."); return; }
    if (f.size === 0) { showError("“" + f.name + "” is empty (0 bytes). Choose the clip again."); return; }
    if (f.size > limit) {
      showError("“" + f.name + "” is " + mb(f.size) + "; this server accepts clips up to " +
                form.dataset.limitTxt + ". Trim the clip to the set, or film at a lower resolution.");
      return;
    }
    var data = new FormData(form);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) return;
      var p = Math.round(100 * e.loaded / e.total);
      bar.style.width = (p * 0.3) + "%";
      barText.textContent = "Uploading… " + p + "%";
    };
    xhr.onload = function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      if (xhr.status === 202 && body && body.job) { follow(body); return; }
      showError((body && body.error) || ("The server refused the upload (HTTP " + xhr.status + ")."));
    };
    xhr.onerror = function () { showError("The upload failed: the connection to the server was lost. Check the Wi-Fi and try again."); };
    go.disabled = true;
    wrap.hidden = false;
    bar.style.width = "0%";
    barText.textContent = "Uploading…";
    xhr.send(data);
  });

  var RETRY = {};
  // The job's status, or a message (string) when polling cannot go on (no token, unknown job),
  // or RETRY (the server restarting).
  function readStatus(r) {
    return r.json().catch(function () { return null; }).then(function (s) {
      if (r.ok && s && typeof s.state === "string") return s;
      if (r.status >= 500) return RETRY;
      if (r.status === 403) return "The server needs its access token: open the address printed by `formcheck serve` (it ends with ?token=…).";
      return (s && s.error) || ("The server did not answer with the job's progress (HTTP " + r.status + "). Reload the page to check.");
    });
  }

  function follow(job) {
    barText.textContent = "Uploaded. Waiting for the analyser…";
    function poll() {
      fetch(job.status, { headers: { Accept: "application/json" } })
        .then(readStatus)
        .then(function (s) {
          if (s === RETRY) { setTimeout(poll, 1500); return; }
          if (typeof s === "string") { showError(s); return; }
          if (s.state === "done") {
            bar.style.width = "100%";
            barText.textContent = "Done.";
            window.location.href = s.report;
            return;
          }
          if (s.state === "error") { showError(s.error || "The analysis failed."); return; }
          if (s.state === "running") {
            bar.style.width = (30 + 70 * s.progress).toFixed(0) + "%";
            barText.textContent = "Analysing… " + Math.round(100 * s.progress) + "%";
          } else if (s.ahead > 0) {
            barText.textContent = "Queued: " + s.ahead + " clip(s) ahead.";
          }
          setTimeout(poll, 500);
        })
        .catch(function () { setTimeout(poll, 1500); });
    }
    poll();
  }
})();
