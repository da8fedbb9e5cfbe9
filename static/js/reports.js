// The reports' charts: Chart.js (static/vendor/chartjs) draws each canvas
// marked data-chart from the figures the page carries in #report-charts (a
// json_script element: no inline script, which the Content-Security-Policy
// forbids). The table under each chart holds the same figures as text.
(() => {
  const source = document.getElementById("report-charts");
  if (!source || typeof Chart === "undefined") return;
  const charts = JSON.parse(source.textContent);
  // Okabe and Ito's palette, told apart by people with colour blindness; past
  // eight series the lines repeat the colours, dashed.
  const palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999933"];
  const number = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 1 });

  Chart.defaults.animation = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#212529";
  Chart.defaults.maintainAspectRatio = false;

  function scale(title, percent, position) {
    return {
      position,
      beginAtZero: true,
      title: { display: Boolean(title), text: title },
      ticks: { callback: (value) => number.format(value) + (percent ? " %" : "") },
    };
  }

  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    const spec = charts[canvas.dataset.chart];
    if (!spec) continue;
    const horizontal = spec.horizontal;
    const valueAxis = horizontal ? "x" : "y";
    const usesPercent = spec.datasets.some((d) => d.axis === "percent");
    const usesCount = spec.datasets.some((d) => d.axis !== "percent");
    const datasets = spec.datasets.map((d, i) => {
      const colour = palette[i % palette.length];
      const axis = d.axis === "percent" && usesCount ? "percent" : valueAxis;
      return {
        type: d.kind,
        label: d.label,
        data: d.data,
        backgroundColor: d.kind === "line" ? colour : colour + "cc",
        borderColor: colour,
        borderWidth: d.kind === "line" ? 2 : 0,
        borderDash: i >= palette.length ? [6, 4] : [],
        pointRadius: d.kind === "line" ? 2 : 0,
        spanGaps: true,
        [horizontal ? "xAxisID" : "yAxisID"]: axis,
      };
    });
    const scales = {};
    scales[horizontal ? "y" : "x"] = { stacked: spec.stacked, grid: { display: false } };
    scales[valueAxis] = {
      ...scale(usesCount ? spec.countTitle : spec.percentTitle, !usesCount, horizontal ? "bottom" : "left"),
      stacked: spec.stacked,
    };
    if (usesPercent && usesCount) {
      scales.percent = { ...scale(spec.percentTitle, true, horizontal ? "top" : "right"), grid: { drawOnChartArea: false } };
    }
    new Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        scales,
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 14 } },
          tooltip: {
            callbacks: {
              label: (item) => `${item.dataset.label}: ${item.raw === null ? "none" : number.format(item.raw)}`,
            },
          },
        },
      },
    });
  }

  // Printed pages are narrower than the screen: redraw each chart to fit them.
  const resizeAll = () => Object.values(Chart.instances).forEach((chart) => chart.resize());
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
})();
