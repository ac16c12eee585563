// Keeps the workflow editor's line numbers beside their lines while the text scrolls.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".editor").forEach(function (editor) {
    var area = editor.querySelector("textarea");
    var gutter = editor.querySelector(".gutter");
    if (!area || !gutter) return;
    area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
  });
});

// "Copy" buttons beside read-only addresses (Settings → Twilio): the address goes to the clipboard.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button.copy");
  if (!button) return;
  var field = document.getElementById(button.dataset.copy);
  if (!field) return;
  field.select();
  var done = function () { button.textContent = "Copied"; };
  if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, done);
  else { document.execCommand("copy"); done(); }
});

// The workflow block editor. Without this script every button posts the whole draft and the server
// moves, adds or removes the block; with it, Move up / Move down and dragging reorder the blocks in
// place (the hidden "order" fields say the new order), the "when" fields show only what the chosen kind
// of time needs, variables are inserted at the cursor, and the preview follows every change.
(function () {
  function form() { return document.getElementById("wf-form"); }
  function list() { return document.getElementById("blocks"); }

  function renumber(moved) {
    var blocks = list().querySelectorAll(":scope > li.block");
    blocks.forEach(function (li, i) {
      var order = li.querySelector("input[name$='-order']");
      if (order) order.value = i;
      var up = li.querySelector("[data-move='up']"), down = li.querySelector("[data-move='down']");
      if (up) up.setAttribute("aria-disabled", i === 0 ? "true" : "false");
      if (down) down.setAttribute("aria-disabled", i === blocks.length - 1 ? "true" : "false");
    });
    if (moved) {
      var status = document.getElementById("wf-moved");
      var title = moved.querySelector("h3");
      var at = Array.prototype.indexOf.call(blocks, moved) + 1;
      if (status && title) status.textContent = title.textContent + ": " + at + " / " + blocks.length;
    }
    if (window.htmx) htmx.trigger(form(), "wf-moved");
  }

  function showWhen(fieldset) {
    var kind = fieldset.querySelector(".when-kind select");
    if (!kind) return;
    var v = kind.value;
    var need = {n: /due|promise|after|day|event/.test(v), unit: /after|event/.test(v), dir: /due|promise/.test(v),
                text: v === "written"};
    [["when-n", need.n], ["when-unit", need.unit], ["when-dir", need.dir], ["when-text", need.text]].forEach(
      function (pair) {
        var box = fieldset.querySelector("." + pair[0]);
        if (box) box.hidden = !pair[1];
      });
  }

  // A decision's condition: what it looks at, how it compares, a value; or, for anything else, as written.
  function showCondition(fieldset) {
    var field = fieldset.querySelector(".cond-field select");
    if (!field) return;
    var asWritten = field.value === "written";
    [["cond-op", !asWritten], ["cond-value", !asWritten], ["cond-text", asWritten]].forEach(function (pair) {
      var box = fieldset.querySelector("." + pair[0]);
      if (box) box.hidden = !pair[1];
    });
    var value = fieldset.querySelector(".cond-value input");
    var values = "values-" + field.value.replace(/\./g, "-");
    if (value && document.getElementById(values)) value.setAttribute("list", values);
    else if (value) value.removeAttribute("list");
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!list()) return;
    document.documentElement.classList.add("js");
    document.querySelectorAll("[data-condition]").forEach(showCondition);
    var status = document.createElement("p");
    status.id = "wf-moved"; status.className = "sr-only"; status.setAttribute("aria-live", "polite");
    list().parentNode.insertBefore(status, list());
    document.querySelectorAll("[data-when]").forEach(showWhen);
    // After the server added, duplicated or moved a block, the keyboard goes on from that block's name.
    var focus = list().dataset.focus && document.getElementById(list().dataset.focus);
    if (focus) {
      var name = focus.querySelector("input[name$='-name']");
      focus.scrollIntoView({block: "center"});
      if (name) name.focus({preventScroll: true});
    }
    var dragged = null;
    list().addEventListener("dragstart", function (e) {
      if (!e.target.closest || !e.target.closest(".drag-handle")) return;  // only the handle drags a block
      dragged = e.target.closest("li.block");
      dragged.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", dragged.dataset.key);
      e.dataTransfer.setDragImage(dragged, 20, 20);
    });
    list().addEventListener("dragover", function (e) {
      if (!dragged) return;
      e.preventDefault();
      var over = e.target.closest("li.block");
      list().querySelectorAll(".drop-before").forEach(function (x) { x.classList.remove("drop-before"); });
      if (over && over !== dragged) over.classList.add("drop-before");
    });
    list().addEventListener("drop", function (e) {
      if (!dragged) return;
      e.preventDefault();
      var over = e.target.closest("li.block");
      if (over && over !== dragged) {
        var box = over.getBoundingClientRect();
        list().insertBefore(dragged, e.clientY > box.top + box.height / 2 ? over.nextSibling : over);
      }
    });
    list().addEventListener("dragend", function () {
      if (!dragged) return;
      dragged.classList.remove("dragging");
      list().querySelectorAll(".drop-before").forEach(function (x) { x.classList.remove("drop-before"); });
      renumber(dragged);
      dragged = null;
    });
  });

  document.addEventListener("click", function (event) {
    var move = event.target.closest("button.js-move");
    if (move && list()) {
      event.preventDefault();
      if (move.getAttribute("aria-disabled") === "true") return;
      var li = move.closest("li.block");
      if (move.dataset.move === "up" && li.previousElementSibling) list().insertBefore(li, li.previousElementSibling);
      else if (move.dataset.move === "down" && li.nextElementSibling) list().insertBefore(li.nextElementSibling, li);
      move.focus();
      renumber(li);
      return;
    }
    var insert = event.target.closest("button.var");
    if (insert) {
      var area = document.getElementById(insert.dataset.target);
      if (!area) return;
      var text = "{{ " + insert.dataset.insert + " }}";
      var at = area.selectionStart || area.value.length, end = area.selectionEnd || at;
      area.value = area.value.slice(0, at) + text + area.value.slice(end);
      area.focus();
      area.setSelectionRange(at + text.length, at + text.length);
      area.dispatchEvent(new Event("input", {bubbles: true}));
    }
  });

  document.addEventListener("change", function (event) {
    var when = event.target.closest(".when-kind select");
    if (when) showWhen(when.closest("[data-when]"));
    var field = event.target.closest(".cond-field select");
    if (field) showCondition(field.closest("[data-condition]"));
  });
})();

// Choosing what running invoices do on publishing changes nothing in the draft: no preview for it.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".wf-editor .publish").forEach(function (box) {
    box.addEventListener("change", function (e) { e.stopPropagation(); });
  });
});
