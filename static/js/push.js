// "Get alerts on this device": subscribes this browser to push notifications
// (templates/notifications/_push_button.html holds the button; notifications/push/views.py
// keeps the subscription). No inline script, handler or eval: the page may forbid them.
(function () {
  "use strict";

  var ON = "Alerts on: this device will be told";
  var BLOCKED =
    "Alerts are blocked for this site in this browser's settings. Allow notifications there " +
    "to get alerts on this device.";
  var NOT_NOW = "Alerts were not turned on. Press the button to try again.";
  var FAILED = "Alerts could not be turned on here. Try again in a moment.";
  var UNSUPPORTED = "This browser cannot show alerts from this site.";

  function supported() {
    return (
      window.isSecureContext &&
      "serviceWorker" in navigator &&
      "PushManager" in window &&
      "Notification" in window
    );
  }

  // As Django's documentation reads the CSRF cookie; the form field of {% csrf_token %} in the
  // partial stands in where the cookie cannot be read.
  function csrfToken(root) {
    var name = "csrftoken=";
    var cookies = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < cookies.length; i += 1) {
      var cookie = cookies[i].trim();
      if (cookie.substring(0, name.length) === name) {
        return decodeURIComponent(cookie.substring(name.length));
      }
    }
    var field = root.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function keyBytes(base64url) {
    var base64 = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+")
      .replace(/_/g, "/");
    var raw = window.atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  // A subscription made with an earlier key pair would be refused by its push service.
  function madeWith(subscription, key) {
    var used = subscription.options && subscription.options.applicationServerKey;
    if (!used) {
      return true; // the browser does not say: assume so, the server finds out at the first push
    }
    var a = new Uint8Array(used);
    var b = keyBytes(key);
    if (a.length !== b.length) {
      return false;
    }
    for (var i = 0; i < a.length; i += 1) {
      if (a[i] !== b[i]) {
        return false;
      }
    }
    return true;
  }

  function askPermission() {
    return new Promise(function (resolve) {
      // Older browsers answer through the callback, newer ones through the promise.
      var asked = Notification.requestPermission(resolve);
      if (asked && asked.then) {
        asked.then(resolve);
      }
    });
  }

  function setUp(root) {
    var button = root.querySelector("[data-push-button]");
    var status = root.querySelector("[data-push-status]");

    function say(text) {
      status.textContent = text;
    }

    function offer() {
      button.hidden = false;
      button.disabled = false;
    }

    function turnedOn() {
      button.hidden = true;
      say(ON);
    }

    // The key this site's pushes are signed with; null where push is not set up (404).
    function publicKey() {
      return fetch(root.dataset.keyUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      }).then(function (response) {
        if (response.status === 404) {
          return null;
        }
        if (!response.ok) {
          throw new Error("key " + response.status);
        }
        return response.json().then(function (data) {
          return data.publicKey || null;
        });
      });
    }

    function keep(subscription) {
      return fetch(root.dataset.subscribeUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(root) },
        body: JSON.stringify(subscription.toJSON()),
      }).then(function (response) {
        if (!response.ok) {
          throw new Error("subscribe " + response.status);
        }
      });
    }

    function subscribe(registration, key) {
      var options = { userVisibleOnly: true, applicationServerKey: keyBytes(key) };
      return registration.pushManager.getSubscription().then(function (old) {
        if (old && !madeWith(old, key)) {
          return old.unsubscribe().then(function () {
            return registration.pushManager.subscribe(options);
          });
        }
        return registration.pushManager.subscribe(options);
      });
    }

    function existing(key) {
      return navigator.serviceWorker.getRegistration("/").then(function (registration) {
        if (!registration) {
          return null;
        }
        return registration.pushManager.getSubscription().then(function (subscription) {
          return subscription && madeWith(subscription, key) ? subscription : null;
        });
      });
    }

    button.addEventListener("click", function () {
      button.disabled = true;
      say("Asking this browser…");
      // Asked on the click only: browsers ignore or bury a request nobody asked for.
      askPermission()
        .then(function (answer) {
          if (answer === "denied") {
            button.hidden = true;
            say(BLOCKED);
            return null;
          }
          if (answer !== "granted") {
            offer();
            say(NOT_NOW);
            return null;
          }
          return Promise.all([
            publicKey(),
            navigator.serviceWorker.register(root.dataset.workerUrl, { scope: "/" }),
          ]).then(function (found) {
            if (!found[0]) {
              throw new Error("push is not set up");
            }
            return navigator.serviceWorker.ready
              .then(function (registration) {
                return subscribe(registration, found[0]);
              })
              .then(keep)
              .then(turnedOn);
          });
        })
        .catch(function () {
          offer();
          say(FAILED);
        });
    });

    if (!supported()) {
      say(UNSUPPORTED);
      return;
    }
    publicKey()
      .then(function (key) {
        if (!key) {
          return; // push is not set up here: nothing to offer
        }
        if (Notification.permission === "denied") {
          say(BLOCKED);
          return;
        }
        return existing(key).then(function (subscription) {
          if (subscription && Notification.permission === "granted") {
            // Sent again on each page: the browser may have renewed it, and the person signed
            // in now is the one this device should tell.
            return keep(subscription).then(turnedOn);
          }
          offer();
        });
      })
      .catch(function () {
        offer();
      });
  }

  document.querySelectorAll("[data-push]").forEach(function (root) {
    // The partial may be included twice on a page, and this script with it.
    if (root.dataset.pushReady) {
      return;
    }
    root.dataset.pushReady = "1";
    setUp(root);
  });
})();
