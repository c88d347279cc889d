// The admin pages' script: the routing rule's map (the district's own cells, no tiles, as the
// workbench map draws them), coloured by where the rule wins for the chosen 小类, and a click
// on the map previews where a report at that point would go.
(function () {
  "use strict";

  function el(id) { return document.getElementById(id); }

  function initRuleMap() {
    var node = el("rule-map"), select = el("rule-preview-category"), form = el("rule-preview-form");
    if (!node || !select || !form || typeof L === "undefined") { return; }
    // No tile layer on purpose: government networks may have no internet access.
    var map = L.map(node, { attributionControl: false, zoomSnap: 0.25, keyboard: true })
      .setView([35.44, 116.57], 12);
    var layer = null, marker = null, fitted = false;

    function draw() {
      var url = node.dataset.cells + "?category=" + encodeURIComponent(select.value);
      fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.json();
      }).then(function (geo) {
        if (layer) { layer.remove(); }
        layer = L.geoJSON(geo, {
          style: function (f) { return { className: "cell rule-" + f.properties.state }; },
          onEachFeature: function (f, l) {
            var to = f.properties.state === "none" ? "人工派遣" : "派给" + f.properties.unit;
            l.bindTooltip(f.properties.name + "：" + to, { sticky: true });
          },
        }).addTo(map);
        if (!fitted && layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); fitted = true; }
      }).catch(function () { node.setAttribute("data-error", "网格加载失败"); });
    }

    map.on("click", function (e) {
      el("rule-preview-lng").value = e.latlng.lng.toFixed(6);
      el("rule-preview-lat").value = e.latlng.lat.toFixed(6);
      if (marker) { marker.remove(); }
      marker = L.circleMarker(e.latlng, { radius: 9, className: "marker selected none" }).addTo(map);
      if (window.htmx) { htmx.trigger(form, "submit"); } else { form.submit(); }
    });
    select.addEventListener("change", draw);
    draw();
  }

  document.addEventListener("DOMContentLoaded", initRuleMap);
})();
