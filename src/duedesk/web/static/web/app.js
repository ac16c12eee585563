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
