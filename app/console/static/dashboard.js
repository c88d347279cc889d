// The dashboard's trend chart (Chart.js, served by the app); the same figures are in the table
// below it, for screen readers and for copying.
(function () {
  "use strict";
  var data = document.getElementById("trend-data");
  var canvas = document.getElementById("trend-chart");
  if (!data || !canvas || typeof Chart === "undefined") { return; }
  var points = JSON.parse(data.textContent);
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: points.map(function (p) { return p.label; }),
      datasets: [
        { label: "上报数", data: points.map(function (p) { return p.reported; }), backgroundColor: "#0b5cad" },
        { label: "结案数", data: points.map(function (p) { return p.closed; }), backgroundColor: "#1a7f37" }
      ]
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
  document.body.dataset.trendReady = "true";
})();
