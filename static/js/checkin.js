// The staff's phone screen. Where the browser allows it, each check-in carries the phone's
// position (E2: last known location); a check-in is never held up waiting for it.
(function () {
  var latest = null;
  if (navigator.geolocation) {
    navigator.geolocation.watchPosition(
      function (pos) {
        latest = pos.coords;
        document.querySelectorAll("form[data-position]").forEach(function (form) {
          var set = function (name, value) {
            var input = form.querySelector("input[name=" + name + "]");
            if (!input) {
              input = document.createElement("input");
              input.type = "hidden";
              input.name = name;
              form.appendChild(input);
            }
            input.value = value;
          };
          set("lat", latest.latitude);
          set("lng", latest.longitude);
          set("accuracy", Math.round(latest.accuracy || 0));
        });
      },
      function () {},
      { enableHighAccuracy: true, maximumAge: 60000, timeout: 20000 }
    );
  }
  // "I need help": one tap shows the confirm button in place; a second tap sends it.
  var toggle = document.querySelector("[data-help-toggle]");
  var confirmForm = document.querySelector("[data-help-confirm]");
  if (toggle && confirmForm) {
    toggle.addEventListener("click", function (event) {
      event.preventDefault();
      toggle.classList.add("d-none");
      confirmForm.classList.remove("d-none");
      confirmForm.querySelector("button[type=submit]").focus();
    });
    confirmForm.querySelector("[data-help-cancel]").addEventListener("click", function () {
      confirmForm.classList.add("d-none");
      toggle.classList.remove("d-none");
    });
  }
})();
