/// The console's stylesheet and script, served from the binary.
enum ConsoleAssets {
    static let css = """
        :root { --ink: #1b1b1b; --muted: #555; --line: #c8c8c8; --accent: #1f4e79; --accent-ink: #fff; --bg: #fafaf8;
          --ok: #e6f2e6; --ok-line: #2e6b2e; --bad: #fbeaea; --bad-line: #9b1c1c; font-size: 100%; }
        * { box-sizing: border-box; }
        body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); line-height: 1.5; }
        a { color: var(--accent); }
        :focus-visible { outline: 3px solid #f0a000; outline-offset: 2px; }
        .skip { position: absolute; left: -999px; }
        .skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 2; }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .5rem 1.25rem; background: #fff; border-bottom: 1px solid var(--line); }
        .brand { margin: 0; font-weight: 700; }
        .brand a { color: var(--ink); text-decoration: none; }
        nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .25rem .9rem; }
        nav a { text-decoration: none; padding: .2rem 0; }
        nav a[aria-current="page"] { font-weight: 700; border-bottom: 3px solid var(--accent); }
        .sign-out { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
        main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
        h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
        h2 { font-size: 1.2rem; margin: 1.75rem 0 .5rem; }
        .lead { font-size: 1.1rem; }
        .muted, small { color: var(--muted); }
        .notice { background: var(--ok); border-left: 4px solid var(--ok-line); padding: .6rem .9rem; }
        .error { background: var(--bad); border-left: 4px solid var(--bad-line); padding: .6rem .9rem; }
        .empty { color: var(--muted); font-style: italic; }
        .narrow { max-width: 24rem; margin: 2rem auto; }
        form.stack { display: grid; gap: .35rem; max-width: 30rem; margin: .5rem 0 1rem; }
        form.inline, form.search, form.filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .5rem 0; }
        label { font-weight: 600; }
        label.check { font-weight: 400; }
        input, select, textarea, button { font: inherit; }
        input, select, textarea { padding: .4rem .5rem; border: 1px solid #767676; border-radius: 4px; background: #fff; color: var(--ink); }
        button { padding: .45rem .9rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-ink); cursor: pointer; }
        button.secondary { background: #fff; color: var(--accent); }
        button.danger { background: var(--bad-line); border-color: var(--bad-line); }
        button.link { background: none; border: none; color: var(--accent); text-decoration: underline; padding: 0; }
        table { border-collapse: collapse; width: 100%; margin: .5rem 0; background: #fff; }
        th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-weight: 600; }
        .num { text-align: right; font-variant-numeric: tabular-nums; }
        .cards { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: .75rem; }
        .cards li a { display: block; padding: .8rem 1rem; background: #fff; border: 1px solid var(--line); border-radius: 6px; text-decoration: none; color: var(--ink); }
        .cards strong { font-size: 1.5rem; color: var(--accent); }
        .columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 1rem; }
        article.item { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .5rem 1rem; margin: .75rem 0; }
        article.item.resolved { opacity: .85; }
        article.item h2 { margin-top: .5rem; }
        .details { font-family: ui-monospace, monospace; font-size: .9rem; word-break: break-word; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
        dl.facts dt { font-weight: 600; }
        dl.facts dd { margin: 0; }
        .status { font-size: 1.15rem; padding: .5rem .8rem; border-left: 4px solid var(--line); background: #fff; }
        .status-active, .status-waived, .status-grace { border-color: var(--ok-line); }
        .status-expired, .status-suspended { border-color: var(--bad-line); }
        .ref, code.key { font-family: ui-monospace, monospace; word-break: break-all; }
        .timeline { padding-left: 1.25rem; }
        .timeline time { color: var(--muted); margin-right: .5rem; }
        .actions { display: grid; gap: .5rem; }
        details { margin: .5rem 0; }
        summary { cursor: pointer; color: var(--accent); font-weight: 600; }
        .tabs ul { gap: .25rem 1rem; margin-bottom: .75rem; }
        .chart svg { width: 100%; max-width: 44rem; height: auto; background: #fff; border: 1px solid var(--line); }
        .chart .grid { stroke: #e0e0e0; }
        .chart .axis, .chart .legend { font-size: 12px; fill: #333; }
        figcaption { color: var(--muted); font-size: .9rem; }
        progress { width: 100%; height: 1.2rem; }
        @media (max-width: 40rem) {
          main { padding: .75rem; }
          th, td { padding: .3rem; font-size: .95rem; }
          .sign-out { margin-left: 0; }
          table { display: block; overflow-x: auto; }
        }
        @media print { header.top, form, details { display: none; } }
        """

    /// Progressive: a file larger than an upload may hold is refused before it is sent (the server would close the
    /// connection half-way through it, which a browser shows as a broken connection), and an upload shows its
    /// progress; without the script the form posts as usual.
    static let javascript = """
        "use strict";
        document.addEventListener("DOMContentLoaded", function () {
          document.querySelectorAll("form[data-progress]").forEach(function (form) {
            var tooLarge = document.getElementById(form.getAttribute("data-too-large"));
            form.addEventListener("change", function () { if (tooLarge) { tooLarge.hidden = true; } });
            form.addEventListener("submit", function (event) {
              var max = parseInt(form.getAttribute("data-max-bytes"), 10);
              var input = form.querySelector("input[type=file]");
              var file = input && input.files && input.files[0];
              // The upload is the file and the form's few hundred bytes around it.
              if (file && max > 0 && file.size + 1024 > max) {
                event.preventDefault();
                if (tooLarge) { tooLarge.hidden = false; tooLarge.focus(); }
                return;
              }
              if (!window.XMLHttpRequest || !window.FormData) { return; }
              event.preventDefault();
              var bar = document.getElementById(form.getAttribute("data-progress"));
              var button = form.querySelector("button[type=submit]");
              if (button) { button.disabled = true; button.textContent = "Importing…"; }
              if (bar) { bar.hidden = false; bar.value = 0; }
              var request = new XMLHttpRequest();
              request.open("POST", form.action);
              request.upload.addEventListener("progress", function (progress) {
                if (bar && progress.lengthComputable) {
                  bar.value = Math.round(100 * progress.loaded / progress.total);
                  bar.textContent = bar.value + "%";
                }
              });
              request.addEventListener("load", function () {
                document.open();
                document.write(request.responseText);
                document.close();
              });
              request.addEventListener("error", function () {
                if (button) { button.disabled = false; button.textContent = "Import"; }
                window.alert("The upload did not reach the server. Check the connection and try again.");
              });
              request.send(new FormData(form));
            });
          });
        });
        """
}
