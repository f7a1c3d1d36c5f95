// Live updates without reloading: poll the inbox's version, refresh list and thread when it changes.
(function () {
  "use strict";
  var root = document.querySelector(".inbox");
  if (!root) return;
  var current = root.dataset.current;
  var query = root.dataset.query;
  var version = null;

  async function refresh() {
    if (current) {
      var box = document.getElementById("messages");
      var atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
      var thread = await fetch("/inbox/fragment/thread/" + current);
      if (thread.ok) {
        box.innerHTML = await thread.text();
        if (atEnd) box.scrollTop = box.scrollHeight;
      }
    }
    // after the thread, which marks it read, so its unread count is current
    var list = await fetch("/inbox/fragment/list?" + query + (current ? "&current=" + current : ""));
    if (list.ok) document.getElementById("conversation-list").innerHTML = await list.text();
  }

  async function poll() {
    try {
      var response = await fetch("/inbox/updates", { headers: { Accept: "application/json" } });
      if (response.ok) {
        var data = await response.json();
        if (version !== null && data.version !== version) await refresh();
        version = data.version;
      }
    } catch (e) { /* offline for a moment: try again */ }
    setTimeout(poll, 1500);
  }

  var box = document.getElementById("messages");
  if (box) box.scrollTop = box.scrollHeight;
  poll();
})();
