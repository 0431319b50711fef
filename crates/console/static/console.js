// Progressive enhancement for the Portcullis console: every page works without this script.
// - `button[data-copy]` copies the value of the element it names (one-time secrets) and is
//   hidden until this script shows it.
// - `form[data-confirm]` asks before a destructive action.
// - A one-time reveal (`[data-next]`) replaces its history entry with the next page's address,
//   so reloading or going back and forth never re-sends the form that made the secret.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const reveal = document.querySelector("[data-next]");
  if (reveal) window.history.replaceState(null, "", reveal.dataset.next);
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const target = document.getElementById(button.dataset.copy);
    const status = document.getElementById(button.dataset.copy + "-status");
    if (!target) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      let copied = false;
      try {
        await navigator.clipboard.writeText(target.value);
        copied = true;
      } catch {
        target.select();
        copied = document.execCommand && document.execCommand("copy");
      }
      if (status) status.textContent = copied ? "Copied to the clipboard." : "Select the text and copy it.";
    });
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
