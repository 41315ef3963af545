/* The dashboard's charts (Chart.js, vendored) and the period form; data comes from the
   page's json_script block, so the strict CSP needs no inline script. */
(function () {
  "use strict";

  function toggleDates(form) {
    var preset = form.querySelector("select[name=period]");
    if (!preset) return;
    var custom = preset.value === "custom";
    form.querySelectorAll(".dashboard-filters__date").forEach(function (field) {
      field.hidden = !custom;
    });
  }

  function setUpForm() {
    var form = document.getElementById("dashboard-filters");
    if (!form) return;
    toggleDates(form);
    var preset = form.querySelector("select[name=period]");
    if (preset) {
      preset.addEventListener("change", function () {
        toggleDates(form);
        if (preset.value !== "custom") form.requestSubmit();
      });
    }
  }

  function number(value) {
    return value === null || value === undefined ? null : Number(value);
  }

  function line(canvas, labels, datasets, options) {
    return new window.Chart(canvas, {
      type: "line",
      data: { labels: labels, datasets: datasets },
      options: Object.assign(
        { responsive: true, maintainAspectRatio: false, spanGaps: false },
        options || {}
      ),
    });
  }

  function setUpCharts() {
    var source = document.getElementById("dashboard-data");
    if (!source || !window.Chart) return;
    var data = JSON.parse(source.textContent);
    var text = data.text || {};
    var retention = document.getElementById("chart-retention");
    if (retention) {
      line(retention, data.labels, [
        { label: text.retention, data: data.retention.map(number) },
        { label: text.churn, data: data.churn.map(number) },
      ]);
    }
    var feedback = document.getElementById("chart-feedback");
    if (feedback) {
      line(feedback, data.labels, [
        { label: text.nps, data: data.nps.map(number) },
        { label: text.csat, data: data.csat.map(number) },
      ]);
    }
    var revenue = document.getElementById("chart-revenue");
    if (revenue && data.revenue) {
      new window.Chart(revenue, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [{ label: text.revenue, data: data.revenue.map(number) }],
        },
        options: { responsive: true, maintainAspectRatio: false },
      });
    }
    var tiers = document.getElementById("chart-tiers");
    if (tiers && data.tiers) {
      new window.Chart(tiers, {
        type: "doughnut",
        data: {
          labels: data.tiers.labels,
          datasets: [{ label: text.members, data: data.tiers.values }],
        },
        options: { responsive: true, maintainAspectRatio: false },
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpForm();
    setUpCharts();
  });
})();
