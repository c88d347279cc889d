// The dashboard's charts (Chart.js) and the grid heat map (Leaflet, the district's own polygons,
// no tiles), all served by the app; the same figures are in the tables beside them, for screen
// readers and for copying.
(function () {
  "use strict";

  function bars(canvas, points, horizontal) {
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: points.map(function (p) { return p.label; }),
        datasets: [
          { label: "上报数", data: points.map(function (p) { return p.reported; }), backgroundColor: "#0b5cad" },
          { label: "结案数", data: points.map(function (p) { return p.closed; }), backgroundColor: "#1a7f37" }
        ]
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
        indexAxis: horizontal ? "y" : "x",
        scales: horizontal ? { x: { beginAtZero: true, ticks: { precision: 0 } } }
          : { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  // Rates in percent (the ranking's deciding rate, 满意率/回复率): one bar series per rate.
  var RATE_COLOURS = ["#0b5cad", "#1a7f37", "#b35900"];

  function rateBars(canvas, chart) {
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: chart.labels,
        datasets: chart.series.map(function (s, i) {
          return { label: s.label + "（%）", data: s.values, backgroundColor: RATE_COLOURS[i % RATE_COLOURS.length] };
        })
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false, indexAxis: "y",
        scales: { x: { beginAtZero: true, max: 100 } } }
    });
  }

  // --- the trend: days or months as the page chose, or weeks (按周) on request --------------
  var trendChart = null;

  function csvRows(text) {
    // The export's CSV (Python's csv module): quoted fields may hold commas and "" quotes.
    var rows = [], row = [], field = "", quoted = false;
    text = text.replace(/^\ufeff/, "");
    for (var i = 0; i < text.length; i++) {
      var c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
        else if (c === '"') { quoted = false; }
        else { field += c; }
      } else if (c === '"') { quoted = true; }
      else if (c === ",") { row.push(field); field = ""; }
      else if (c === "\n") { row.push(field.replace(/\r$/, "")); rows.push(row); row = []; field = ""; }
      else { field += c; }
    }
    if (field || row.length) { row.push(field); rows.push(row); }
    return rows;
  }

  function trendPoints(text) {
    var rows = csvRows(text), head = rows[0] || [];
    var at = { label: head.indexOf("名称"), reported: head.indexOf("reported"),
               closed: head.indexOf("closed"), rate: head.indexOf("按期结案率") };
    return rows.slice(1).map(function (r) {
      return { label: r[at.label], reported: Number(r[at.reported]), closed: Number(r[at.closed]),
               closed_on_time_rate: r[at.rate] };
    });
  }

  function drawTrend(points) {
    var canvas = document.getElementById("trend-chart");
    if (trendChart) { trendChart.destroy(); }
    trendChart = bars(canvas, points, false);
    var body = document.querySelector("#trend tbody");
    body.textContent = "";
    points.forEach(function (p) {
      var tr = document.createElement("tr"), th = document.createElement("th");
      th.scope = "row"; th.textContent = p.label; tr.appendChild(th);
      [p.reported, p.closed, p.closed_on_time_rate].forEach(function (v) {
        var td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function trendSwitch() {
    var box = document.getElementById("trend-by");
    if (!box) { return; }
    box.addEventListener("change", function (e) {
      var by = e.target.value, url = box.dataset.csv + "&by=" + by;
      // The same figures as the CSV export (the stats breakdown by=day|week|month).
      fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error(r.status); }
        return r.text();
      }).then(function (text) {
        drawTrend(trendPoints(text));
        document.getElementById("trend-export").setAttribute("href", url);
        document.body.dataset.trendBy = by;
      });
    });
  }

  function charts() {
    if (typeof Chart === "undefined") { return; }
    var data = document.getElementById("trend-data");
    var canvas = document.getElementById("trend-chart");
    if (data && canvas) {
      trendChart = bars(canvas, JSON.parse(data.textContent), false);
      document.body.dataset.trendReady = "true";
      trendSwitch();
    }
    var all = document.getElementById("charts-data");
    if (!all) { return; }
    var tables = JSON.parse(all.textContent);
    document.querySelectorAll("canvas[data-chart]").forEach(function (c) {
      var points = tables[c.dataset.chart] || [];
      if (points.length) { bars(c, points, true); }
    });
    document.querySelectorAll("canvas[data-rate-chart]").forEach(function (c) {
      var chart = tables[c.dataset.rateChart];
      if (chart && chart.labels.length) { rateBars(c, chart); }
    });
    document.body.dataset.chartsReady = "true";
  }

  // --- the heat map -------------------------------------------------------------------------
  var SHADES = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];

  function shade(fraction) {
    if (fraction === null || fraction === undefined || isNaN(fraction)) { return "#e0e0e0"; }
    return SHADES[Math.min(SHADES.length - 1, Math.floor(fraction * SHADES.length))];
  }

  function heatMap() {
    var node = document.getElementById("heat-map");
    if (!node || typeof L === "undefined") { return; }
    var map = L.map(node, { attributionControl: false, zoomSnap: 0.25, keyboard: true });
    var layer = null;
    var geo = null;

    function value(props, metric) {
      return metric === "rate" ? props.rate.value : props[metric];
    }

    function draw(metric) {
      if (!geo) { return; }
      var max = 1;
      geo.features.forEach(function (f) { if (metric !== "rate") { max = Math.max(max, value(f.properties, metric)); } });
      if (layer) { layer.remove(); }
      layer = L.geoJSON(geo, {
        style: function (f) {
          var v = value(f.properties, metric);
          // Counts: darker is more. 按期结案率: darker is lower (worse); grey without cases.
          var fraction = metric === "rate" ? (v === null ? null : 1 - v) : v / max;
          return { fillColor: shade(fraction), fillOpacity: 0.8, color: "#555", weight: 1 };
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindTooltip(p.name + "：案件 " + p.reported + "，在办 " + p.open + "，按期结案率 " + p.rate.display, { sticky: true });
        }
      }).addTo(map);
      if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); }
      node.dataset.metric = metric;
    }

    fetch(node.dataset.url, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (data) {
        geo = data;
        var body = document.querySelector("#table-heat tbody");
        data.features.forEach(function (f) {
          var p = f.properties;
          var tr = document.createElement("tr");
          tr.dataset.cell = p.code;
          [p.name, p.reported, p.open, p.rate.display].forEach(function (text, i) {
            var cell = document.createElement(i === 0 ? "th" : "td");
            if (i === 0) { cell.scope = "row"; }
            cell.textContent = String(text);
            tr.appendChild(cell);
          });
          body.appendChild(tr);
        });
        draw("reported");
        document.querySelectorAll("input[name=heat-metric]").forEach(function (input) {
          input.addEventListener("change", function () { if (input.checked) { draw(input.value); } });
        });
        document.body.dataset.heatReady = "true";
      });
  }

  charts();
  heatMap();
})();
