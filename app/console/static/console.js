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
        // Not animated: a click right after the grid appears must land where it looks.
        if (layer.getBounds().isValid()) { target.fitBounds(layer.getBounds(), { animate: false }); }
        target.getContainer().dataset.gridReady = "1";
        if (onReady) { onReady(layer); }
      });
  }

  function newMap(node) {
    // No tile layer unless CONSOLE_TILE_URL is set: government networks may have no internet
    // access, and the district's own grid polygons are enough to find a case.
    var m = L.map(node, { attributionControl: false, zoomSnap: 0.25, keyboard: true, maxZoom: 19 });
    if (node.dataset.tiles) { L.tileLayer(node.dataset.tiles, { maxZoom: 19 }).addTo(m); }
    return m;
  }

  // --- the workbench map: the list's view inside the map's bounds, clustered ----------------
  var URGENCY = { red: 4, overdue: 4, yellow: 3, green: 2, none: 1 };
  var cluster = null, loadSeq = 0, loadTimer = null, pendingSelect = null;

  function worstState(children) {
    var worst = "none";
    children.forEach(function (m) {
      var s = m.options.state || "none";
      if ((URGENCY[s] || 0) > (URGENCY[worst] || 0)) { worst = s; }
    });
    return worst;
  }

  function newCluster() {
    if (typeof L.markerClusterGroup !== "function") { return L.layerGroup(); }
    return L.markerClusterGroup({
      showCoverageOnHover: false, maxClusterRadius: 40, spiderfyOnMaxZoom: true,
      iconCreateFunction: function (c) {
        var n = c.getChildCount();
        return L.divIcon({
          html: "<span>" + n + '<span class="visually-hidden"> 个案件，点击放大</span></span>',
          className: "case-cluster " + worstState(c.getAllChildMarkers()),
          iconSize: L.point(n < 10 ? 28 : n < 100 ? 34 : 40, n < 10 ? 28 : n < 100 ? 34 : 40),
        });
      },
    });
  }

  function pageCases() {
    var data = el("markers");
    var byId = {};
    if (data) { JSON.parse(data.textContent || "[]").forEach(function (m) { byId[m.id] = m; }); }
    return byId;
  }

  function drawMarkers(items) {
    // Kept markers stay (no flicker, and a zoom to one in progress keeps its layer); gone or
    // changed ones are replaced.
    var wanted = {}, added = [], gone = [];
    items.forEach(function (m) { wanted[m.id] = m; });
    Object.keys(markers).forEach(function (id) {
      var m = wanted[id], old = markers[id];
      if (!m || old.options.key !== m.state + m.label) { gone.push(old); delete markers[id]; }
    });
    if (gone.length) { cluster.removeLayers ? cluster.removeLayers(gone) : gone.forEach(function (l) { cluster.removeLayer(l); }); }
    items.forEach(function (m) {
      if (markers[m.id]) { return; }
      var marker = L.circleMarker([m.lat, m.lng], { radius: 8, className: "marker " + m.state,
        state: m.state, key: m.state + m.label }).bindTooltip(m.label);
      marker.on("click", function () { select(m.id, { fromMap: true }); });
      markers[m.id] = marker;
      added.push(marker);
    });
    if (added.length) { cluster.addLayers ? cluster.addLayers(added) : added.forEach(function (l) { cluster.addLayer(l); }); }
    var target = pendingSelect !== null ? pendingSelect : selectedId;
    pendingSelect = null;
    if (target !== null && markers[target]) { select(target, { quiet: true }); }
  }

  function loadCases() {
    var node = el("map"), view = el("map-view");
    if (!map || !node || !node.dataset.cases) { return; }
    var seq = ++loadSeq;
    var query = (view && view.dataset.query) || "";
    var url = node.dataset.cases + "?" + (query ? query + "&" : "") + "bbox=" + map.getBounds().toBBoxString();
    fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (body) {
      if (seq !== loadSeq) { return; }  // the map moved again meanwhile
      drawMarkers(body.items);
      node.dataset.loaded = String(body.items.length);
      el("map-status").textContent = body.truncated
        ? "地图范围内案件较多，仅显示最新的 " + body.limit + " 件；放大地图可查看其余案件。"
        : "地图范围内共 " + body.items.length + " 件（当前队列和筛选条件）。";
    }).catch(function () {
      if (seq === loadSeq) { el("map-status").textContent = "地图案件加载失败，移动地图可重试。"; }
    });
  }

  function loadSoon() {
    clearTimeout(loadTimer);
    loadTimer = setTimeout(loadCases, 250);
  }

  function rowOf(id) { return document.querySelector('#cases tr[data-id="' + id + '"]'); }

  function markSelected(marker) {
    var path = marker.getElement && marker.getElement();
    if (path) { path.classList.add("selected"); }
    if (marker.bringToFront && path) { marker.bringToFront(); }
  }

  function select(id, opts) {
    opts = opts || {};
    id = Number(id);
    document.querySelectorAll("#cases tr.selected").forEach(function (r) {
      r.classList.remove("selected"); r.removeAttribute("aria-selected");
    });
    document.querySelectorAll("#map .marker.selected").forEach(function (p) { p.classList.remove("selected"); });
    selectedId = id;
    var row = rowOf(id), marker = markers[id];
    if (row) {
      row.classList.add("selected");
      row.setAttribute("aria-selected", "true");
      if (opts.fromMap) { row.scrollIntoView({ block: "nearest" }); row.focus({ preventScroll: true }); }
    }
    if (marker) {
      if (opts.quiet || (map.hasLayer(marker) && map.getBounds().contains(marker.getLatLng()))) {
        markSelected(marker);
        if (!opts.quiet) { marker.openTooltip(); }
      } else if (cluster.zoomToShowLayer) {
        // A case inside a cluster: zoom until it stands alone (or spiderfies), then mark it.
        cluster.zoomToShowLayer(marker, function () { markSelected(marker); marker.openTooltip(); });
      } else { markSelected(marker); map.panTo(marker.getLatLng()); marker.openTooltip(); }
    } else if (!opts.quiet && map) {
      // Not loaded (outside the map's bounds): go there; the reload selects it.
      var known = pageCases()[id];
      if (known) { pendingSelect = id; map.setView([known.lat, known.lng], Math.max(map.getZoom(), 15)); }
    }
    if (opts.open || opts.fromMap) { openCase(id); }
  }

  function openCase(id) {
    var link = document.querySelector('#cases tr[data-id="' + id + '"] a.open');
    if (link && window.htmx) { htmx.trigger(link, "click"); return; }
    var node = el("map");
    if (node && window.htmx) {  // a case on the map but not on this page of the list
      htmx.ajax("GET", node.dataset.cases.replace(/\/map\/cases\.json$/, "/tickets/" + id), { target: "#case" });
    }
  }

  // --- back from a full case page: the list where it was ----------------------------------------
  var LIST_KEY = "gz-console-list";

  function rememberList() {
    try {
      sessionStorage.setItem(LIST_KEY, JSON.stringify({
        url: location.pathname + location.search, y: window.scrollY, selected: selectedId }));
    } catch (e) { /* storage disabled: nothing to restore */ }
  }

  function savedList() {
    try { return JSON.parse(sessionStorage.getItem(LIST_KEY) || "null"); } catch (e) { return null; }
  }

  function restoreList() {
    var saved = savedList();
    if (!saved || saved.url !== location.pathname + location.search) { return; }
    if (saved.selected !== null && rowOf(saved.selected)) { select(saved.selected, { quiet: true }); }
    window.scrollTo(0, saved.y || 0);
    document.body.dataset.scrollRestored = String(saved.y || 0);
  }

  // On a full case page, "返回工作台" goes back to the list as it was (tab, filters, page).
  function initBackLink() {
    var link = el("back-to-list"), saved = savedList();
    if (link && saved && saved.url && saved.url.indexOf(link.getAttribute("href")) === 0) {
      link.setAttribute("href", saved.url);
    }
  }

  function initWorkbench() {
    var node = el("map");
    if (!node || typeof L === "undefined") { return; }
    map = newMap(node);
    cluster = newCluster().addTo(map);
    map.setView([35.4, 116.6], 12);
    var ready = false;
    loadGrid(map, node.dataset.grid, function () { ready = true; loadCases(); });
    map.on("moveend", function () { if (ready) { loadSoon(); } });
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
      // A new tab, filter, page or a changed case: the map follows the list's view.
      if (e.target && e.target.id === "queue-body" && ready) { loadCases(); }
    });
    window.addEventListener("pagehide", rememberList);
    restoreList();
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
    initWorkbench(); initCaseMap(); initHotlineMap(); initBackLink();
  });
})();
