// Monitoring's two charts, drawn from the figures the page carries as JSON (json_script); the
// same figures are in the tables beside them.
//
// Every outcome has its own colour (Okabe-Ito's, told apart also by people who see colours
// differently) and its own pattern, so that two outcomes never look alike even in grey print;
// a dark border keeps each part 3:1 against its neighbours and the white page (WCAG 1.4.11).
(function () {
  var OUTCOMES = {
    "Draft": ["#6c757d", "dots", "light"],
    "Awaiting authorisation": ["#e69f00", "diagonal", "dark"],
    "Changes requested": ["#56b4e9", "horizontal", "dark"],
    "Authorised": ["#009e73", "solid", "light"],
    "Refused": ["#d55e00", "cross", "light"],
    "On the way": ["#0072b2", "vertical", "light"],
    "Arrived": ["#cc79a7", "back-diagonal", "dark"],
    "Completed": ["#f0e442", "grid", "dark"],
    "Closed": ["#332288", "horizontal", "light"],
    "Cancelled": ["#8c564b", "diagonal", "light"],
    "Called off at the door": ["#000000", "dots", "light"]
  };
  // Outcomes this file does not know yet still get a colour and pattern of their own.
  var SPARE = [
    ["#882255", "horizontal", "light"], ["#44aa99", "cross", "dark"],
    ["#999933", "vertical", "dark"], ["#aa4499", "grid", "light"]
  ];
  var BORDER = "#212529";

  function pattern(colour, kind, ink) {
    if (kind === "solid") {
      return colour;
    }
    var size = 10;
    var tile = document.createElement("canvas");
    tile.width = size;
    tile.height = size;
    var ctx = tile.getContext("2d");
    ctx.fillStyle = colour;
    ctx.fillRect(0, 0, size, size);
    ctx.strokeStyle = ctx.fillStyle = ink === "dark" ? "rgba(0,0,0,.55)" : "rgba(255,255,255,.75)";
    ctx.lineWidth = 2;
    ctx.beginPath();
    if (kind === "dots") {
      ctx.arc(size / 2, size / 2, 1.8, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      if (kind === "diagonal") { ctx.moveTo(0, size); ctx.lineTo(size, 0); ctx.moveTo(-1, 1); ctx.lineTo(1, -1); ctx.moveTo(size - 1, size + 1); ctx.lineTo(size + 1, size - 1); }
      if (kind === "back-diagonal") { ctx.moveTo(0, 0); ctx.lineTo(size, size); ctx.moveTo(size - 1, -1); ctx.lineTo(size + 1, 1); ctx.moveTo(-1, size - 1); ctx.lineTo(1, size + 1); }
      if (kind === "horizontal" || kind === "grid" || kind === "cross") { ctx.moveTo(0, size / 2); ctx.lineTo(size, size / 2); }
      if (kind === "vertical" || kind === "grid" || kind === "cross") { ctx.moveTo(size / 2, 0); ctx.lineTo(size / 2, size); }
      if (kind === "cross") { ctx.moveTo(0, 0); ctx.lineTo(size, size); ctx.moveTo(0, size); ctx.lineTo(size, 0); }
      ctx.stroke();
    }
    return ctx.createPattern(tile, "repeat");
  }

  function look(label, index) {
    var style = OUTCOMES[label] || SPARE[index % SPARE.length];
    return {backgroundColor: pattern(style[0], style[1], style[2]), borderColor: BORDER, borderWidth: 1};
  }

  function dataset(label, counts, index) {
    var set = look(label, index);
    set.label = label;
    set.data = counts;
    return set;
  }

  var data = JSON.parse(document.getElementById("monitoring-chart-data").textContent);
  var reasons = document.getElementById("chart-reasons");
  if (reasons && window.Chart) {
    new Chart(reasons, {
      type: "bar",
      data: {
        labels: data.reasons,
        datasets: data.outcomes.map(function (o, i) { return dataset(o.label, o.counts, i); })
      },
      options: {
        indexAxis: "y", maintainAspectRatio: false, animation: false,
        scales: {x: {stacked: true, ticks: {precision: 0}, title: {display: true, text: "Visits"}}, y: {stacked: true}},
        plugins: {legend: {position: "bottom", labels: {boxWidth: 24, boxHeight: 16}}}
      }
    });
  }
  var response = document.getElementById("chart-response");
  if (response && window.Chart) {
    var office = dataset("Stayed with the office", data.bands.office, 0);
    office.backgroundColor = pattern("#56b4e9", "solid");
    var police = dataset("Reached the police step", data.bands.police, 1);
    police.backgroundColor = pattern("#212529", "diagonal", "light");
    new Chart(response, {
      type: "bar",
      data: {labels: data.bands.labels, datasets: [office, police]},
      options: {
        maintainAspectRatio: false, animation: false,
        scales: {x: {stacked: true, title: {display: true, text: "Office's time to respond"}}, y: {stacked: true, beginAtZero: true, ticks: {precision: 0}, title: {display: true, text: "Incidents"}}},
        plugins: {legend: {position: "bottom", labels: {boxWidth: 24, boxHeight: 16}}}
      }
    });
  }
})();
