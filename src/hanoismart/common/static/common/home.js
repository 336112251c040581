// The home page's live figures, read from the public API. Progressive: the block stays hidden
// unless every figure it shows could be read, so a slow or missing API never shows a wrong number.
(function () {
  "use strict";
  var block = document.querySelector(".figures[data-units-url]");
  if (!block || !window.fetch) return;

  // The directory API pages its lists and says how many items match in "count".
  function count(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (data) {
        if (typeof data.count !== "number") throw new Error("unexpected answer");
        return data.count;
      });
  }

  var language = document.documentElement.lang || "vi";
  function show(name, value) {
    var target = block.querySelector('[data-figure="' + name + '"]');
    if (target) target.textContent = value.toLocaleString(language);
    var row = block.querySelector('[data-figure-row="' + name + '"]');
    if (row) row.hidden = false;
  }

  count(block.dataset.unitsUrl)
    .then(function (wards) {
      if (wards <= 0) return;
      show("wards", wards);
      block.hidden = false;
      if (block.dataset.agenciesUrl) {
        return count(block.dataset.agenciesUrl).then(function (agencies) {
          if (agencies > 0) show("agencies", agencies);
        });
      }
    })
    .catch(function () { /* leave the block hidden */ });
})();
