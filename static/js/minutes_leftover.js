// Words typed on this tablet that never reached the server before the minutes were submitted
// (by the other member of staff, say): the record cannot change any more, so show them and
// offer them as an addendum instead of leaving them unseen in the browser's storage.
(function () {
  "use strict";
  var box = document.getElementById("leftover-words");
  if (!box) {
    return;
  }
  var key = "homevisits:minutes:" + box.dataset.minutes + ":user:" + box.dataset.user;
  var copy = null;
  try {
    copy = JSON.parse(localStorage.getItem(key) || "null");
  } catch (error) {
    return;
  }
  if (!copy || !copy.values || !Object.keys(copy.values).length) {
    return;
  }
  var labels = JSON.parse(box.dataset.labels || "{}");
  function asText(value) {
    if (value === null || value === undefined) {
      return "";
    }
    if (typeof value === "boolean") {
      return value ? "Yes" : "No";
    }
    if (Array.isArray(value)) {
      return value
        .map(function (item) {
          return Object.keys(item)
            .map(function (k) { return item[k] === null ? "" : String(item[k]); })
            .filter(Boolean)
            .join(", ");
        })
        .join("\n");
    }
    return String(value);
  }
  var text = Object.keys(copy.values)
    .map(function (name) {
      return (labels[name] || name) + ":\n" + asText(copy.values[name]);
    })
    .join("\n\n");
  box.querySelector("pre").textContent = text;
  box.classList.remove("d-none");
  var addendum = document.getElementById("id_text");
  var use = box.querySelector("[data-action=use]");
  if (addendum && use) {
    use.addEventListener("click", function () {
      addendum.value = (addendum.value ? addendum.value + "\n\n" : "") + text;
      addendum.focus();
    });
  } else if (use) {
    use.remove();
  }
  box.querySelector("[data-action=discard]").addEventListener("click", function () {
    if (window.confirm("Discard the words kept on this tablet? They were never saved.")) {
      localStorage.removeItem(key);
      box.classList.add("d-none");
    }
  });
})();
