(function(){
  var v = document.getElementById("clip-video");
  if (!v) return;
  function seek(t){
    t = parseFloat(t);
    if (isNaN(t)) return;
    v.currentTime = Math.max(0, t);
    v.scrollIntoView({behavior: "smooth", block: "center"});
  }
  document.querySelectorAll("[data-t]").forEach(function(el){
    el.addEventListener("click", function(){ seek(el.getAttribute("data-t")); });
  });
})();
