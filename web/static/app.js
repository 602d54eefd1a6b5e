/* Behaviour of the pages: response timer, Enter-to-send, form reset after an acknowledged reply, charts.
   No inline scripts anywhere (the Content-Security-Policy forbids them); everything is wired here. */
(function () {
  "use strict";

  // ---- response timer: counts from the customer's last message, server-measured offset ----------------
  function armTimer(el) {
    if (!el) return;
    el._start = Date.now() - (parseInt(el.dataset.elapsedMs || "0", 10) || 0);
  }
  function tick() {
    var el = document.getElementById("timer");
    if (!el) return;
    if (el._start === undefined) armTimer(el);
    var running = el.dataset.running === "true";
    el.classList.toggle("stopped", !running);
    if (!running) return;
    var s = Math.max(0, Math.floor((Date.now() - el._start) / 1000));
    var v = el.querySelector(".value");
    if (v) v.textContent = String(s);
    var target = parseFloat(el.dataset.target || "30");
    el.classList.toggle("over", s > target);
  }
  setInterval(tick, 250);

  // ---- composer -----------------------------------------------------------------------------------------
  function syncComposer() {
    var send = document.getElementById("send");
    if (send) send.disabled = !!document.getElementById("typing");
    var log = document.getElementById("log");
    if (log) log.scrollTop = log.scrollHeight;
  }
  function counter() {
    var ta = document.getElementById("reply-text");
    var c = document.querySelector(".composer .counter");
    if (ta && c) c.textContent = ta.value.length + " / " + c.dataset.max;
  }
  document.addEventListener("keydown", function (e) {
    var ta = e.target;
    if (ta && ta.id === "reply-text" && e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      var send = document.getElementById("send");
      if (ta.value.trim() && !(send && send.disabled)) ta.form.requestSubmit();
    }
  });
  document.addEventListener("input", function (e) {
    if (e.target && e.target.id === "reply-text") counter();
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var form = e.detail.elt;
    // Clear the box only once the server acknowledged (committed) the message; on an error the text stays.
    if (form && form.id === "reply-form" && e.detail.successful) {
      form.reset();
      counter();
      var ta = document.getElementById("reply-text");
      if (ta) ta.focus();
    }
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    syncComposer();
    var t = document.getElementById("timer");
    if (t && e.detail.elt && (e.detail.elt === t || e.detail.elt.id === "log")) armTimer(t);
  });
  document.addEventListener("htmx:oobAfterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "timer") armTimer(e.detail.target);
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    var flash = document.getElementById("flash");
    if (e.detail.target === flash && flash.textContent.trim()) {
      clearTimeout(flash._t);
      flash._t = setTimeout(function () { flash.innerHTML = ""; }, 6000);
    }
  });
  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (flash) flash.textContent = document.documentElement.lang === "en"
      ? "The server cannot be reached. Your message was not sent; try again."
      : "无法连接服务器，消息未发送，请重试。";
  });

  // ---- the customer's answer, streamed -------------------------------------------------------------------
  // The typing indicator (#typing) would ask /chat/{id}/customer after a short delay (htmx). When the browser
  // can read a response as it arrives, ask /chat/{id}/customer/stream instead, at once: Server-Sent Events
  // over a POST read with fetch (an EventSource can only GET and cannot send the CSRF header). "delta"
  // events grow a provisional bubble (always as text); the final "turn" event is the server-rendered
  // fragment, which replaces it (the committed text wins, e.g. after a fallback to the scripted line). If
  // anything goes wrong before that, the plain htmx request takes over; the server answers a turn only once.
  var canStream = !!(window.fetch && window.ReadableStream && window.TextDecoder && window.URLSearchParams);
  var examTab = null;  // set on an exam page (see below): every request says which tab holds the exam

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; }
    catch (err) { return ""; }
  }

  function showDelta(el, text) {
    var bubble = el.querySelector(".bubble");
    if (!bubble) return;
    if (!el.classList.contains("streaming")) {
      el.classList.add("streaming");
      // Read the words once, when the committed turn arrives, not piece by piece from the live region.
      bubble.setAttribute("aria-hidden", "true");
    }
    bubble.textContent = text;
    var log = document.getElementById("log");
    if (log) log.scrollTop = log.scrollHeight;
  }

  function finishStream(el, html) {
    el._stream = "done";
    if (!el.isConnected || !window.htmx) return;
    window.htmx.swap(el, html, { swapStyle: "outerHTML" }, { afterSettleCallback: function () {
      syncComposer();
      streamAnswer();
    } });
  }

  function fallBack(el) {
    if (el._stream !== "live") return;
    el._stream = "failed";
    // htmx's own delayed request was cancelled while the stream ran: ask it again (else it is still to come).
    if (el._htmxCancelled && el.isConnected && window.htmx) window.htmx.trigger(el, "retry");
  }

  function streamAnswer() {
    var el = document.getElementById("typing");
    if (!el || el._stream || !canStream || !el.dataset.stream || !window.htmx) return;
    el._stream = "live";
    var shownAt = Date.now();
    var minMs = parseInt(el.dataset.delay || "0", 10) || 0;
    var text = "";
    var gotTurn = false;

    function handle(block) {
      var name = "message";
      var data = [];
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) name = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
      });
      if (!data.length) return; // a keep-alive comment
      var payload = JSON.parse(data.join("\n"));
      if (name === "delta") {
        text += payload.text || "";
        if (text) showDelta(el, text);
      } else if (name === "turn") {
        gotTurn = true;
        // An instant answer (the scripted customer) still shows the dots for a moment, as before.
        var wait = text ? 0 : Math.max(0, shownAt + minMs - Date.now());
        setTimeout(function () { finishStream(el, payload.html); }, wait);
      } else if (name === "error") {
        throw new Error(payload.message || "stream error");
      }
    }

    var body = new URLSearchParams();
    body.set("after", el.dataset.after || "0");
    var streamHeaders = { "X-CSRF-Token": csrfToken(), "Accept": "text/event-stream" };
    if (examTab) streamHeaders["X-Exam-Tab"] = examTab;
    fetch(el.dataset.stream, {
      method: "POST",
      headers: streamHeaders,
      body: body,
      credentials: "same-origin",
      redirect: "error"
    }).then(function (resp) {
      var type = resp.headers.get("content-type") || "";
      if (!resp.ok || !resp.body || type.indexOf("text/event-stream") !== 0) throw new Error("no stream");
      var reader = resp.body.getReader();
      var decoder = new TextDecoder();
      var buf = "";
      function pump() {
        return reader.read().then(function (r) {
          buf += r.done ? decoder.decode() : decoder.decode(r.value, { stream: true });
          var cut;
          while (!gotTurn && (cut = buf.indexOf("\n\n")) >= 0) {
            handle(buf.slice(0, cut));
            buf = buf.slice(cut + 2);
          }
          if (gotTurn) return reader.cancel().catch(function () {});
          if (r.done) throw new Error("the stream ended without the answer");
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      if (!gotTurn) fallBack(el);
    });
  }

  document.addEventListener("htmx:beforeRequest", function (e) {
    var el = e.detail.elt;
    if (el && el.id === "typing" && (el._stream === "live" || el._stream === "done")) {
      el._htmxCancelled = true;
      e.preventDefault();
    }
  });
  document.addEventListener("htmx:load", streamAnswer);

  // ---- charts ---------------------------------------------------------------------------------------------
  function readJson(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (err) { return null; }
  }
  function charts() {
    if (!window.echarts) return;
    var made = [];
    var radar = readJson("radar-data");
    var rEl = document.getElementById("radar");
    if (radar && rEl) {
      var rc = window.echarts.init(rEl, null, { renderer: "canvas" });
      rc.setOption({
        animation: false,
        // A narrow chart (a phone) gets a smaller radar so the axis names ("Technique") stay inside it.
        radar: {
          indicator: radar.indicators,
          radius: rEl.clientWidth < 360 ? "52%" : "65%",
          axisName: { color: "#374151", fontSize: 13 }
        },
        series: [{ type: "radar", areaStyle: { opacity: 0.25 }, data: [{ value: radar.values }] }],
        color: ["#d9480f"]
      });
      made.push(rc);
    }
    var prog = readJson("progress-data");
    var pEl = document.getElementById("progress");
    if (prog && pEl) {
      var pc = window.echarts.init(pEl, null, { renderer: "canvas" });
      pc.setOption({
        animation: false,
        grid: { left: 36, right: 12, top: 12, bottom: 28 },
        xAxis: { type: "category", data: prog.labels },
        yAxis: { type: "value", min: 0, max: 100 },
        series: [{ type: "line", data: prog.values, symbolSize: 8 }],
        color: ["#1c7ed6"]
      });
      made.push(pc);
    }
    window.addEventListener("resize", function () { made.forEach(function (c) { c.resize(); }); });
    document.body.dataset.charts = String(made.length);
  }

  // ---- exams: one tab answers, the server's timer, pastes and leaving the page (recorded, never blocked) ----
  // The tab id lives in sessionStorage: a reload keeps it, a second tab gets a new one and takes the exam over
  // (the server refuses the first tab's answers from then on and records it).
  function examSetup() {
    var examId = document.body.dataset.exam;
    if (!examId) return;
    var key = "exam-tab-" + examId;
    try { examTab = window.sessionStorage.getItem(key); } catch (err) { examTab = null; }
    if (!examTab) {
      examTab = Math.random().toString(36).slice(2, 12) + Date.now().toString(36);
      try { window.sessionStorage.setItem(key, examTab); } catch (err) { /* private mode: one id per page */ }
    }
    function post(path, data) {
      return fetch("/exam/" + examId + path, {
        method: "POST",
        headers: { "X-CSRF-Token": csrfToken(), "X-Exam-Tab": examTab },
        body: new URLSearchParams(data || {}),
        credentials: "same-origin",
        keepalive: true
      });
    }
    post("/claim");
    document.addEventListener("htmx:configRequest", function (e) { e.detail.headers["X-Exam-Tab"] = examTab; });
    document.addEventListener("paste", function (e) {
      var t = e.target;
      var text = (e.clipboardData && e.clipboardData.getData("text")) || "";
      var field = t && (t.dataset && t.dataset.field || t.id || t.name) || "";
      post("/events", { kind: "paste", chars: String(text.length), field: String(field).slice(0, 40) });
    });
    var awayAt = null;
    function away() {
      if (awayAt === null) { awayAt = Date.now(); post("/events", { kind: "away" }); }
    }
    function back() {
      if (awayAt !== null) {
        var ms = Date.now() - awayAt;
        awayAt = null;
        post("/events", { kind: "back", away_ms: String(ms) });
      }
    }
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") away(); else back();
    });
    // Another window in front without hiding this one (a confirm dialog of our own blurs for a moment only); a
    // page that never had the focus (opened in the background) has not been left.
    var focused = document.hasFocus();
    window.addEventListener("blur", function () {
      setTimeout(function () { if (focused && !document.hasFocus()) { focused = false; away(); } }, 1500);
    });
    window.addEventListener("focus", function () { focused = true; back(); });
    var timer = document.getElementById("exam-timer");
    if (!timer) return;
    var end = Date.now() + (parseInt(timer.dataset.remainingMs || "0", 10) || 0);
    var fired = false;
    function tickExam() {
      var left = Math.max(0, end - Date.now());
      var s = Math.ceil(left / 1000);
      var v = timer.querySelector(".value");
      if (v) v.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
      timer.classList.toggle("low", s <= 300 && s > 60);
      timer.classList.toggle("over", s <= 60);
      if (left <= 0 && !fired) {
        fired = true;
        var note = document.getElementById("exam-expired");
        if (note) note.classList.remove("hidden");
        document.querySelectorAll("#questions input, #questions textarea, #reply-text, #send").forEach(function (x) {
          x.disabled = true;
        });
        // The server decides by its own clock; ask it to close the part, then show what it says.
        setTimeout(function () {
          post("/submit", { auto: "1" }).then(function () { window.location.reload(); },
            function () { setTimeout(function () { window.location.reload(); }, 2000); });
        }, 800);
      }
    }
    setInterval(tickExam, 250);
    tickExam();
  }

  document.addEventListener("DOMContentLoaded", function () {
    examSetup();
    armTimer(document.getElementById("timer"));
    syncComposer();
    counter();
    charts();
    streamAnswer();
  });
})();
