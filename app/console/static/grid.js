/* 网格导入: draw the previewed areas (GeoJSON from #grid-preview-data) on a Leaflet map with no
   tile layer, cells filled and parents outlined, areas with a problem in red. Redrawn each
   time htmx swaps a new preview in. */
(function () {
  "use strict";
  var map = null;

  function draw() {
    var data = document.getElementById("grid-preview-data");
    var node = document.getElementById("grid-map");
    if (map) { map.remove(); map = null; }
    if (!data || !node || !window.L) { return; }
    var geo = JSON.parse(data.textContent || "{}");
    map = L.map(node, { attributionControl: false, zoomSnap: 0.25, keyboard: true });
    var layer = L.geoJSON(geo, {
      style: function (f) {
        var p = f.properties;
        return { className: "import-area " + p.kind + (p.problem ? " problem" : "") };
      },
      onEachFeature: function (f, l) {
        var p = f.properties;
        l.bindTooltip(p.code + " " + p.name + (p.problem ? "（有问题）" : ""), { sticky: true });
      }
    }).addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); }
    else { map.setView([35.41, 116.52], 12); }
    node.dataset.drawn = String(layer.getLayers().length);
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.target && e.target.id === "grid-preview") { draw(); }
  });
})();
