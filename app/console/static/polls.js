// Polls (民意调查): the results' bar charts (Chart.js; the same counts are in the tables beside
// them) and, on the new-poll form, "再加一题" and showing each question's fields for its kind.
(function () {
  "use strict";

  function charts() {
    var data = document.getElementById("poll-charts");
    if (!data || typeof Chart === "undefined") { return; }
    var all = JSON.parse(data.textContent);
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var points = all[canvas.dataset.chart];
      if (!points || canvas.dataset.drawn) { return; }
      canvas.dataset.drawn = "true";
      new Chart(canvas, {
        type: "bar",
        data: { labels: points.labels,
          datasets: [{ label: "人数", data: points.counts, backgroundColor: "#0b5cad" }] },
        options: { responsive: true, maintainAspectRatio: false, animation: false, indexAxis: "y",
          plugins: { legend: { display: false } },
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
      });
    });
    document.body.dataset.pollChartsReady = "true";
  }

  function showFields(block) {
    var kind = block.querySelector(".q-kind").value;
    block.querySelectorAll(".q-choice").forEach(function (n) { n.hidden = kind !== "single" && kind !== "multiple"; });
    block.querySelectorAll(".q-multiple").forEach(function (n) { n.hidden = kind !== "multiple"; });
    block.querySelectorAll(".q-text").forEach(function (n) { n.hidden = kind !== "text"; });
  }

  function form() {
    var holder = document.getElementById("poll-questions");
    var add = document.getElementById("add-question");
    if (!holder || !add) { return; }
    holder.querySelectorAll(".poll-question-form").forEach(showFields);
    holder.addEventListener("change", function (e) {
      if (e.target.classList.contains("q-kind")) { showFields(e.target.closest(".poll-question-form")); }
    });
    add.hidden = false;
    add.addEventListener("click", function () {
      var blocks = holder.querySelectorAll(".poll-question-form");
      if (blocks.length >= 50) { add.disabled = true; return; }
      var n = blocks.length + 1;
      var copy = blocks[blocks.length - 1].cloneNode(true);
      copy.dataset.question = String(n);
      copy.querySelector("legend").textContent = "第 " + n + " 题";
      copy.querySelectorAll("[name]").forEach(function (field) {
        field.name = field.name.replace(/^q\d+_/, "q" + n + "_");
        if (field.type === "checkbox") { field.checked = true; }
        else if (field.tagName !== "SELECT") { field.value = ""; }
      });
      holder.appendChild(copy);
      showFields(copy);
      copy.querySelector("input[name$='_prompt']").focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { charts(); form(); });
  document.addEventListener("htmx:afterSettle", charts);
})();
