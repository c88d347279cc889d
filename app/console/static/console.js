// The console's small script: the Leaflet map beside the list (no tiles: the district's own
// grid polygons), selection kept in step between list and map, and j/k keyboard moves.
(function () {
  "use strict";
  var map = null, gridLayer = null, markers = {}, selectedId = null;

  function el(id) { return document.getElementById(id); }

  function loadGrid(target, url, onReady) {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (geo) {
        var layer = L.geoJSON(geo, {
          style: function () { return { className: "cell" }; },
          onEachFeature: function (f, l) { l.bindTooltip(f.properties.name, { sticky: true }); },
        }).addTo(target);
        if (layer.getBounds().isValid()) { target.fitBounds(layer.getBounds()); }
        if (onReady) { onReady(layer); }
      });
  }

  function newMap(node) {
    // No tile layer on purpose: government networks may have no internet access.
    return L.map(node, { attributionControl: false, zoomSnap: 0.25, keyboard: true });
  }

  function drawMarkers() {
    var data = el("markers");
    if (!map || !data) { return; }
    Object.keys(markers).forEach(function (id) { markers[id].remove(); });
    markers = {};
    JSON.parse(data.textContent || "[]").forEach(function (m) {
      var marker = L.circleMarker([m.lat, m.lng], { radius: 8, className: "marker " + m.state })
        .bindTooltip(m.label).addTo(map);
      marker.on("click", function () { select(m.id, { fromMap: true }); });
      markers[m.id] = marker;
    });
    if (selectedId !== null && markers[selectedId]) { select(selectedId, { quiet: true }); }
  }

  function rowOf(id) { return document.querySelector('#cases tr[data-id="' + id + '"]'); }

  function select(id, opts) {
    opts = opts || {};
    id = Number(id);
    document.querySelectorAll("#cases tr.selected").forEach(function (r) { r.classList.remove("selected"); });
    Object.keys(markers).forEach(function (k) {
      var p = markers[k].getElement(); if (p) { p.classList.remove("selected"); }
    });
    selectedId = id;
    var row = rowOf(id), marker = markers[id];
    if (row) {
      row.classList.add("selected");
      row.setAttribute("aria-selected", "true");
      if (opts.fromMap) { row.scrollIntoView({ block: "nearest" }); row.focus({ preventScroll: true }); }
    }
    if (marker) {
      var path = marker.getElement(); if (path) { path.classList.add("selected"); }
      marker.bringToFront();
      if (!opts.quiet) { map.panTo(marker.getLatLng()); marker.openTooltip(); }
    }
    if (opts.open || opts.fromMap) { openCase(id); }
  }

  function openCase(id) {
    var link = document.querySelector('#cases tr[data-id="' + id + '"] a.open');
    if (link && window.htmx) { htmx.trigger(link, "click"); }
  }

  function initWorkbench() {
    var node = el("map");
    if (!node || typeof L === "undefined") { return; }
    map = newMap(node);
    map.setView([35.4, 116.6], 12);
    loadGrid(map, node.dataset.grid, function () { drawMarkers(); });
    drawMarkers();
    var table = document.querySelector(".list-pane");
    table.addEventListener("click", function (e) {
      var row = e.target.closest("tr.row");
      if (!row || e.target.closest("input, label")) { return; }  // a bulk-selection box
      select(row.dataset.id, { open: !e.target.closest("a") });
    });
    document.addEventListener("keydown", function (e) {
      if (e.target.matches("input, select, textarea") || e.altKey || e.ctrlKey || e.metaKey) { return; }
      var rows = Array.prototype.slice.call(document.querySelectorAll("#cases tr.row"));
      if (!rows.length) { return; }
      var at = rows.indexOf(rowOf(selectedId));
      if (e.key === "j" || e.key === "k") {
        var next = rows[Math.min(rows.length - 1, Math.max(0, at + (e.key === "j" ? 1 : -1)))];
        select(next.dataset.id); next.focus(); e.preventDefault();
      } else if (e.key === "Enter" && e.target.matches("tr.row")) {
        select(e.target.dataset.id, { open: true }); e.preventDefault();
      } else if (e.key === "x" && selectedId !== null) {  // x ticks the row for a bulk action
        var box = document.querySelector('#cases tr[data-id="' + selectedId + '"] input.pick');
        if (box) { box.checked = !box.checked; e.preventDefault(); }
      }
    });
    document.body.addEventListener("htmx:afterSettle", function (e) {
      if (e.target && e.target.id === "queue-body") { drawMarkers(); }
    });
  }

  function initCaseMap() {
    var node = el("case-map");
    if (!node || typeof L === "undefined") { return; }
    var article = node.closest("article.case");
    var at = [Number(article.dataset.lat), Number(article.dataset.lng)];
    var small = newMap(node).setView(at, 16);
    loadGrid(small, node.dataset.grid,
      function (layer) {
        layer.eachLayer(function (l) {
          if (l.feature.properties.code === article.dataset.cell) {
            l.getElement() && l.getElement().classList.add("current");
          }
        });
        small.setView(at, 16);
      });
    L.circleMarker(at, { radius: 9, className: "marker selected none" }).addTo(small);
  }

  // 热线登记: a click on the grid map fills the case's point (WGS-84, as the map draws it).
  function initHotlineMap() {
    var node = el("hotline-map");
    if (!node || typeof L === "undefined") { return; }
    var pick = newMap(node).setView([35.44, 116.57], 13), marker = null;
    loadGrid(pick, node.dataset.grid);
    pick.on("click", function (e) {
      el("hotline-lng").value = e.latlng.lng.toFixed(6);
      el("hotline-lat").value = e.latlng.lat.toFixed(6);
      el("hotline-crs").value = "wgs84";
      if (marker) { marker.remove(); }
      marker = L.circleMarker(e.latlng, { radius: 9, className: "marker selected none" }).addTo(pick);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initWorkbench(); initCaseMap(); initHotlineMap();
  });
})();
