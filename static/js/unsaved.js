// Pages with more than one form (a concern, the minutes, my actions): a button saves only its
// own form, so words typed in another would be lost without a word (issue 12, item 2). Before a
// submit leaves filled-in fields of another form behind, and before leaving the page with
// anything typed, the person is asked. Loaded by the pages that need it; no inline script (CSP).
(function () {
  "use strict";
  var leaving = false;

  function isDirty(field) {
    if (field.disabled || !field.name || field.type === "hidden" || field.type === "submit" ||
        field.type === "button") return false;
    // A form the server sent back with what was typed (a refusal, data-kept): still unsaved.
    if (field.form && field.form.hasAttribute("data-kept") && field.name !== "csrfmiddlewaretoken" &&
        field.type !== "checkbox" && field.type !== "radio" && field.value.trim()) return true;
    if (field.type === "checkbox" || field.type === "radio") {
      return field.checked !== field.defaultChecked;
    }
    if (field.tagName === "SELECT") {
      for (var i = 0; i < field.options.length; i += 1) {
        if (field.options[i].selected !== field.options[i].defaultSelected) return true;
      }
      return false;
    }
    return field.value !== field.defaultValue;
  }

  function label(field) {
    var text = field.labels && field.labels.length ? field.labels[0].textContent : field.name;
    return text.replace(/\*/g, "").replace(/\s+/g, " ").trim();
  }

  function dirtyFields(except) {
    var fields = document.querySelectorAll("form[method=post] input, form[method=post] select, " +
                                           "form[method=post] textarea, [form]");
    var dirty = [];
    Array.prototype.forEach.call(fields, function (field) {
      if (!field.form || field.form === except || field.form.method !== "post") return;
      if (isDirty(field) && dirty.indexOf(field) === -1) dirty.push(field);
    });
    return dirty;
  }

  document.addEventListener("submit", function (event) {
    var left = dirtyFields(event.target);
    if (left.length) {
      var names = left.map(label).filter(function (name, i, all) { return all.indexOf(name) === i; });
      var ok = window.confirm("This button does not save what you typed in: " + names.join(", ") +
                              ". It will be lost. Press Cancel to go back and save it first.");
      if (!ok) {
        event.preventDefault();
        left[0].focus();
        return;
      }
    }
    leaving = true;
  });

  window.addEventListener("beforeunload", function (event) {
    if (leaving || !dirtyFields(null).length) return;
    event.preventDefault();
    event.returnValue = "";
  });
})();
