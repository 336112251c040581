// The operations center's charts (ECharts) and filter drawer. A chart is an element with data-chart="kind"
// followed by a <script type="application/json"> holding its data (Django's json_script). Charts are drawn
// when the page loads and whenever htmx brings in new content (the live overview), disposed when htmx takes
// their element away, and resized with the window, so they always fill their card, on a phone too.
(function () {
  "use strict";
  if (!window.echarts) return;
  var HANOI = "#a4161a";
  var STATUS_COLOURS = { good: "#198754", warning: "#e0a800", bad: "#dc3545", "": "#6c757d" };
  var GROUP_COLOURS = ["#a4161a", "#e85d04", "#2a9d8f", "#457b9d", "#6a4c93", "#8d99ae"];
  var lang = document.documentElement.lang || "vi";
  var charts = [];

  function number(value, digits) {
    if (value === null || value === undefined || value === "") return "—";
    return Number(value).toLocaleString(lang, { maximumFractionDigits: digits === undefined ? 1 : digits });
  }

  function withMeasure(value, measure) {
    if (value === null || value === undefined) return "—";
    if (measure === "percent") return number(value, 1) + " %";
    if (measure === "points") return number(value, 2);
    if (measure === "count") return number(value, 0);
    return number(value, 1);
  }

  function dataOf(element) {
    var script = element.nextElementSibling;
    while (script && !(script.tagName === "SCRIPT" && script.type === "application/json")) {
      script = script.nextElementSibling;
    }
    return script ? JSON.parse(script.textContent) : null;
  }

  // Labels on a category axis: wrapped or cut to a width that leaves room for the bars on a phone.
  function categoryLabel(width, overflow) {
    return { width: width, overflow: overflow || "truncate", ellipsis: "…", fontSize: 11, lineHeight: 13 };
  }

  function labelWidth(element) {
    return Math.max(80, Math.min(180, Math.round(element.clientWidth * 0.38)));
  }

  var builders = {
    sparkline: function (element, data) {
      var colour = STATUS_COLOURS[element.dataset.status || ""] || HANOI;
      return {
        animation: false,
        grid: { left: 2, right: 2, top: 4, bottom: 2 },
        xAxis: { type: "category", show: false, data: data.labels, boundaryGap: false },
        yAxis: { type: "value", show: false, scale: true },
        tooltip: { show: false },
        series: [{
          type: "line", data: data.values, symbol: "none", smooth: true, connectNulls: true,
          lineStyle: { width: 2, color: colour }, areaStyle: { color: colour, opacity: 0.12 },
        }],
      };
    },

    // Decision 766's five groups: points earned against the group's maximum.
    index: function (element, data) {
      return {
        grid: { left: 4, right: 24, top: 8, bottom: 4, containLabel: true },
        tooltip: {
          trigger: "axis", axisPointer: { type: "shadow" }, confine: true,
          formatter: function (items) {
            var i = items[0].dataIndex;
            return data.labels[i] + ": " + number(data.values[i], 2) + " / " + data.max[i];
          },
        },
        // the largest group's maximum (22) ends the axis without a label of its own, which would crowd 20
        xAxis: { type: "value", max: Math.max.apply(null, data.max.concat([1])), axisLabel: { fontSize: 11, showMaxLabel: false } },
        yAxis: { type: "category", inverse: true, data: data.labels, axisLabel: categoryLabel(labelWidth(element), "break") },
        series: [
          { type: "bar", data: data.max, barGap: "-100%", itemStyle: { color: "#eceff1" }, silent: true, barWidth: 16 },
          {
            type: "bar", data: data.values, itemStyle: { color: HANOI }, barWidth: 16,
            label: { show: true, position: "right", fontSize: 11, formatter: function (p) { return number(p.value, 1); } },
          },
        ],
      };
    },

    // A KPI by unit, agency, field or procedure (bars), or over time (a line).
    breakdown: function (element, data) {
      var tooltip = { trigger: "axis", confine: true, valueFormatter: function (v) { return withMeasure(v, data.measure); } };
      if (data.kind === "line") {
        // over time: a line, or columns when there are too few points to draw one
        var columns = data.labels.length < 3;
        return {
          grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
          tooltip: tooltip,
          xAxis: { type: "category", data: data.labels, axisLabel: { fontSize: 11, hideOverlap: true } },
          yAxis: { type: "value", axisLabel: { fontSize: 11 } },
          series: [columns
            ? { type: "bar", data: data.values, itemStyle: { color: HANOI }, barMaxWidth: 48 }
            : { type: "line", data: data.values, connectNulls: false, itemStyle: { color: HANOI }, areaStyle: { opacity: 0.08 } }],
        };
      }
      return {
        grid: { left: 4, right: 40, top: 8, bottom: 8, containLabel: true },
        tooltip: tooltip,
        xAxis: { type: "value", axisLabel: { fontSize: 11, hideOverlap: true } },
        yAxis: { type: "category", inverse: true, data: data.labels, axisLabel: categoryLabel(labelWidth(element)) },
        series: [{
          type: "bar", data: data.values, itemStyle: { color: HANOI }, barMaxWidth: 18,
          label: { show: true, position: "right", fontSize: 10, formatter: function (p) { return withMeasure(p.value, data.measure); } },
        }],
      };
    },

    // Wards or agencies ranked by the 766 index: one stacked bar per unit, one colour per group.
    ranking: function (element, data) {
      return {
        legend: { top: 0, type: "scroll", textStyle: { fontSize: 11 } },
        grid: { left: 4, right: 16, top: 32, bottom: 4, containLabel: true },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true, valueFormatter: function (v) { return number(v, 2); } },
        xAxis: { type: "value", max: 100, axisLabel: { fontSize: 11 } },
        yAxis: { type: "category", inverse: true, data: data.labels, axisLabel: categoryLabel(labelWidth(element)) },
        series: data.groups.map(function (group, i) {
          return { name: group.name, type: "bar", stack: "index", data: group.values, barMaxWidth: 18, itemStyle: { color: GROUP_COLOURS[i % GROUP_COLOURS.length] } };
        }),
      };
    },

    // The indicator explorer: one line per disaggregation over the periods chosen.
    series: function (element, data) {
      return {
        legend: { top: 0, type: "scroll", textStyle: { fontSize: 11 } },
        grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", confine: true, valueFormatter: function (v) { return number(v, 2); } },
        xAxis: { type: "category", data: data.labels, axisLabel: { fontSize: 11, hideOverlap: true } },
        yAxis: { type: "value", axisLabel: { fontSize: 11 } },
        series: data.series.map(function (serie, i) {
          return { name: serie.name, type: data.labels.length > 1 ? "line" : "bar", data: serie.values, itemStyle: { color: GROUP_COLOURS[i % GROUP_COLOURS.length] } };
        }),
      };
    },
  };

  // Charts animate when the page opens; redrawn by a live update they appear at once, so that figures
  // changing every few seconds do not make the page move.
  function draw(root, animate) {
    var elements = (root || document).querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(elements, function (element) {
      var build = builders[element.dataset.chart];
      var data = dataOf(element);
      if (!build || !data || echarts.getInstanceByDom(element)) return;
      var chart = echarts.init(element, null, { renderer: "svg" });
      var option = build(element, data);
      if (!animate) option.animation = false;
      chart.setOption(option);
      charts.push(chart);
    });
  }

  function dispose(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-chart]"), function (element) {
      var chart = echarts.getInstanceByDom(element);
      if (chart) chart.dispose();
    });
    charts = charts.filter(function (chart) { return !chart.isDisposed(); });
  }

  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) window.clearTimeout(pending);
    pending = window.setTimeout(function () {
      charts.forEach(function (chart) { if (!chart.isDisposed()) chart.resize(); });
    }, 120);
  });

  // The filter drawer: the custom dates count only with the "custom" period.
  function customDates() {
    var select = document.getElementById("f-period");
    if (!select) return;
    var isCustom = select.value === "custom";
    Array.prototype.forEach.call(document.querySelectorAll(".ioc-custom-dates"), function (block) {
      block.hidden = !isCustom;
      Array.prototype.forEach.call(block.querySelectorAll("input"), function (input) { input.disabled = !isCustom; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw(document, true);
    customDates();
    // On a phone the section tabs scroll sideways: bring the current one into view.
    var current = document.querySelector(".ioc-nav .nav-link.active");
    if (current && current.scrollIntoView) current.scrollIntoView({ block: "nearest", inline: "center" });
    var select = document.getElementById("f-period");
    if (select) select.addEventListener("change", customDates);
  });
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.shouldSwap && event.detail.target) dispose(event.detail.target);
  });
  document.body.addEventListener("htmx:load", function (event) {
    if (event.detail.elt !== document.body) draw(event.detail.elt, false); // the page itself: above
  });
  window.iocCharts = { draw: draw, number: number, withMeasure: withMeasure };
})();
