(function(){
  var coll = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});
  function val(td){ return td ? (td.hasAttribute("data-sort") ? td.getAttribute("data-sort") : td.textContent.trim()) : ""; }
  document.querySelectorAll("table.sortable").forEach(function(table){
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function(th, col){
      th.classList.add("sortable");
      th.tabIndex = 0;
      function go(){
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function(h){ h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function(a, b){
          var x = val(a.cells[col]), y = val(b.cells[col]);
          if (x === "" && y === "") return 0;
          if (x === "") return 1;   /* blanks last either way */
          if (y === "") return -1;
          var nx = Number(x), ny = Number(y), r;
          if (!isNaN(nx) && !isNaN(ny)) r = nx - ny; else r = coll.compare(x, y);
          return asc ? r : -r;
        });
        rows.forEach(function(r){ body.appendChild(r); });
      }
      th.addEventListener("click", go);
      th.addEventListener("keydown", function(e){ if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    });
  });
})();
