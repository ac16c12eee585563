// Keeps the workflow editor's line numbers beside their lines while the text scrolls.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".editor").forEach(function (editor) {
    var area = editor.querySelector("textarea");
    var gutter = editor.querySelector(".gutter");
    if (!area || !gutter) return;
    area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
  });
});
