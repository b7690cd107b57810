// Every page. No inline handlers anywhere (the Content-Security-Policy forbids them): a form
// asks before it is sent with data-confirm="…", a button prints the page with data-print.

// A second tap on a slow connection must not send a form twice (two drafts, two decisions).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.submitted === "yes") {
    event.preventDefault();
    return;
  }
  // Asked first: a form the person declined must stay usable.
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  // A script of the page that took over this submit (minutes.js sends its own) decides.
  if (event.defaultPrevented) {
    return;
  }
  form.dataset.submitted = "yes";
  form.querySelectorAll("button[type=submit], input[type=submit], button:not([type])").forEach(function (button) {
    button.setAttribute("aria-disabled", "true");
    button.classList.add("disabled");
  });
});
// Coming back with the browser's Back button shows the page from cache: let it be sent again.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-submitted]").forEach(function (form) {
    delete form.dataset.submitted;
    form.querySelectorAll(".disabled[aria-disabled]").forEach(function (button) {
      button.classList.remove("disabled");
      button.removeAttribute("aria-disabled");
    });
  });
});
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-print]") : null;
  if (button) {
    event.preventDefault();
    window.print();
  }
});
// htmx polling ("every 5s") is the page, not the person: it must not keep a session alive
// (accounts/idle.py; the live board's polling is let through there by name).
document.addEventListener("htmx:configRequest", function (event) {
  var trigger = event.detail.elt && event.detail.elt.getAttribute("hx-trigger");
  if (trigger && /(^|,)\s*every\s/.test(trigger)) {
    event.detail.headers["X-Background-Request"] = "1";
  }
});
