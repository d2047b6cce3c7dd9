// Sortable tables: a click (or Enter) on a column header sorts the rows by
// that column, numerically where the column is marked data-numeric; a second
// click reverses the order. Missing values ("—") always sort last.
(function () {
  "use strict";
  function value(td, numeric) {
    var t = td ? td.textContent.trim() : "";
    if (!numeric) { return t; }
    var v = parseFloat(t);
    return isNaN(v) ? null : v;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var numeric = th.hasAttribute("data-numeric");
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = value(a.cells[col], numeric), y = value(b.cells[col], numeric);
          if (x === null || x === "—") { return (y === null || y === "—") ? 0 : 1; }
          if (y === null || y === "—") { return -1; }
          var c = numeric ? x - y : String(x).localeCompare(String(y));
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
}());
