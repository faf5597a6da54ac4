// Live SLA countdowns: each <span class="countdown" data-due="ISO instant"> shows the time
// left until its due instant (or how late it is), in the words of #countdown-words.
(function () {
  "use strict";
  function words() {
    var node = document.getElementById("countdown-words");
    return node ? node.dataset : null;
  }
  function span(w, seconds) {
    var d = Math.floor(seconds / 86400);
    var h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = Math.floor(seconds % 60);
    var parts = [];
    if (d) parts.push(w.day.replace("%(n)d", d));
    if (h) parts.push(w.hour.replace("%(n)d", h));
    if (d === 0 && m) parts.push(w.minute.replace("%(n)d", m));
    if (d === 0 && h === 0) parts.push(w.second.replace("%(n)d", s));
    return parts.join(" ");
  }
  function tick() {
    var w = words();
    if (!w) return;
    var now = Date.now();
    var nodes = document.querySelectorAll(".countdown[data-due]");
    for (var i = 0; i < nodes.length; i++) {
      var due = Date.parse(nodes[i].dataset.due);
      if (isNaN(due)) continue;
      var left = Math.round((due - now) / 1000);
      if (left >= 0) {
        nodes[i].textContent = w.left.replace("%(duration)s", span(w, left));
        nodes[i].classList.remove("late");
      } else {
        nodes[i].textContent = w.over.replace("%(duration)s", span(w, -left));
        nodes[i].classList.add("late");
      }
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
  });
})();
