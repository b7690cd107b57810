// The office's live board: countdowns tick every second, new alerts sound until acknowledged,
// and a lost connection is shown rather than leaving stale times on screen.
(function () {
  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.deadline) - now) / 1000);
      var abs = Math.abs(left);
      var text = (abs >= 3600 ? Math.floor(abs / 3600) + ":" + pad(Math.floor(abs % 3600 / 60)) : Math.floor(abs / 60)) + ":" + pad(abs % 60);
      el.textContent = left >= 0 ? "alert in " + text : "overdue " + text;
      el.classList.toggle("text-danger", left < 0);
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);
  tick();

  // Browsers allow sound only after a click on the page: the office turns it on once a day.
  var audio = null;
  var soundOn = sessionStorage.getItem("board-sound") === "on";
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
      sessionStorage.setItem("board-sound", soundOn ? "on" : "off");
      if (soundOn) { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); beep(); }
      showSound();
    });
  }
  showSound();
  function beep() {
    if (!soundOn) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.35].forEach(function (offset) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.frequency.value = 880;
        gain.gain.value = 0.25;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(audio.currentTime + offset);
        osc.stop(audio.currentTime + offset + 0.22);
      });
    } catch (e) { /* no audio device: the flashing alert remains */ }
  }
  // Sound every few seconds while any alert is unacknowledged.
  setInterval(function () {
    if (document.querySelector("[data-unacknowledged]")) beep();
  }, 4000);

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
