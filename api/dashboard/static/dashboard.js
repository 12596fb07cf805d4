// Progressive enhancement only: every page works without it.
// Filters marked data-autosubmit apply as soon as they change.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLElement && field.hasAttribute("data-autosubmit") && field.form) {
    field.form.requestSubmit();
  }
});

// Counters marked data-counts refresh every 15 s from their JSON endpoint (session cookie);
// without JavaScript the numbers rendered by the server stay.
const REFRESH_MS = 15000;
function refreshCounts(list) {
  fetch(list.dataset.counts, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : null))
    .then((figures) => {
      if (!figures) return;
      for (const link of list.querySelectorAll("[data-counter]")) {
        const value = figures[link.dataset.counter];
        const number = link.querySelector("[data-count]");
        if (number && value !== undefined) number.textContent = value === null ? "—" : String(value);
      }
    })
    .catch(() => {});
}
for (const list of document.querySelectorAll("[data-counts]")) {
  setInterval(() => { if (!document.hidden) refreshCounts(list); }, REFRESH_MS);
}
