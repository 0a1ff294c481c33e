// "Copy" button next to a newly created API token key (profile page).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy-target]");
  if (!button) return;
  var input = document.getElementById(button.getAttribute("data-copy-target"));
  var status = document.querySelector("[data-copy-status]");
  function done(text) { if (status) status.textContent = text; }
  input.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(
      function () { done("Copied to the clipboard."); },
      function () { done("Press Ctrl+C (or ⌘C) to copy the selected key."); });
  } else {
    done(document.execCommand && document.execCommand("copy")
      ? "Copied to the clipboard." : "Press Ctrl+C (or ⌘C) to copy the selected key.");
  }
});
