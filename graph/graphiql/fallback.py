"""A visible explanation, instead of "Loading..." forever, when the CDN's scripts do not load.

The page's first script listens for resource errors (load failures and SRI mismatches reach
a capturing listener on window; inline `onerror` attributes would break the nonce-only CSP)
and gives up after a timeout (a firewall that drops packets produces no error for minutes).
"""

import json

LOAD_ERROR_ID = "graphiql-load-error"
TIMEOUT_MS = 10_000
MESSAGE = (
    "GraphiQL could not load its scripts from https://unpkg.com (offline, blocked by a "
    "firewall or proxy, or too slow). The API itself works; to use GraphiQL here, let this "
    "server serve the files: set GRAPHIQL_ASSETS_DIR (README, GraphiQL without a CDN)."
)

_SCRIPT = """
    <script>
      (function () {
        var MESSAGE = %(message)s;
        function show(detail) {
          if (document.getElementById(%(id)s)) return;
          var box = document.createElement("div");
          box.id = %(id)s;
          box.setAttribute("role", "alert");
          box.style.cssText = "margin:2em auto;max-width:42em;padding:1em;" +
            "font:16px/1.5 system-ui,sans-serif;color:#8a1c1c;border:1px solid #d9a0a0";
          box.textContent = MESSAGE + " (" + detail + ")";
          function place() {
            var page = document.getElementById("graphiql");
            if (page) page.textContent = "";
            document.body.insertBefore(box, document.body.firstChild);
          }
          if (document.body) place();
          else {
            document.documentElement.appendChild(box);
            document.addEventListener("DOMContentLoaded", place);
          }
        }
        window.addEventListener("error", function (event) {
          var target = event.target;
          if (target && target.tagName === "SCRIPT" && target.src) {
            show("failed: " + target.src);
          }
        }, true);
        setTimeout(function () {
          if (typeof window.GraphiQL === "undefined") show("timed out after %(seconds)d s");
        }, %(timeout)d);
      })();
    </script>"""


def with_load_failure_message(html: str) -> str:
    """The page with the watchdog script as the first thing in its <head>."""
    script = _SCRIPT % {
        "message": _js_string(MESSAGE),
        "id": _js_string(LOAD_ERROR_ID),
        "timeout": TIMEOUT_MS,
        "seconds": TIMEOUT_MS // 1000,
    }
    return html.replace("<head>", "<head>" + script, 1)


def _js_string(text: str) -> str:
    return json.dumps(text)
