// The office's live board: countdowns tick every second; alerts nobody has answered sound,
// flash and retitle the tab until someone does, the police step loudest of all; a browser
// notification is shown when the tab is hidden; a lost connection is shown rather than
// leaving stale times on screen.
(function () {
  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function span(seconds) {
    var abs = Math.abs(seconds);
    return (abs >= 3600 ? Math.floor(abs / 3600) + ":" + pad(Math.floor(abs % 3600 / 60)) : Math.floor(abs / 60)) + ":" + pad(abs % 60);
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      // The deadline is when the office is alerted (expected time plus the school's grace).
      var left = Math.round((Date.parse(el.dataset.deadline) - now) / 1000);
      el.textContent = left >= 0 ? "in " + span(left) : "now";
      el.classList.toggle("text-danger", left < 60);
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);
  tick();

  // Browsers allow sound only after a click on the page; the choice is kept on this device.
  var audio = null;
  var soundOn = localStorage.getItem("board-sound") === "on";
  var button = document.getElementById("sound-toggle");
  function showSound() {
    if (!button) return;
    button.textContent = soundOn ? "Alert sound on" : "Turn on alert sound";
    button.setAttribute("aria-pressed", soundOn ? "true" : "false");
    button.classList.toggle("btn-dark", soundOn);
    button.classList.toggle("btn-outline-dark", !soundOn);
  }
  if (button) {
    button.addEventListener("click", function () {
      soundOn = !soundOn;
      localStorage.setItem("board-sound", soundOn ? "on" : "off");
      if (soundOn) {
        audio = audio || new (window.AudioContext || window.webkitAudioContext)();
        beep(false);
        // Asked on this click, never on load: a notification when the board is hidden.
        if (window.Notification && Notification.permission === "default") Notification.requestPermission();
      }
      showSound();
    });
  }
  showSound();
  // A sound turned on earlier needs one click on the page before the browser plays it.
  document.addEventListener("click", function () {
    if (soundOn && !audio) { try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { /* none */ } }
  }, { once: true });

  function beep(police) {
    if (!soundOn) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var offsets = police ? [0, 0.25, 0.5, 0.75] : [0, 0.35];
      offsets.forEach(function (offset, i) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.frequency.value = police ? (i % 2 ? 660 : 990) : 880;
        gain.gain.value = police ? 0.4 : 0.25;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(audio.currentTime + offset);
        osc.stop(audio.currentTime + offset + 0.2);
      });
    } catch (e) { /* no audio device: the flashing alert remains */ }
  }

  var title = document.title;
  var told = {};
  function unanswered() { return document.querySelectorAll("[data-unacknowledged]"); }
  function police() { return document.querySelector("[data-unacknowledged][data-step='2']"); }
  function announce() {
    var open = unanswered();
    var isPolice = !!police();
    document.title = open.length ? (isPolice ? "(!) POLICE STEP – " : "(!) ALERT – ") + title : title;
    // A browser notification for each new unanswered alert, while the board is hidden.
    open.forEach(function (el) {
      var key = el.dataset.alert + ":" + el.dataset.step;
      if (told[key]) return;
      told[key] = true;
      if (document.hidden && window.Notification && Notification.permission === "granted") {
        var heading = el.dataset.step === "2" ? "POLICE STEP: staff may be in danger" : "Home visit overdue";
        var note = new Notification(heading, { body: "Open the board and deal with it now.", tag: "alert-" + key, requireInteraction: true });
        note.onclick = function () { window.focus(); note.close(); };
      }
    });
  }
  document.addEventListener("htmx:afterSwap", announce);
  announce();
  // Sound every few seconds while any alert is unanswered; the police step more urgently.
  setInterval(function () {
    if (police()) beep(true);
    else if (unanswered().length) beep(false);
  }, 3000);

  var lost = document.getElementById("connection-lost");
  document.body.addEventListener("htmx:sendError", function () { lost && lost.classList.remove("d-none"); });
  document.body.addEventListener("htmx:responseError", function () { lost && lost.classList.remove("d-none"); });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful && lost) lost.classList.add("d-none");
  });
  // htmx posts need the CSRF token; the board's forms carry it, the polling GETs do not need it.
  document.body.addEventListener("htmx:configRequest", function (event) {
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (token) event.detail.headers["X-CSRFToken"] = token.value;
  });
})();
