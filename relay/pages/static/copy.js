// Progressive enhancement: a Copy button beside a key shown once. Without
// JavaScript the key is still selectable in its read-only field.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = "Copy"; }, 2000);
      }, function () {
        field.select();
      });
    });
  });
  document.querySelectorAll("input.key").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
});
