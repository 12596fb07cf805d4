// Progressive enhancement only: every page works without it.
// Filters marked data-autosubmit apply as soon as they change.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLElement && field.hasAttribute("data-autosubmit") && field.form) {
    field.form.requestSubmit();
  }
});
