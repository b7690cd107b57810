// Monitoring's two charts, drawn from the figures the page carries as JSON (json_script); the
// same figures are in the tables beside them.
(function () {
  var data = JSON.parse(document.getElementById("monitoring-chart-data").textContent);
  var reasons = document.getElementById("chart-reasons");
  if (reasons && window.Chart) {
    new Chart(reasons, {
      type: "bar",
      data: {
        labels: data.reasons,
        datasets: data.outcomes.map(function (o) { return {label: o.label, data: o.counts}; })
      },
      options: {
        indexAxis: "y", maintainAspectRatio: false, animation: false,
        scales: {x: {stacked: true, ticks: {precision: 0}, title: {display: true, text: "Visits"}}, y: {stacked: true}},
        plugins: {legend: {position: "bottom"}}
      }
    });
  }
  var response = document.getElementById("chart-response");
  if (response && window.Chart) {
    new Chart(response, {
      type: "bar",
      data: {
        labels: data.bands.labels,
        datasets: [
          {label: "Stayed with the office", data: data.bands.office},
          {label: "Reached the police step", data: data.bands.police, backgroundColor: "#212529"}
        ]
      },
      options: {
        maintainAspectRatio: false, animation: false,
        scales: {x: {stacked: true, title: {display: true, text: "Office's time to respond"}}, y: {stacked: true, beginAtZero: true, ticks: {precision: 0}, title: {display: true, text: "Incidents"}}},
        plugins: {legend: {position: "bottom"}}
      }
    });
  }
})();
