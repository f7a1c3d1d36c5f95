// Live updates without reloading: poll the inbox's version and the person's own unread counts;
// refresh list and thread when either changes, and keep the title and unread total current.
(function () {
  "use strict";
  var root = document.querySelector(".inbox");
  if (!root) return;
  var current = root.dataset.current;
  var query = root.dataset.query;
  // The version the page was rendered at: a message arriving before the first poll changes it.
  var version = root.dataset.version;
  var unreadSeen = null;
  var title = document.title.replace(/^\(\S+\) /, "");

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

  // The open thread is read by whoever looks at it: the next refresh records that.
  function showUnread(unread) {
    var counts = Object.assign({}, unread.counts);
    var total = unread.conversations;
    if (current && counts[current]) {
      delete counts[current];
      total -= 1;
    }
    var number = total.toLocaleString(document.documentElement.lang);
    document.title = (total ? "(" + number + ") " : "") + title;
    var badge = document.getElementById("unread-total");
    if (badge) {
      badge.hidden = total === 0;
      badge.textContent = number;
    }
    return JSON.stringify(counts);
  }

  async function poll() {
    try {
      var response = await fetch("/inbox/updates", { headers: { Accept: "application/json" } });
      if (response.ok) {
        var data = await response.json();
        var unread = showUnread(data.unread);
        var changed =
          data.version !== version || (unreadSeen !== null && unread !== unreadSeen);
        if (changed) await refresh();
        version = data.version;
        unreadSeen = unread;
      }
    } catch (e) { /* offline for a moment: try again */ }
    setTimeout(poll, 1500);
  }

  var box = document.getElementById("messages");
  if (box) box.scrollTop = box.scrollHeight;
  poll();
})();
