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
        radar: { indicator: radar.indicators, radius: "65%", axisName: { color: "#374151", fontSize: 13 } },
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

  document.addEventListener("DOMContentLoaded", function () {
    armTimer(document.getElementById("timer"));
    syncComposer();
    counter();
    charts();
  });
})();
