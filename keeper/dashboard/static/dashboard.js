// The dashboard's only script: charts (uPlot) and the signed-control form. No build step.
(function () {
  "use strict";

  // data-series: [[unix time, value, value, ...], ...]; data-labels: one name per value column
  function valueChart(el) {
    var points = JSON.parse(el.dataset.series);
    var labels = el.dataset.labels ? JSON.parse(el.dataset.labels) : ["value (USD)"];
    var colors = ["#3b5bdb", "#868e96", "#e8590c"];
    var data = [points.map(function (p) { return p[0]; })];
    var series = [{}];
    labels.forEach(function (label, i) {
      data.push(points.map(function (p) { return p[i + 1]; }));
      series.push({
        label: label, stroke: colors[i % colors.length], width: 2,
        dash: i > 0 ? [6, 4] : undefined, fill: i === 0 ? "rgba(59,91,219,0.08)" : undefined,
      });
    });
    var opts = {
      width: el.clientWidth || 560, height: 220, series: series,
      axes: [{}, { values: function (u, vals) { return vals.map(function (v) { return "$" + Math.round(v).toLocaleString(); }); }, size: 80 }],
      legend: { show: labels.length > 1 },
    };
    new uPlot(opts, data, el);
  }

  function controls(section) {
    var owner = section.dataset.owner;
    var typed = document.getElementById("typed-data");
    var signature = document.getElementById("signature");
    var result = document.getElementById("control-result");
    var current = null;

    function show(text, cls) { result.textContent = text; result.className = "small " + (cls || ""); }

    section.querySelectorAll("button[data-action]").forEach(function (button) {
      button.addEventListener("click", function () {
        var action = button.dataset.action;
        var url = "/api/owners/" + owner + "/controls/typed-data?action=" + encodeURIComponent(action);
        if (action === "targets") {
          url += "&targets=" + encodeURIComponent(document.getElementById("targets-input").value);
        }
        fetch(url).then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
          .then(function (answer) {
            if (!answer[0]) { show(answer[1].detail, "refused"); return; }
            current = answer[1];
            typed.value = JSON.stringify(current, null, 1);
            signature.value = "";
            show("Prepared '" + action + "': sign it, then Send.");
          });
      });
    });

    document.getElementById("wallet-sign").addEventListener("click", function () {
      if (!current) { show("Prepare a request first.", "refused"); return; }
      if (!window.ethereum) { show("No wallet in this browser: sign with `keeper dashboard control` and paste the signature.", "refused"); return; }
      window.ethereum.request({ method: "eth_signTypedData_v4", params: [owner, JSON.stringify(current)] })
        .then(function (sig) { signature.value = sig; show("Signed by the wallet: Send it."); })
        .catch(function (err) { show("Wallet: " + err.message, "refused"); });
    });

    document.getElementById("send-control").addEventListener("click", function () {
      if (!current) { show("Prepare a request first.", "refused"); return; }
      var body = { request: current.message, signature: signature.value.trim() };
      fetch("/api/owners/" + owner + "/controls", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      }).then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
        .then(function (answer) {
          if (!answer[0]) { show("Refused: " + answer[1].detail, "refused"); return; }
          var state = answer[1];
          show("Done: " + state.action + " (strategy " + (state.paused ? "paused" : "active") + ")", "ok");
          var badge = document.getElementById("paused-badge");
          if (badge) { badge.textContent = state.paused ? "paused" : "active"; badge.className = "badge " + (state.paused ? "warn" : "ok"); }
          current = null;
        });
    });
  }

  document.querySelectorAll(".chart[data-series]").forEach(valueChart);
  var section = document.getElementById("controls");
  if (section) { controls(section); }
})();
