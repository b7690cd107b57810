// Shared tablets and office PCs: after the idle time without a request the server signs the
// person out (accounts/idle.py). This page warns a couple of minutes before, with "Stay signed
// in", and at the end signs out itself, wiping the minutes kept on the device (drafts.js), so
// nobody finds the last person's page open. The server is asked how long is left before
// warning: a save of the minutes, or another tab, may have kept the session alive meanwhile.
// The live board is exempt: while it is open its polling keeps the office signed in.
(function () {
  "use strict";
  var body = document.body;
  var idleSeconds = parseInt(body.dataset.idleMinutes, 10) * 60;
  var pingUrl = body.dataset.idlePing;
  var dialog = document.getElementById("idle-warning");
  var signOutForm = document.querySelector("form[data-sign-out]");
  if (body.dataset.signedIn !== "yes" || body.dataset.idleExempt === "yes") return;
  if (!idleSeconds || !pingUrl || !dialog || !signOutForm) return;

  var WARN_SECONDS = Math.min(120, Math.floor(idleSeconds / 2));
  var RETRY_MS = 30000;
  var countdown = dialog.querySelector("[data-idle-countdown]");
  var timer = null;
  var ticker = null;
  var deadline = 0;
  var warnAt = 0;
  // A tap or a key since the server last heard from this page: the person is here, typing a
  // concern, say; tell the server rather than interrupt them.
  var touched = false;
  var leaving = false;

  function csrfToken() {
    var input = signOutForm.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // GET only asks how long is left; POST counts as activity. Resolves {signed_in, seconds_left},
  // or null when the answer is unknown (offline, a proxy's page): then nothing is wiped.
  function ask(method) {
    return fetch(pingUrl, {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    }).then(
      function (response) {
        return response.json().catch(function () { return null; });
      },
      function () { return null; }
    );
  }

  function mmss(seconds) {
    var s = Math.max(0, seconds);
    return Math.floor(s / 60) + ":" + (s % 60 < 10 ? "0" : "") + (s % 60);
  }

  function wait(seconds, then) {
    clearTimeout(timer);
    timer = setTimeout(then, Math.max(0, seconds) * 1000);
  }

  function schedule(secondsLeft) {
    deadline = Date.now() + secondsLeft * 1000;
    warnAt = deadline - WARN_SECONDS * 1000;
    wait((warnAt - Date.now()) / 1000, check);
  }

  function hide() {
    clearInterval(ticker);
    if (dialog.open) dialog.close();
  }

  function warn(secondsLeft) {
    deadline = Date.now() + secondsLeft * 1000;
    var tick = function () {
      countdown.textContent = mmss(Math.round((deadline - Date.now()) / 1000));
    };
    tick();
    clearInterval(ticker);
    ticker = setInterval(tick, 1000);
    if (!dialog.open) {
      if (dialog.showModal) dialog.showModal();
      else dialog.setAttribute("open", "");
      dialog.querySelector("[data-idle-stay]").focus();
    }
    // Asked again at the end: someone may have used another tab meanwhile.
    wait(secondsLeft + 1, check);
  }

  function signOut() {
    if (leaving) return;
    leaving = true;
    hide();
    if (window.homevisitsDrafts) window.homevisitsDrafts.wipe();
    // The server finds the session idle and lands on the sign-in page saying why.
    if (signOutForm.requestSubmit) signOutForm.requestSubmit();
    else signOutForm.submit();
  }

  function answer(data) {
    if (data === null) {
      wait(RETRY_MS / 1000, check);
      return;
    }
    if (!data.signed_in) {
      // Signed out already (elsewhere, or by the server): the sign-in page wipes the rest.
      if (window.homevisitsDrafts) window.homevisitsDrafts.wipe();
      window.location.assign(data.sign_in || window.location.href);
      return;
    }
    if (data.seconds_left <= 0) {
      signOut();
    } else if (data.seconds_left > WARN_SECONDS) {
      hide();
      schedule(data.seconds_left);
    } else {
      warn(data.seconds_left);
    }
  }

  function check() {
    var keepAlive = touched && !dialog.open;
    touched = false;
    ask(keepAlive ? "POST" : "GET").then(answer);
  }

  function stay() {
    ask("POST").then(answer);
  }

  ["pointerdown", "keydown"].forEach(function (type) {
    document.addEventListener(type, function () {
      if (!dialog.open) touched = true;
    }, { passive: true });
  });
  dialog.querySelector("[data-idle-stay]").addEventListener("click", stay);
  dialog.querySelector("[data-idle-leave]").addEventListener("click", signOut);
  // Escape closes a modal dialog: the person is here.
  dialog.addEventListener("cancel", function (event) {
    event.preventDefault();
    stay();
  });
  // Timers sleep with the computer: on waking, ask at once if the warning is due.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !leaving && Date.now() >= warnAt) check();
  });

  schedule(idleSeconds);
})();
