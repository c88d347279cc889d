// The big screen: figures pushed by server-sent events, polling when events do not arrive
// (proxies that buffer them), and back by itself after a restart or a network drop.
(function () {
  "use strict";
  var body = document.body;
  var base = body.dataset.base;
  var query = body.dataset.query || "";
  function url(path) { return base + path + query; }
  var refreshMs = Math.max(1000, parseFloat(body.dataset.refresh || "5") * 1000);
  var $ = function (id) { return document.getElementById(id); };

  function clock() {
    var now = new Date();
    $("clock").textContent = now.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
  }
  clock();
  setInterval(clock, 1000);
  if (!base) { setState("gone", "链接已失效"); return; }

  var last = 0;            // when figures last arrived (ms)
  var gone = false;
  var source = null;
  var data = null;
  var mapMode = "open";    // or "rate"

  function setState(state, text) {
    var el = $("link-state");
    el.dataset.state = state;
    el.textContent = text;
  }

  function showGone(message) {
    gone = true;
    if (source) { source.close(); source = null; }
    setState("gone", "链接已失效");
    $("gone-text").textContent = message || "大屏链接无效或已被撤销";
    $("gone").hidden = false;
    document.querySelectorAll(".kpis, .body").forEach(function (el) { el.hidden = true; });
  }

  // --- KPIs ----------------------------------------------------------------------------------
  function setKpi(id, value) {
    var el = $(id);
    var text = value === null || value === undefined ? "—" : String(value);
    if (el.textContent !== text) {
      el.textContent = text;
      var tile = el.parentNode;
      tile.classList.remove("changed");
      void tile.offsetWidth;  // restart the flash
      tile.classList.add("changed");
    }
  }

  // --- the map: our own grid polygons, no tile layer ----------------------------------------
  var map = null, cells = null;
  var OPEN_STEPS = [[0, "#12263f", "0"], [1, "#1d4ed8", "1–2"], [3, "#f59e0b", "3–5"], [6, "#ef4444", "6 及以上"]];
  var RATE_STEPS = [[null, "#334155", "无数据"], [0, "#ef4444", "< 80%"], [0.8, "#f59e0b", "80–95%"], [0.95, "#22c55e", "≥ 95%"]];

  function colour(feature) {
    var entry = data && data.cells[feature.properties.code];
    if (mapMode === "open") {
      var n = entry ? entry.open : 0, c = OPEN_STEPS[0][1];
      OPEN_STEPS.forEach(function (s) { if (n >= s[0]) { c = s[1]; } });
      return c;
    }
    var rate = entry && entry.rate ? entry.rate.value : null;
    if (rate === null || rate === undefined) { return RATE_STEPS[0][1]; }
    var r = RATE_STEPS[1][1];
    RATE_STEPS.slice(1).forEach(function (s) { if (rate >= s[0]) { r = s[1]; } });
    return r;
  }

  function label(feature) {
    var entry = data && data.cells[feature.properties.code];
    var value = mapMode === "open" ? (entry ? entry.open : 0) + " 件"
      : (entry && entry.rate ? entry.rate.display : "—");
    return feature.properties.name + " " + value;
  }

  function drawMap() {
    if (!cells) { return; }
    $("map-mode").textContent = mapMode === "open" ? "在办案件" : "本月按期结案率";
    cells.eachLayer(function (layer) {
      layer.setStyle({ fillColor: colour(layer.feature), fillOpacity: 0.75, color: "#7dd3fc", weight: 1.5 });
      if (layer.getTooltip()) { layer.setTooltipContent(label(layer.feature)); }
    });
    var legend = $("legend");
    legend.textContent = "";
    (mapMode === "open" ? OPEN_STEPS : RATE_STEPS).forEach(function (s) {
      var li = document.createElement("li"), i = document.createElement("i");
      i.style.background = s[1];
      li.appendChild(i);
      li.appendChild(document.createTextNode(s[2]));
      legend.appendChild(li);
    });
  }

  function loadGrid() {
    fetch(url("/grid.geojson"), { cache: "no-store" }).then(function (r) {
      if (r.status === 401 || r.status === 404) { return r.json().then(function (e) { showGone(e.error && e.error.message); }); }
      if (!r.ok) { throw new Error(r.status); }
      return r.json().then(function (geo) {
        map = L.map("map", { zoomControl: false, attributionControl: false, dragging: false,
          scrollWheelZoom: false, doubleClickZoom: false, boxZoom: false, keyboard: false, zoomSnap: 0.25 });
        // Names on the map only while they can be read: a district of 300 cells gets none.
        var labelled = geo.features.length <= 40;
        cells = L.geoJSON(geo, { onEachFeature: function (f, layer) {
          if (labelled) {
            layer.bindTooltip(f.properties.name, { permanent: true, direction: "center", className: "cell-label" });
          }
        } }).addTo(map);
        if (geo.features.length) { map.fitBounds(cells.getBounds(), { padding: [16, 16] }); }
        else { map.setView([35.4, 116.6], 12); }
        drawMap();
      });
    }).catch(function () { if (!gone) { setTimeout(loadGrid, refreshMs); } });
  }

  // --- charts (Chart.js, served by the app) ---------------------------------------------------
  var charts = {};
  var PALETTE = ["#38bdf8", "#4ade80", "#fbbf24", "#f87171", "#a78bfa", "#f472b6", "#2dd4bf", "#fb923c", "#94a3b8"];

  function chart(id, type, labels, values, options) {
    if (typeof Chart === "undefined") { return; }
    if (charts[id]) {
      charts[id].data.labels = labels;
      charts[id].data.datasets[0].data = values;
      charts[id].update("none");
      return;
    }
    Chart.defaults.color = "#e8f1ff";
    Chart.defaults.font.size = 18;
    Chart.defaults.font.family = getComputedStyle(body).fontFamily;
    charts[id] = new Chart($(id), {
      type: type,
      data: { labels: labels, datasets: [{ data: values, backgroundColor: type === "bar" ? "#38bdf8" : PALETTE, borderWidth: 0, maxBarThickness: 40 }] },
      options: Object.assign({ responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: type !== "bar", position: "right" }, tooltip: { enabled: false } } }, options || {})
    });
  }

  function drawCharts() {
    chart("chart-units", "bar", data.units.map(function (u) { return u.name; }),
      data.units.map(function (u) { return u.rate.value === null ? 0 : Math.round(u.rate.value * 1000) / 10; }),
      { indexAxis: "y", scales: { x: { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } }, grid: { color: "#1f3a5f" } }, y: { grid: { display: false } } } });
    chart("chart-categories", "doughnut", data.categories.map(function (c) { return c.name; }),
      data.categories.map(function (c) { return c.count; }));
    chart("chart-sources", "doughnut", data.sources.map(function (s) { return s.label; }),
      data.sources.map(function (s) { return s.count; }));
  }

  // --- new cases flash on the map where they were reported (their grid cell) ---------------
  var seen = null;          // numbers of the new reports already shown
  var FLASH_MS = 8000;

  function flashCell(code, number) {
    if (!cells || !code) { return; }
    cells.eachLayer(function (layer) {
      if (layer.feature.properties.code !== code) { return; }
      var path = layer.getElement();
      if (path) {
        path.classList.remove("flash");
        void path.getBoundingClientRect();  // restart the animation
        path.classList.add("flash");
        setTimeout(function () { path.classList.remove("flash"); }, FLASH_MS);
      }
      var dot = L.circleMarker(layer.getBounds().getCenter(), { radius: 14, className: "flash-dot", interactive: false }).addTo(map);
      setTimeout(function () { dot.remove(); }, FLASH_MS);
      // The numbers flashed lately, for a reader of the page (and its browser test).
      var flashed = ($("map").dataset.flashed || "").split(" ").filter(Boolean).slice(-19);
      $("map").dataset.flashed = flashed.concat([number]).join(" ");
    });
  }

  function flashNew() {
    var news = data.feed.filter(function (e) { return e.kind === "new"; });
    if (seen === null) {  // the first figures: what is already there does not flash
      seen = {};
    } else {
      news.forEach(function (e) { if (!seen[e.number]) { flashCell(e.cell, e.number); } });
    }
    news.forEach(function (e) { seen[e.number] = true; });
  }

  function drawFeed() {
    var feed = $("feed");
    feed.textContent = "";
    data.feed.forEach(function (e) {
      var li = document.createElement("li");
      li.className = e.kind;
      li.dataset.number = e.number;
      [["kind", e.label], ["what", e.number + " " + e.category + " · " + e.community]].forEach(function (p) {
        var span = document.createElement("span");
        span.className = p[0];
        span.textContent = p[1];
        li.appendChild(span);
      });
      var time = document.createElement("time");
      time.textContent = e.at.slice(11, 16);
      li.appendChild(time);
      feed.appendChild(li);
    });
  }

  function apply(figures) {
    if (gone) { return; }
    data = figures;
    last = Date.now();
    body.dataset.generatedAt = figures.generated_at;
    // The periods shown, so that a reader (or a test) can ask /api/v1/stats/summary the same.
    body.dataset.todayFrom = figures.today.from;
    body.dataset.todayTo = figures.today.to;
    body.dataset.monthFrom = figures.month.from;
    body.dataset.monthTo = figures.month.to;
    $("updated").textContent = figures.generated_at.slice(11, 19);
    $("title").textContent = figures.title;
    var t = figures.today.counts;
    setKpi("kpi-reported", t.reported);
    setKpi("kpi-accepted", t.accepted);
    setKpi("kpi-dispatched", t.dispatched);
    setKpi("kpi-closed", t.closed);
    setKpi("kpi-open", figures.open);
    setKpi("kpi-rate", figures.month.rates.closed_on_time_rate.display);
    setKpi("kpi-overdue", figures.overdue);
    drawMap();
    drawCharts();
    drawFeed();
    flashNew();
  }

  // --- live: events first, polling as the fallback ------------------------------------------
  function connect() {
    if (gone || typeof EventSource === "undefined") { return; }
    if (source) { source.close(); }
    source = new EventSource(url("/events"));
    source.addEventListener("figures", function (e) {
      setState("live", "实时");
      apply(JSON.parse(e.data));
    });
    source.addEventListener("gone", function (e) {
      var err = JSON.parse(e.data).error || {};
      showGone(err.message);
    });
    source.onerror = function () {
      // The stream dropped: say so at once (the hall sees the figures may be stale) until
      // figures arrive again. CONNECTING: the browser retries by itself. CLOSED (an error
      // status): the poll below learns why, and we try events again later.
      if (gone) { return; }
      setState("offline", "连接中断，自动重连中");
      if (source && source.readyState === EventSource.CLOSED) { source = null; }
    };
  }

  function poll() {
    if (gone) { return; }
    fetch(url("/data.json"), { cache: "no-store" }).then(function (r) {
      if (r.status === 401 || r.status === 403 || r.status === 404) {
        return r.json().then(function (e) { showGone(e.error && e.error.message); });
      }
      if (!r.ok) { throw new Error(r.status); }
      return r.json().then(function (figures) {
        apply(figures);
        setState(source && source.readyState === EventSource.OPEN ? "live" : "polling", "轮询");
      });
    }).catch(function () { setState("offline", "连接中断，自动重连中"); });
  }

  var lastConnect = Date.now();
  setInterval(function () {
    if (gone) { return; }
    if (Date.now() - last > refreshMs * 2) { poll(); }
    if (!source && Date.now() - lastConnect > refreshMs * 6) { lastConnect = Date.now(); connect(); }
  }, refreshMs);
  setInterval(function () {  // no mouse: the map switches between its two views by itself
    mapMode = mapMode === "open" ? "rate" : "open";
    drawMap();
  }, 20000);
  document.addEventListener("keydown", function (e) {
    if (e.key === "m") { mapMode = mapMode === "open" ? "rate" : "open"; drawMap(); }
  });

  poll();
  loadGrid();
  connect();
})();
