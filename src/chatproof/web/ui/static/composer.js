// The composer: "/" opens quick replies, emoji, template parameters, and the policy gate's
// answer shown before sending.
(function () {
  "use strict";
  var form = document.getElementById("composer");
  if (!form) return;
  var reply = document.getElementById("reply");
  var list = document.getElementById("quick-replies");
  var template = document.getElementById("template");
  var params = document.getElementById("template-params");
  var preview = document.getElementById("template-preview");
  var purpose = document.getElementById("purpose");
  var gate = document.getElementById("gate");
  var file = document.getElementById("attachment");
  var caption = document.getElementById("caption");
  var timer = null;
  var selected = -1;

  function options() {
    return Array.prototype.filter.call(list.children, function (li) { return !li.hidden; });
  }
  function showQuick() {
    var v = reply.value;
    if (!v.startsWith("/") || v.indexOf(" ") >= 0) { list.hidden = true; return; }
    var q = v.slice(1).toLowerCase();
    Array.prototype.forEach.call(list.children, function (li) {
      li.hidden = li.dataset.name.toLowerCase().indexOf(q) !== 0;
      li.setAttribute("aria-selected", "false");
    });
    selected = -1;
    list.hidden = options().length === 0;
  }
  function pick(li) {
    reply.value = li.dataset.text;
    list.hidden = true;
    reply.focus();
    check();
  }
  reply.addEventListener("input", function () { showQuick(); check(); });
  reply.addEventListener("keydown", function (e) {
    if (list.hidden) return;
    var items = options();
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      selected = (selected + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      items.forEach(function (li, i) { li.setAttribute("aria-selected", String(i === selected)); });
    } else if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      pick(items[Math.max(selected, 0)]);
    } else if (e.key === "Escape") {
      list.hidden = true;
    }
  });
  list.addEventListener("click", function (e) {
    var li = e.target.closest("li");
    if (li) pick(li);
  });
  form.querySelectorAll("[data-emoji]").forEach(function (b) {
    b.addEventListener("click", function () {
      var at = reply.selectionStart || reply.value.length;
      reply.value = reply.value.slice(0, at) + b.dataset.emoji + reply.value.slice(at);
      reply.focus();
      check();
    });
  });
  template.addEventListener("change", function () {
    var option = template.selectedOptions[0];
    var count = parseInt(option.dataset.params || "0", 10);
    params.innerHTML = "";
    for (var i = 1; i <= count; i++) {
      var id = "param-" + i;
      var label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = params.dataset.label + " {{" + i + "}}";
      var input = document.createElement("input");
      input.id = id;
      input.name = "param";
      input.addEventListener("input", check);
      params.appendChild(label);
      params.appendChild(input);
    }
    preview.textContent = option.dataset.text || "";
    reply.disabled = Boolean(template.value);
    check();
  });
  purpose.addEventListener("change", check);
  // A file is free-form to the gate, like text; its caption field shows once one is chosen.
  if (file) file.addEventListener("change", function () { caption.hidden = !file.value; check(); });

  function check() {
    clearTimeout(timer);
    timer = setTimeout(async function () {
      var query = new URLSearchParams();
      query.set("purpose", purpose.value);
      if (template.value) {
        query.set("template", template.value);
        params.querySelectorAll("input").forEach(function (i) { query.append("param", i.value); });
      } else {
        var chosen = file && file.files.length ? file.files[0].name : "";
        if (!reply.value.trim() && !chosen) { gate.textContent = ""; return; }
        query.set("text", reply.value.trim() ? reply.value : chosen);
      }
      var response = await fetch(form.dataset.gate + "?" + query.toString());
      if (!response.ok) return;
      var d = await response.json();
      if (!d.complete) { gate.className = "meta"; gate.textContent = d.reason; return; }
      gate.className = d.allowed ? "gate-ok" : "gate-no";
      gate.dataset.allowed = String(d.allowed);
      gate.textContent = (d.allowed ? "✓ " : "✗ ") + d.reason + " (" + d.rule + ")";
    }, 250);
  }
  check();
})();
