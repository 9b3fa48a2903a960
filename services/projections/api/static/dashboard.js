// Live updates without reloads: the server's event stream says "changed", the page fetches
// its own <main> (X-Fragment: 1) and swaps it in, keeping which <details> were open, and
// waiting while one of its fields has the focus; a fetch that fails is tried again.
(function () {
  "use strict";
  var main = document.getElementById("live");
  if (!main || !main.dataset.live || !window.EventSource) return;
  var busy = false, again = false, held = false;
  // a form being filled in (its reason typed, its kind chosen) is not swapped away under the hand
  function filling(node) { return !!node && main.contains(node) && /^(INPUT|SELECT|TEXTAREA)$/.test(node.tagName); }
  main.addEventListener("focusout", function (e) {
    if (held && !filling(e.relatedTarget)) { held = false; setTimeout(refresh, 0); }
  });
  function refresh() {
    if (filling(document.activeElement)) { held = true; return; }
    if (busy) { again = true; return; }
    busy = true;
    var shut = Array.prototype.map.call(main.querySelectorAll("details:not([open])"), function (d) { return d.id; });
    fetch(location.href, {headers: {"X-Fragment": "1"}, credentials: "same-origin"})
      // a server error or a lost connection is tried again (the change is still unseen); a refusal is not
      .then(function (answer) { return answer.ok ? answer.text() : answer.status >= 500 ? null : undefined; })
      .catch(function () { return null; })
      .then(function (html) {
        if (html === null) again = true;
        if (typeof html !== "string") return;
        main.innerHTML = html;
        shut.forEach(function (id) { var d = id && document.getElementById(id); if (d) d.open = false; });
        main.dataset.updates = String(Number(main.dataset.updates || 0) + 1);
      })
      .finally(function () { busy = false; if (again) { again = false; setTimeout(refresh, 250); } });
  }
  new EventSource(main.dataset.live).addEventListener("changed", refresh);
})();
