// Polls the API and updates the running executions' progress, ETA and deadline risk.
(function () {
  "use strict";
  // A job name as one segment of an address: every character but letters, digits and
  // "_.-~" escaped, exactly as the pages' Python (urllib's quote with safe="") does.
  function jobSegment(name) {
    return encodeURIComponent(name).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  // A job's page, or null for a name no address can hold ("/" in it, "." or ".."):
  // such names are refused for new jobs, a history may hold some from before.
  function jobHref(name) {
    if (name.indexOf("/") >= 0 || name === "." || name === "..") return null;
    return "/jobs/" + jobSegment(name);
  }
  function jobCell(name) {
    var td = document.createElement("td");
    var href = jobHref(name);
    var a = document.createElement("a");
    if (href === null) {
      td.appendChild(document.createTextNode(name + " "));
      a.className = "muted no-page";
      a.title = "a name from before '/', '.' and '..' were refused: it has no page; this lists its executions (JSON)";
      a.href = "/api/v1/executions?job=" + jobSegment(name);
      a.textContent = "(executions)";
    } else {
      a.href = href;
      a.textContent = name;
    }
    td.appendChild(a);
    return td;
  }
  window.jobcastLinks = { jobSegment: jobSegment, jobHref: jobHref };
  function secs(v) {
    if (v === null || v === undefined) return "";
    v = Math.max(0, Math.round(v));
    var h = Math.floor(v / 3600), m = Math.floor((v % 3600) / 60), s = v % 60;
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
  }
  function cell(text, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text;
    return td;
  }
  function row(ex, eta) {
    var tr = document.createElement("tr");
    tr.dataset.execution = ex.id;
    tr.dataset.job = ex.job;
    tr.appendChild(jobCell(ex.job));
    tr.appendChild(cell(ex.id));
    var p = eta && eta.progress !== null && eta.progress !== undefined ? eta.progress : null;
    var bar = document.createElement("td");
    bar.innerHTML = '<div class="bar"><div></div></div> <span class="pct"></span>';
    bar.querySelector(".bar > div").style.width = (p === null ? 0 : 100 * p).toFixed(1) + "%";
    bar.querySelector(".pct").textContent = p === null ? "" : (100 * p).toFixed(1) + " %";
    tr.appendChild(bar);
    tr.appendChild(cell(eta ? secs(eta.elapsed_s) : "", "elapsed"));
    var remaining = cell(eta ? secs(eta.remaining_s) : "", "remaining");
    if (eta && eta.warnings && eta.warnings.length) {
      var warn = document.createElement("span");
      warn.className = "warn";
      warn.title = eta.warnings.join("; ");
      warn.textContent = " ⚠";
      remaining.appendChild(warn);
    }
    tr.appendChild(remaining);
    tr.appendChild(cell(eta && eta.finish_at ? eta.finish_at : "", "finish"));
    tr.appendChild(cell(eta && eta.interval_s ? secs(eta.interval_s[0]) + " – " + secs(eta.interval_s[1]) : "", "interval"));
    var r = eta && eta.deadline_risk !== null && eta.deadline_risk !== undefined ? eta.deadline_risk : null;
    tr.appendChild(cell(r === null ? "" : (100 * r).toFixed(0) + " %", r !== null && r >= 0.5 ? "risk risk-high" : "risk"));
    return tr;
  }
  async function refresh() {
    var body = document.querySelector("#running tbody");
    if (!body) return;
    try {
      var res = await fetch("/api/v1/executions?state=running", { credentials: "same-origin" });
      if (!res.ok) return;
      var list = (await res.json()).executions;
      var rows = await Promise.all(list.map(async function (ex) {
        // ids are unique within a job only: the job picks the execution
        var url = "/api/v1/executions/" + encodeURIComponent(ex.id) + "/eta?job=" + encodeURIComponent(ex.job);
        var e = await fetch(url, { credentials: "same-origin" });
        return row(ex, e.ok ? await e.json() : null);
      }));
      body.replaceChildren.apply(body, rows);
      if (!rows.length) {
        var tr = document.createElement("tr");
        tr.className = "none";
        var td = cell("nothing is running", "muted");
        td.colSpan = 8;
        tr.appendChild(td);
        body.appendChild(tr);
      }
      document.body.dataset.refreshed = new Date().toISOString();
    } catch (err) {
      console.log("refresh failed", err);
    }
  }
  refresh();
  setInterval(refresh, 2000);
})();
