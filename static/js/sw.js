// The service worker: shows the alerts the server pushes (notifications/push/transport.py
// makes their JSON), and opens the page an alert links to when it is tapped. Served at /sw.js
// (notifications/push/views.py) so that it may open any page of the site.
"use strict";

var FALLBACK_TITLE = "Home visits alert";
// Long buzzes, for a phone in a pocket or a bag.
var VIBRATE = [500, 200, 500, 200, 500];

self.addEventListener("install", function () {
  // A new version takes over at once: an alert must not wait for every tab to close.
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function readPush(event) {
  if (!event.data) {
    return {};
  }
  try {
    return event.data.json() || {};
  } catch (error) {
    // Not JSON: still show what came, rather than nothing.
    return { body: event.data.text() };
  }
}

// Only a page of this site: a push naming another site is not followed.
function pageUrl(url) {
  try {
    var target = new URL(url || "/", self.location.origin);
    if (target.origin === self.location.origin) {
      return target.href;
    }
  } catch (error) {
    // fall through to the home page
  }
  return new URL("/", self.location.origin).href;
}

self.addEventListener("push", function (event) {
  var data = readPush(event);
  // renotify needs a tag: without one the browser refuses to show the notification at all.
  var tag = data.tag || "homevisits";
  var options = {
    body: data.body || "",
    tag: tag,
    // A newer alert about the same thing replaces the older one, and still rings and buzzes.
    renotify: true,
    requireInteraction: data.requireInteraction !== false,
    vibrate: VIBRATE,
    data: { url: pageUrl(data.url) },
  };
  event.waitUntil(self.registration.showNotification(data.title || FALLBACK_TITLE, options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = pageUrl(event.notification.data && event.notification.data.url);
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (tabs) {
      for (var i = 0; i < tabs.length; i += 1) {
        if (tabs[i].url === url && "focus" in tabs[i]) {
          return tabs[i].focus();
        }
      }
      // Another tab of the site is left where it is (the board may be on a wall screen): the
      // alert's page opens in a tab of its own.
      if (self.clients.openWindow) {
        return self.clients.openWindow(url);
      }
      return undefined;
    })
  );
});
