// Live: browser camera -> JPEG frames over a WebSocket -> per-frame state -> overlay + speech.
// One frame in flight: the next frame is captured only when the previous answer arrived, so
// frames are dropped (never captured) rather than queued when the server is slower.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var root = $("live");
  if (!root) return;
  var maxSide = parseInt(root.dataset.maxSide, 10) || 480;
  var video = $("video"), overlay = $("overlay"), stage = $("stage");
  var ctx = overlay.getContext("2d");
  var grab = document.createElement("canvas");
  var gctx = grab.getContext("2d");
  var ws = null, stream = null, inflight = false, seq = 0, watchdog = null, running = false;
  var pending = {};
  // New camera frames (requestVideoFrameCallback): never send the same frame twice, and date
  // each frame from when the camera delivered it (not when it was grabbed).
  var hasVFC = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
  var frameNo = 0, sentFrameNo = -1, frameTime = 0, waitingFrame = false;
  function onVideoFrame(now, meta) {
    frameNo += 1;
    var t = meta && meta.captureTime;
    frameTime = (typeof t === "number" && t <= now && now - t < 1000) ? t : now;
    if (waitingFrame) { waitingFrame = false; send(); }
    video.requestVideoFrameCallback(onVideoFrame);
  }
  var zones = [];
  var last = null;
  var stats = window.formcheckLive = {
    reps: 0, armed: false, frames: 0, answered: 0, latencies: [], grabLatencies: [], serverMs: [],
    dropped: 0,
    cue: null, cues: [], summary: null, error: null, connected: false
  };
  var BONES = [[11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [11, 23], [12, 24], [23, 24],
    [23, 25], [25, 27], [24, 26], [26, 28], [27, 29], [28, 30], [29, 31], [30, 32], [27, 31],
    [28, 32], [0, 11], [0, 12]];

  function showError(msg) {
    stats.error = msg;
    $("error").textContent = msg;
    $("error").hidden = false;
  }
  function status(msg) { $("status").textContent = msg; }

  function cameraHelp(err) {
    var n = err && err.name;
    if (n === "NotAllowedError" || n === "SecurityError" || n === "PermissionDeniedError") {
      return "Camera permission was refused. Allow the camera for this site (tap the camera or " +
        "lock icon next to the address, choose Allow), then press Start camera again. Or record " +
        "the set with your camera app and upload it on Check a set.";
    }
    if (n === "NotFoundError" || n === "OverconstrainedError" || n === "DevicesNotFoundError") {
      return "No camera was found. Plug one in or use a phone, or upload a recording on Check a set.";
    }
    if (n === "NotReadableError" || n === "TrackStartError") {
      return "The camera is in use by another app. Close it (video call, camera app) and try again.";
    }
    return "The camera could not be started (" + (n || err) + "). Reload the page and try again, " +
      "or upload a recording on Check a set.";
  }

  function start() {
    $("error").hidden = true;
    $("summary").hidden = true;
    stats.summary = null;
    stats.error = null;
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showError("This browser only gives the camera to pages opened over HTTPS or from this " +
        "computer (localhost). Restart the server with `formcheck serve --host 0.0.0.0 --https` " +
        "and open the https:// address it prints (accept the certificate warning once), or " +
        "record the set with your camera app and upload it on Check a set.");
      return;
    }
    if (window.speechSynthesis) {  // unlock speech inside the user gesture (iOS)
      try { window.speechSynthesis.speak(new SpeechSynthesisUtterance("")); } catch (e) { /* ignore */ }
    }
    $("start").disabled = true;
    status("Starting the camera…");
    navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 640 }, height: { ideal: 480 } }
    }).then(function (s) {
      stream = s;
      video.srcObject = s;
      stage.hidden = false;
      $("intro").hidden = true;
      $("reps").textContent = "0";
      stats.reps = 0;
      video.onloadedmetadata = function () {
        video.play();
        if (hasVFC) video.requestVideoFrameCallback(onVideoFrame);
        overlay.width = video.videoWidth;
        overlay.height = video.videoHeight;
        stage.style.aspectRatio = video.videoWidth + " / " + video.videoHeight;
        connect();
      };
    }).catch(function (err) {
      $("start").disabled = false;
      status("");
      showError(cameraHelp(err));
    });
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var who = $("athlete").value.trim();
    var sock = new WebSocket(proto + "//" + location.host + "/ws/live" + (who ? "?athlete=" + encodeURIComponent(who) : ""));
    ws = sock;
    sock.binaryType = "arraybuffer";
    inflight = false;
    pending = {};
    status("Loading the pose model…");
    sock.onmessage = function (ev) {
      if (ws !== sock) return;  // an older session's late message
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === "hello") {
        zones = m.zones || [];
        maxSide = m.max_side || maxSide;
        running = true;
        stats.connected = true;
        $("stop").disabled = false;
        $("reset").disabled = false;
        status("Get into your set-up position and hold still.");
        send();
      } else if (m.type === "frame" || m.type === "frame_error") {
        onFrame(m);
      } else if (m.type === "reset") {
        stats.reps = 0; $("reps").textContent = "0";
      } else if (m.type === "busy" || m.type === "error") {
        showError(m.message);
        endSession();
      } else if (m.type === "summary") {
        stats.summary = m;
        var s = $("summary");
        var names = m.fault_names || m.faults;
        s.hidden = false;
        s.textContent = "Set finished: " + m.reps + " rep" + (m.reps === 1 ? "" : "s") +
          (names.length ? " · faults: " + names.join(", ") : " · no faults") + ". ";
        if (m.report) {
          var a = document.createElement("a");
          a.href = m.report; a.textContent = "Open the report";
          s.appendChild(a);
        }
      }
    };
    sock.onclose = function (ev) {
      if (ws !== sock) return;
      if (ev.code === 1008) showError("The server needs its access token: open the address printed by `formcheck serve` (it ends with ?token=…).");
      else if (!stats.summary && !stats.error) showError("The connection to the server was lost. Press Start camera to try again.");
      endSession();
    };
  }

  // The session is over (finished, refused, timed out or cut off): camera off, and the page
  // back to where a new set starts (Start camera), the last summary or error still shown.
  function endSession() {
    running = false;
    inflight = false;
    clearTimeout(watchdog);
    stopCamera();
    if (ws && ws.readyState <= 1) { try { ws.close(); } catch (e) { /* already closing */ } }
    $("stop").disabled = true;
    $("reset").disabled = true;
    $("ready").hidden = true;
    stats.armed = false;
    stage.hidden = true;
    $("intro").hidden = false;
    $("start").disabled = false;
    if (!stats.error) status("");
  }

  function send() {
    if (!running || inflight || !ws || ws.readyState !== 1 || video.readyState < 2) {
      if (running && !inflight) setTimeout(send, 30);
      return;
    }
    if (hasVFC && frameNo === sentFrameNo) { waitingFrame = true; return; }  // wait for a new frame
    sentFrameNo = frameNo;
    var vw = video.videoWidth, vh = video.videoHeight;
    var k = Math.min(1, maxSide / Math.max(vw, vh));
    grab.width = Math.round(vw * k); grab.height = Math.round(vh * k);
    gctx.drawImage(video, 0, 0, grab.width, grab.height);
    var tCap = hasVFC && frameTime ? frameTime : performance.now();
    var mySeq = ++seq;
    inflight = true;
    pending[mySeq] = [tCap, performance.now()];
    grab.toBlob(function (blob) {
      if (!blob || !ws || ws.readyState !== 1) { inflight = false; return; }
      blob.arrayBuffer().then(function (buf) {
        var head = new DataView(new ArrayBuffer(12));
        head.setUint32(0, mySeq, true);
        head.setFloat64(4, tCap, true);
        var msg = new Uint8Array(12 + buf.byteLength);
        msg.set(new Uint8Array(head.buffer), 0);
        msg.set(new Uint8Array(buf), 12);
        ws.send(msg.buffer);
        stats.frames += 1;
        clearTimeout(watchdog);
        watchdog = setTimeout(function () { inflight = false; send(); }, 3000);  // never stall
      });
    }, "image/jpeg", 0.7);
  }

  function onFrame(m) {
    clearTimeout(watchdog);
    if (m.type === "frame") {
      last = m;
      if (m.zones) zones = m.zones;
      stats.reps = m.reps;
      stats.armed = stats.armed || m.armed;
      stats.dropped = m.dropped || 0;
      $("reps").textContent = String(m.reps);
      $("ready").hidden = !m.armed;
      $("cue").textContent = m.cue || "";
      status(m.armed ? (m.last_rep || "") : (m.guidance || (m.landmarks ? "Hold still in your set-up position…" : "Step into view: whole body, side-on.")));
      if (m.say) {
        stats.cues.push(m.say);
        if (window.speechSynthesis) {
          window.speechSynthesis.cancel();
          window.speechSynthesis.speak(new SpeechSynthesisUtterance(m.say));
        }
      }
      draw(m);
      if (typeof m.server_ms === "number") stats.serverMs.push(m.server_ms);
    }
    var t0 = pending[m.seq];
    if (t0 !== undefined) {
      var now = performance.now();
      stats.latencies.push(now - t0[0]);  // camera frame delivered -> its overlay drawn
      stats.grabLatencies.push(now - t0[1]);  // frame grabbed by the page -> overlay drawn
      delete pending[m.seq];
    }
    stats.answered += 1;
    inflight = false;
    send();
  }

  function draw(m) {
    var W = overlay.width, H = overlay.height;
    ctx.clearRect(0, 0, W, H);
    var s = Math.max(0.6, Math.min(W, H) / 480);
    if (m.landmarks) {
      var p = m.landmarks;
      ctx.lineWidth = 3 * s; ctx.strokeStyle = "rgba(255,255,255,0.9)";
      BONES.forEach(function (b) {
        var a = p[b[0]], c = p[b[1]];
        if (a[2] < 0.5 || c[2] < 0.5) return;
        ctx.beginPath(); ctx.moveTo(a[0] * W, a[1] * H); ctx.lineTo(c[0] * W, c[1] * H); ctx.stroke();
      });
      ctx.fillStyle = "#4fc3f7";
      p.forEach(function (q) {
        if (q[2] < 0.5) return;
        ctx.beginPath(); ctx.arc(q[0] * W, q[1] * H, 4 * s, 0, 2 * Math.PI); ctx.fill();
      });
    }
    // rep counter
    ctx.fillStyle = "rgba(0,0,0,0.55)";
    ctx.fillRect(8 * s, 8 * s, 118 * s, 70 * s);
    ctx.fillStyle = "#fff";
    ctx.font = "600 " + Math.round(14 * s) + "px system-ui,sans-serif";
    ctx.fillText("REPS", 16 * s, 26 * s);
    ctx.font = "800 " + Math.round(42 * s) + "px system-ui,sans-serif";
    ctx.fillText(String(m.reps), 16 * s, 68 * s);
    if (m.armed) {
      ctx.fillStyle = "#2e7d32"; ctx.fillRect(70 * s, 14 * s, 50 * s, 20 * s);
      ctx.fillStyle = "#fff"; ctx.font = "700 " + Math.round(13 * s) + "px system-ui,sans-serif";
      ctx.fillText("Ready", 75 * s, 29 * s);
    }
    drawDial(m, W, H, s);
    var text = m.cue || (!m.armed ? m.guidance : null);
    if (text) {
      ctx.font = "700 " + Math.round(20 * s) + "px system-ui,sans-serif";
      var tw = Math.min(W - 16 * s, ctx.measureText(text).width + 24 * s);
      ctx.fillStyle = m.cue ? "rgba(198,40,40,0.85)" : "rgba(0,0,0,0.6)";
      ctx.fillRect((W - tw) / 2, H - 48 * s, tw, 38 * s);
      ctx.fillStyle = "#fff";
      ctx.textAlign = "center";
      ctx.fillText(text, W / 2, H - 22 * s, W - 24 * s);
      ctx.textAlign = "start";
    }
  }

  function drawDial(m, W, H, s) {
    var r = 46 * s, cx = W - r - 18 * s, cy = r + 18 * s;
    var side = m.facing === "left" ? -1 : 1;
    var ang = function (e) { return (-90 - side * e) * Math.PI / 180; };
    ctx.fillStyle = "rgba(0,0,0,0.55)";
    ctx.beginPath(); ctx.arc(cx, cy, r + 12 * s, 0, 2 * Math.PI); ctx.fill();
    ctx.lineWidth = 7 * s;
    zones.forEach(function (z) {
      var a1 = ang(z.from), a2 = ang(z.to);
      ctx.strokeStyle = z.color;
      ctx.beginPath(); ctx.arc(cx, cy, r, Math.min(a1, a2), Math.max(a1, a2)); ctx.stroke();
    });
    if (typeof m.e === "number") {
      var a = ang(m.e);
      ctx.strokeStyle = "#fff"; ctx.lineWidth = 3 * s;
      ctx.beginPath(); ctx.moveTo(cx, cy); ctx.lineTo(cx + Math.cos(a) * r, cy + Math.sin(a) * r); ctx.stroke();
      ctx.fillStyle = "#fff"; ctx.textAlign = "center";
      ctx.font = "700 " + Math.round(14 * s) + "px system-ui,sans-serif";
      ctx.fillText((m.e > 0 ? "+" : "") + m.e.toFixed(0) + "°", cx, cy + r + 4 * s);
      ctx.textAlign = "start";
    }
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.srcObject = null;
  }

  $("start").addEventListener("click", start);
  $("stop").addEventListener("click", function () {
    running = false;
    $("stop").disabled = true;
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ cmd: "stop" }));
    $("reset").disabled = true;
    $("ready").hidden = true;
    status("Finishing the set…");
    stopCamera();
  });
  $("reset").addEventListener("click", function () {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ cmd: "reset" }));
  });
})();
