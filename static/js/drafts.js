// Minutes typed on a shared tablet are kept in localStorage until the server has them
// (minutes.js, minutes_leftover.js). They are the pupil's record: the next person to pick up
// the tablet must not find them. They go when the person signs out (the sign-out button, or
// idle.js after the idle time) and on any page seen while nobody is signed in, which covers a
// session that ended on the server (sign-out elsewhere, idle time, a closed browser).
(function () {
  "use strict";
  var PREFIX = "homevisits:minutes:"; // minutes.js: the words and the signatures of each minutes

  function kept() {
    var keys = [];
    try {
      for (var i = 0; i < localStorage.length; i += 1) {
        var key = localStorage.key(i);
        if (key && key.indexOf(PREFIX) === 0) keys.push(key);
      }
    } catch (error) {
      // Storage switched off: nothing was kept.
    }
    return keys;
  }

  function wipe() {
    kept().forEach(function (key) { localStorage.removeItem(key); });
  }
  window.homevisitsDrafts = { wipe: wipe };

  if (document.body.dataset.signedIn !== "yes") {
    wipe();
  }
  document.addEventListener("submit", function (event) {
    if (!event.target.matches("[data-sign-out]")) return;
    // A copy still here has not reached the school yet (minutes.js removes it once saved):
    // say so before it goes, so words typed offline are not lost without a word.
    if (kept().length && !event.target.dataset.idle &&
        !window.confirm("Minutes typed on this device have not reached the school yet " +
                        "(no connection). Signing out deletes them from this device. " +
                        "Press Cancel, connect to the internet and wait for \"Saved\" to keep them.")) {
      event.preventDefault();
      return;
    }
    wipe();
  }, true); // capture: before homevisits.js's double-submit guard, which leaves a cancelled form usable
})();
