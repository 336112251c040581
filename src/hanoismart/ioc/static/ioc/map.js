// The IOC's map: the units' outlines (GeoJSON from the server) coloured by the chosen KPI, from bad (red) to
// good (green), grey without a value; a popup with the value and a link to the figures; a legend below.
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || !window.L) return;
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var text = JSON.parse(document.getElementById("map-text").textContent);
  var COLOURS = ["#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"]; // worst … best
  var NONE = "#c8ccd0";
  var charts = window.iocCharts || { withMeasure: function (v) { return String(v); } };

  var map = L.map(element, { scrollWheelZoom: false, attributionControl: true });
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { attribution: config.attribution, maxZoom: 18 }).addTo(map);
  }
  map.setView([21.03, 105.85], 10);

  function classOf(value, data) {
    if (value === null || value === undefined) return -1;
    if (data.max === data.min) return COLOURS.length - 1;
    var share = (value - data.min) / (data.max - data.min);
    if (!data.kpi.higher_is_better) share = 1 - share;
    return Math.min(COLOURS.length - 1, Math.floor(share * COLOURS.length));
  }

  function popup(feature, data) {
    var box = document.createElement("div");
    var name = document.createElement("strong");
    name.textContent = feature.properties.name;
    var value = document.createElement("div");
    value.textContent = data.kpi.label + ": " + charts.withMeasure(feature.properties.value, data.kpi.measure);
    box.appendChild(name);
    box.appendChild(value);
    if (feature.properties.link) {
      var link = document.createElement("a");
      link.href = feature.properties.link;
      link.textContent = text.open;
      box.appendChild(link);
    }
    return box;
  }

  function legend(data) {
    var block = document.getElementById("map-legend");
    block.textContent = "";
    function item(colour, label) {
      var span = document.createElement("span");
      var swatch = document.createElement("i");
      swatch.style.background = colour;
      span.appendChild(swatch);
      span.appendChild(document.createTextNode(label));
      block.appendChild(span);
    }
    if (data.min !== null) {
      var low = charts.withMeasure(data.min, data.kpi.measure);
      var high = charts.withMeasure(data.max, data.kpi.measure);
      item(COLOURS[0], (data.kpi.higher_is_better ? low : high) + " (" + text.worse + ")");
      item(COLOURS[2], "…");
      item(COLOURS[COLOURS.length - 1], (data.kpi.higher_is_better ? high : low) + " (" + text.better + ")");
    }
    item(NONE, text.none);
  }

  fetch(config.data_url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    })
    .then(function (data) {
      var layer = L.geoJSON(data, {
        style: function (feature) {
          var index = classOf(feature.properties.value, data);
          return { color: "#555", weight: 1, fillOpacity: 0.65, fillColor: index < 0 ? NONE : COLOURS[index] };
        },
        onEachFeature: function (feature, shape) {
          shape.bindPopup(function () { return popup(feature, data); });
          shape.bindTooltip(feature.properties.name, { sticky: true });
        },
      }).addTo(map);
      if (layer.getLayers().length) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
      legend(data);
      element.dataset.loaded = String(data.features.length);
    })
    .catch(function () {
      document.getElementById("map-legend").textContent = text.failed;
    });
  window.addEventListener("resize", function () { map.invalidateSize(); });
})();
