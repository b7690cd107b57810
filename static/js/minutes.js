// The minutes on the tablet (A1, A3): nothing typed is lost on a weak connection.
//
// - `shadow` holds the values the server last gave; a save sends, for each changed field, that
//   value as its `base`, so the server can tell when someone else changed the field meanwhile.
// - Every keystroke is kept in localStorage (one copy per minutes and person) until the server
//   has accepted it; a reload, a crash or a dropped connection loses nothing.
// - A field changed by someone else is never overwritten silently: both versions are shown and
//   the person chooses.
(function () {
  "use strict";

  var root = document.getElementById("minutes");
  var pageData = document.getElementById("minutes-page");
  if (!root || !pageData) {
    return;
  }
  var page = JSON.parse(pageData.textContent);
  var SAVE_EVERY_MS = 3000;
  var REFRESH_EVERY_MS = 15000;
  var FETCH_TIMEOUT_MS = 15000;
  var storeKey = "homevisits:minutes:" + page.id + ":user:" + page.user;
  var signatureKey = storeKey + ":signature:";
  var submitForm = document.getElementById("submit-form");
  var csrfToken = submitForm.querySelector("[name=csrfmiddlewaretoken]").value;
  var statusLine = document.getElementById("save-status");
  var errorBox = document.getElementById("save-error");
  var conflictBox = document.getElementById("conflicts");

  var shadow = clone(page.values); // the server's values as this page last saw them
  var dirty = {}; // field -> true: changed here, not yet accepted by the server
  var sendBase = {}; // field -> base to send instead of the shadow (a copy kept from before)
  var conflicts = {}; // field -> {base, theirs, by, at}: waiting for the person to choose
  var inFlight = null;
  var offline = false;
  var refusal = null; // the server refused the last save: wait for the next change
  var lastSavedAt = null;
  var rowCount = 0;

  // --- Values ----------------------------------------------------------------------------

  function clone(value) {
    return JSON.parse(JSON.stringify(value));
  }

  // The same value whatever the key order (PostgreSQL's jsonb does not keep it).
  function canon(value) {
    if (Array.isArray(value)) {
      return "[" + value.map(canon).join(",") + "]";
    }
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort().map(function (key) {
        return JSON.stringify(key) + ":" + canon(value[key]);
      }).join(",") + "}";
    }
    return JSON.stringify(value === undefined ? null : value);
  }

  function same(a, b) {
    return canon(a) === canon(b);
  }

  function fieldElement(name) {
    return root.querySelector("[data-field='" + name + "']");
  }

  function fieldNames() {
    return Object.keys(page.values).filter(fieldElement);
  }

  function yesNo(container) {
    var checked = container.querySelector("input[type=radio]:checked");
    return checked ? checked.value === "yes" : null;
  }

  function setYesNo(container, value) {
    container.querySelectorAll("input[type=radio]").forEach(function (input) {
      input.checked = value !== null && value !== undefined && (input.value === "yes") === value;
    });
  }

  function part(row, name) {
    return row.querySelector("[data-part='" + name + "']");
  }

  function readField(name) {
    var element = fieldElement(name);
    var kind = element.dataset.kind;
    if (kind === "yesno") {
      return yesNo(element);
    }
    if (kind === "people") {
      return Array.prototype.map.call(element.querySelectorAll(".person-row"), function (row) {
        return {
          name: part(row, "name").value,
          relationship: part(row, "relationship").value,
          parental_responsibility: yesNo(part(row, "pr")),
        };
      });
    }
    if (kind === "actions") {
      return Array.prototype.map.call(element.querySelectorAll(".action-row"), function (row) {
        var owner = part(row, "owner").value;
        return {
          description: part(row, "description").value,
          owner: owner ? parseInt(owner, 10) : null,
          due_on: part(row, "due_on").value,
        };
      });
    }
    if (element.type === "date") {
      return element.value || null;
    }
    return element.value;
  }

  function writeField(name, value) {
    if (same(readField(name), value)) {
      return;
    }
    var element = fieldElement(name);
    var kind = element.dataset.kind;
    if (kind === "yesno") {
      setYesNo(element, value);
    } else if (kind === "people" || kind === "actions") {
      element.innerHTML = "";
      (value || []).forEach(function (item) {
        addRow(name, item);
      });
    } else {
      element.value = value === null || value === undefined ? "" : value;
    }
  }

  function addRow(name, item) {
    var template = document.getElementById(name === "present" ? "person-row" : "action-row");
    var row = template.content.firstElementChild.cloneNode(true);
    rowCount += 1;
    var prefix = "row" + rowCount + "-";
    // Unique ids, so each label names its input (touch targets and screen readers).
    row.querySelectorAll("[data-part]").forEach(function (input) {
      if (input.matches("input, textarea, select")) {
        input.id = prefix + input.dataset.part;
        var label = input.parentElement.querySelector("label");
        if (label) {
          label.htmlFor = input.id;
        }
      }
    });
    row.querySelectorAll(".btn-check").forEach(function (radio, index) {
      radio.name = prefix + "pr";
      radio.id = prefix + "pr-" + radio.value;
      radio.nextElementSibling.htmlFor = radio.id;
      radio.setAttribute("aria-label", "Parental responsibility: " + (index ? "no" : "yes"));
    });
    item = item || {};
    if (name === "present") {
      part(row, "name").value = item.name || "";
      part(row, "relationship").value = item.relationship || "";
      setYesNo(part(row, "pr"), item.parental_responsibility);
    } else {
      part(row, "description").value = item.description || "";
      part(row, "owner").value = item.owner ? String(item.owner) : "";
      part(row, "due_on").value = item.due_on || "";
    }
    fieldElement(name).appendChild(row);
    return row;
  }

  // --- The copy kept on this tablet ----------------------------------------------------------

  function readLocal() {
    try {
      return JSON.parse(localStorage.getItem(storeKey) || "null");
    } catch (error) {
      return null;
    }
  }

  function baseFor(name) {
    if (conflicts[name]) {
      return conflicts[name].base;
    }
    return name in sendBase ? sendBase[name] : shadow[name];
  }

  // The copy is shared by every tab of this person on these minutes: each tab writes only the
  // fields it has typed in, and removes a field only once the server holds exactly that text,
  // so one tab never wipes words another tab has not sent yet.
  function writeLocal() {
    var names = Object.keys(dirty);
    try {
      var copy = readLocal() || {};
      copy.base = copy.base || {};
      copy.values = copy.values || {};
      Object.keys(copy.values).forEach(function (name) {
        if (!dirty[name] && name in shadow && same(copy.values[name], shadow[name])) {
          delete copy.values[name];
          delete copy.base[name];
        }
      });
      names.forEach(function (name) {
        copy.base[name] = baseFor(name);
        copy.values[name] = readField(name);
      });
      if (!Object.keys(copy.values).length) {
        localStorage.removeItem(storeKey);
        return;
      }
      copy.revision = page.revision;
      copy.at = new Date().toISOString();
      localStorage.setItem(storeKey, JSON.stringify(copy));
    } catch (error) {
      // Storage full or switched off: the server's copy still counts; say so.
      showError("This tablet cannot keep a copy: stay online until it says Saved.");
    }
  }

  // A copy from before a reload or a dropped connection: typed here, never accepted by the
  // server. It goes back on the form and is sent with the base it was typed against, so a
  // change made on another device since is a conflict, not overwritten.
  function applyLocal() {
    var copy = readLocal();
    if (!copy || !copy.values) {
      return;
    }
    Object.keys(copy.values).forEach(function (name) {
      if (!(name in shadow) || !fieldElement(name) || same(copy.values[name], shadow[name])) {
        return;
      }
      writeField(name, copy.values[name]);
      dirty[name] = true;
      if (copy.base && name in copy.base) {
        sendBase[name] = copy.base[name];
      }
    });
    writeLocal();
  }

  // --- Status ------------------------------------------------------------------------------

  function showError(message) {
    errorBox.textContent = message || "";
    errorBox.classList.toggle("d-none", !message);
  }

  function setStatus(state, text) {
    statusLine.dataset.state = state;
    statusLine.textContent = text;
    statusLine.className = "save-status badge fs-6 " + {
      saved: "text-bg-success",
      saving: "text-bg-light border",
      offline: "text-bg-warning",
      conflict: "text-bg-danger",
      refused: "text-bg-danger",
      idle: "text-bg-light border",
    }[state];
  }

  function refreshStatus() {
    if (Object.keys(conflicts).length) {
      setStatus("conflict", "Conflict");
    } else if (refusal) {
      setStatus("refused", "Not saved");
    } else if (offline) {
      setStatus("offline", "Offline – kept on this tablet");
    } else if (inFlight || Object.keys(dirty).length) {
      setStatus("saving", "Saving…");
    } else if (lastSavedAt) {
      setStatus("saved", "Saved " + lastSavedAt);
    }
    showError(refusal);
  }

  function goOffline() {
    offline = true;
    refreshStatus();
  }

  // --- Talking to the server ---------------------------------------------------------------

  // Resolves {status, data}; rejects {offline: true} when the network is down and
  // {signedOut: true} when the answer is not ours (a login page after the session ended).
  // A `background` request is the page's own refresh, not the person: it must not keep a
  // session alive on a tablet left on this page (accounts/idle.py).
  function postJSON(url, body, background) {
    if (navigator.onLine === false) {
      return Promise.reject({ offline: true });
    }
    // A connection that hangs rather than drops would leave "Saving…" for ever: give up after
    // a while and treat it as offline (the words stay on this tablet and go later).
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, FETCH_TIMEOUT_MS) : null;
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined,
      headers: Object.assign({
        "Content-Type": "application/json",
        "X-CSRFToken": csrfToken,
        "X-Requested-With": "fetch",
      }, background ? { "X-Background-Request": "1" } : {}),
      body: JSON.stringify(body),
    }).then(
      function (response) {
        clearTimeout(timer);
        var type = response.headers.get("Content-Type") || "";
        if (response.redirected || type.indexOf("application/json") === -1) {
          return Promise.reject({ signedOut: true, status: response.status });
        }
        return response.json().then(function (data) {
          return { status: response.status, data: data };
        });
      },
      function () {
        clearTimeout(timer);
        return Promise.reject({ offline: true });
      }
    );
  }

  function sendable() {
    var changes = {};
    Object.keys(dirty).forEach(function (name) {
      if (conflicts[name]) {
        return;
      }
      var value = readField(name);
      if (same(value, shadow[name])) {
        // Back to what the server holds: nothing to send, nothing to overwrite.
        delete dirty[name];
        delete sendBase[name];
        return;
      }
      changes[name] = { base: baseFor(name), value: value };
    });
    return changes;
  }

  // Saves what changed; resolves true when everything typed is on the server.
  function save(options) {
    if (inFlight) {
      return inFlight.then(function () {
        return save(options);
      });
    }
    var changes = sendable();
    var names = Object.keys(changes);
    var refreshing = options && options.refresh;
    if (!names.length && !refreshing) {
      writeLocal();
      refreshStatus();
      return Promise.resolve(!Object.keys(conflicts).length);
    }
    if (refusal && names.length) {
      return Promise.resolve(false);
    }
    if (names.length) {
      setStatus("saving", "Saving…");
    }
    inFlight = postJSON(page.urls.save, { changes: changes }, !names.length)
      .then(function (answer) {
        offline = false;
        if (answer.status !== 200) {
          refusal = answer.data.error || "The server refused the change.";
          return false;
        }
        accept(answer.data, changes);
        return true;
      })
      .catch(function (problem) {
        if (problem && problem.signedOut) {
          refusal = problem.status === 403
            ? "This page is out of date (signed in again elsewhere?): reload it. What you typed is kept on this tablet."
            : "You are signed out. Sign in again: what you typed is kept on this tablet.";
        } else {
          offline = true;
        }
        return false;
      })
      .then(function (ok) {
        inFlight = null;
        writeLocal();
        refreshStatus();
        return ok && !Object.keys(dirty).length && !Object.keys(conflicts).length;
      });
    return inFlight;
  }

  function accept(data, changes) {
    page.revision = data.revision;
    Object.keys(changes).forEach(function (name) {
      var conflict = data.conflicts[name];
      delete sendBase[name];
      if (conflict) {
        conflicts[name] = {
          base: changes[name].base,
          theirs: conflict.theirs,
          by: conflict.by,
          at: conflict.at,
        };
        shadow[name] = conflict.theirs;
        showConflict(name);
        return;
      }
      shadow[name] = data.values[name];
      if (same(readField(name), changes[name].value)) {
        delete dirty[name]; // unless typed again while this save was on its way
      }
    });
    // Fields this tablet has not touched take the newest text, from whichever device.
    Object.keys(data.values).forEach(function (name) {
      if (!fieldElement(name) || dirty[name] || conflicts[name]) {
        return;
      }
      shadow[name] = data.values[name];
      writeField(name, data.values[name]);
    });
    if (Object.keys(changes).length) {
      lastSavedAt = data.saved_at;
    }
  }

  // --- Conflicts ---------------------------------------------------------------------------

  function describe(name, value) {
    if (value === null || value === undefined || value === "") {
      return "(empty)";
    }
    if (value === true || value === false) {
      return value ? "Yes" : "No";
    }
    if (name === "present") {
      return value.map(function (p) {
        var pr = p.parental_responsibility;
        return (p.name || "(no name)") + (p.relationship ? ", " + p.relationship : "") +
          (pr === null ? "" : pr ? " (parental responsibility)" : " (no parental responsibility)");
      }).join("\n") || "(nobody)";
    }
    if (name === "action_plan") {
      var owners = {};
      page.owners.forEach(function (o) {
        owners[o.id] = o.name;
      });
      return value.map(function (a) {
        return (a.description || "(no description)") + " – " + (owners[a.owner] || "no owner") +
          ", due " + (a.due_on || "no date");
      }).join("\n") || "(no actions)";
    }
    return String(value);
  }

  function fieldLabel(name) {
    var element = fieldElement(name);
    var label = root.querySelector("label[for='" + element.id + "']") || element.querySelector("legend");
    if (!label) {
      var section = element.closest("section");
      label = section && section.querySelector("h2");
    }
    return label ? label.textContent.trim() : name;
  }

  function showConflict(name) {
    var old = conflictBox.querySelector("[data-conflict='" + name + "']");
    if (old) {
      old.remove();
    }
    var conflict = conflicts[name];
    var box = document.createElement("div");
    box.className = "alert alert-warning conflict";
    box.setAttribute("role", "alert");
    box.dataset.conflict = name;
    box.innerHTML =
      '<p class="fw-semibold mb-2"></p>' +
      '<div class="row g-2 mb-2"><div class="col-md-6"><div class="small fw-semibold">Their version</div>' +
      '<div class="preserve border rounded bg-white p-2" data-version="theirs"></div></div>' +
      '<div class="col-md-6"><div class="small fw-semibold">Your version</div>' +
      '<div class="preserve border rounded bg-white p-2" data-version="mine"></div></div></div>' +
      '<div class="d-flex flex-wrap gap-2"><button type="button" class="btn btn-outline-primary btn-lg" data-keep="theirs">Keep their version</button>' +
      '<button type="button" class="btn btn-primary btn-lg" data-keep="mine">Keep my version</button></div>';
    box.querySelector("p").textContent = fieldLabel(name) + ": changed by " + conflict.by +
      " at " + conflict.at + " while you were writing. Which version should stay?";
    box.querySelector("[data-version=theirs]").textContent = describe(name, conflict.theirs);
    box.querySelector("[data-version=mine]").textContent = describe(name, readField(name));
    box.addEventListener("click", function (event) {
      var keep = event.target.closest("[data-keep]");
      if (!keep) {
        return;
      }
      delete conflicts[name];
      if (keep.dataset.keep === "theirs") {
        delete dirty[name];
        writeField(name, shadow[name]);
      } else {
        dirty[name] = true; // sent again, against their version as the base
      }
      box.remove();
      writeLocal();
      save();
    });
    conflictBox.appendChild(box);
    refreshStatus();
  }

  function updateConflictMine(name) {
    var box = conflictBox.querySelector("[data-conflict='" + name + "'] [data-version=mine]");
    if (box) {
      box.textContent = describe(name, readField(name));
    }
  }

  // --- Typing ------------------------------------------------------------------------------

  function changed(name) {
    dirty[name] = true;
    refusal = null;
    writeLocal();
    updateConflictMine(name);
    refreshStatus();
  }

  function fieldOf(target) {
    var element = target.closest("[data-field]");
    return element && root.contains(element) ? element.dataset.field : null;
  }

  root.addEventListener("input", function (event) {
    var name = fieldOf(event.target);
    if (name) {
      changed(name);
    }
  });
  root.addEventListener("change", function (event) {
    var name = fieldOf(event.target);
    if (name) {
      changed(name);
      save();
    }
  });
  root.addEventListener("focusout", function (event) {
    var name = fieldOf(event.target);
    if (name && dirty[name]) {
      save();
    }
  });
  root.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add]");
    var remove = event.target.closest("[data-remove]");
    if (add) {
      var row = addRow(add.dataset.add, null);
      changed(add.dataset.add);
      var first = row.querySelector("input, textarea");
      if (first) {
        first.focus();
      }
    } else if (remove) {
      var name = fieldOf(remove);
      remove.closest(".person-row, .action-row").remove();
      changed(name);
      save();
    }
  });

  window.addEventListener("online", function () {
    offline = false;
    refreshStatus();
    save();
    sendSignatures();
  });
  window.addEventListener("offline", goOffline);

  setInterval(function () {
    if (Object.keys(dirty).length) {
      save();
    }
  }, SAVE_EVERY_MS);
  // Someone else writing on another device: their text appears here in fields not touched.
  setInterval(function () {
    if (document.visibilityState === "visible" && !offline && !inFlight) {
      save({ refresh: true });
    }
  }, REFRESH_EVERY_MS);

  // --- Signatures (A3) ---------------------------------------------------------------------

  var pads = {};

  function signatureMessage(block, text, kind) {
    var message = part(block, "message");
    message.textContent = text;
    message.className = "small mt-1 " + (kind ? "text-" + kind : "");
  }

  function keptSignature(role) {
    try {
      return JSON.parse(localStorage.getItem(signatureKey + role) || "null");
    } catch (error) {
      return null;
    }
  }

  function sendSignature(block, role, signature) {
    return postJSON(page.urls.sign, {
      signer_role: role,
      signer_name: signature.name,
      image: signature.image,
    }).then(
      function (answer) {
        if (answer.status !== 200) {
          signatureMessage(block, answer.data.error || "The signature was refused.", "danger");
          return false;
        }
        localStorage.removeItem(signatureKey + role);
        var saved = block.querySelector(".signature-saved");
        saved.querySelector("img").src = answer.data.url + "?v=" + Date.now();
        part(saved, "saved-note").textContent = "Signed by " + answer.data.signer_name +
          ", saved " + answer.data.signed_at;
        saved.classList.remove("d-none");
        pads[role].clear();
        signatureMessage(block, "Signature saved.", "success");
        return true;
      },
      function (problem) {
        signatureMessage(
          block,
          problem && problem.signedOut
            ? "You are signed out: sign in again. The signature is kept on this tablet."
            : "Offline – the signature is kept on this tablet and sent when you are back online.",
          "warning"
        );
        return false;
      }
    );
  }

  function sendSignatures() {
    var sends = [];
    root.querySelectorAll("[data-signature]").forEach(function (block) {
      var role = block.dataset.signature;
      var kept = keptSignature(role);
      if (kept) {
        sends.push(sendSignature(block, role, kept));
      }
    });
    return Promise.all(sends).then(function (results) {
      return results.every(Boolean);
    });
  }

  function setUpSignature(block) {
    var role = block.dataset.signature;
    var canvas = block.querySelector("canvas");
    var pad = new window.SignaturePad(canvas, { minWidth: 1, maxWidth: 3, backgroundColor: "rgb(255,255,255)" });
    var width = 0;
    pads[role] = pad;
    function fit() {
      // Draw sharp on high-density screens; resize only when the width really changes
      // (phones fire resize as the address bar hides).
      if (canvas.offsetWidth === width) {
        return;
      }
      width = canvas.offsetWidth;
      var ratio = Math.max(window.devicePixelRatio || 1, 1);
      var strokes = pad.toData();
      canvas.width = canvas.offsetWidth * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      pad.clear();
      pad.fromData(strokes);
    }
    fit();
    window.addEventListener("resize", fit);
    part(block, "clear").addEventListener("click", function () {
      pad.clear();
      signatureMessage(block, "");
    });
    part(block, "save").addEventListener("click", function () {
      var name = part(block, "signer_name").value.trim();
      if (!name) {
        signatureMessage(block, "Write the name of the person signing.", "danger");
        part(block, "signer_name").focus();
        return;
      }
      if (pad.isEmpty()) {
        signatureMessage(block, "Sign in the box first.", "danger");
        return;
      }
      var signature = { name: name, image: pad.toDataURL("image/png") };
      try {
        localStorage.setItem(signatureKey + role, JSON.stringify(signature));
      } catch (error) {
        // Kept on the page until it is sent.
      }
      signatureMessage(block, "Saving…");
      sendSignature(block, role, signature);
    });
    if (keptSignature(role)) {
      signatureMessage(block, "A signature kept on this tablet is being sent…", "warning");
    }
  }

  if (window.SignaturePad) {
    root.querySelectorAll("[data-signature]").forEach(setUpSignature);
  }

  // --- Submitting --------------------------------------------------------------------------

  function flush() {
    return save().then(function (ok) {
      // One more round for anything typed while the first save was on its way.
      return ok || Object.keys(sendable()).length === 0 ? ok : save();
    });
  }

  var submitting = false;
  submitForm.addEventListener("submit", function (event) {
    // This form manages its own second tap (homevisits.js would disable it for good).
    event.preventDefault();
    event.stopPropagation();
    if (submitting) {
      return;
    }
    var button = submitForm.querySelector("button[type=submit]");
    submitting = true;
    button.disabled = true;
    if (navigator.onLine === false) {
      goOffline();
    }
    Promise.all([flush(), sendSignatures()]).then(function (results) {
      if (results[0] && results[1] && !offline) {
        localStorage.removeItem(storeKey);
        submitForm.submit();
        return;
      }
      submitting = false;
      button.disabled = false;
      if (offline) {
        showError("Offline: the minutes are kept on this tablet. Submit them when you are back online.");
      } else if (Object.keys(conflicts).length) {
        showError("Choose a version for each conflict before submitting.");
      } else if (!refusal) {
        showError("Not everything is saved yet: try again in a moment.");
      }
    });
  });

  // --- Start -------------------------------------------------------------------------------

  fieldNames().forEach(function (name) {
    writeField(name, shadow[name]);
  });
  applyLocal();
  refreshStatus();
  if (Object.keys(dirty).length) {
    save();
  }
  sendSignatures();
})();
