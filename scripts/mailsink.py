"""A local SMTP sink for `make run`: every message is kept as a .eml file a person can open.

    python scripts/mailsink.py --smtp 127.0.0.1:1025 --http 127.0.0.1:8025 --dir .kadra/mail

It also serves the folder at http://127.0.0.1:8025/ as a list of messages with
their text shown and links clickable, so a reset or invitation link is one
click away. Nothing here is used in production.
"""
import argparse
import email
import email.policy
import html
import http.server
import os
import re
import threading
import time
from datetime import datetime

from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://[^\s<>\"')]+")


class SaveToFolder:
    """aiosmtpd handler: write each accepted message to <dir>/<time>-<n>.eml."""

    def __init__(self, folder: str):
        self.folder = folder
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            name = f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{self.count:05d}.eml"
        path = os.path.join(self.folder, name)
        with open(path + ".tmp", "wb") as out:
            out.write(envelope.original_content or envelope.content)
        os.replace(path + ".tmp", path)
        print(f"[mailsink] {name}: to {', '.join(envelope.rcpt_tos)}", flush=True)
        return "250 Message accepted for delivery"


def _text_of(message) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


def make_http_handler(folder: str):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet: links carry tokens
            pass

        def do_GET(self):
            names = sorted((n for n in os.listdir(folder) if n.endswith(".eml")), reverse=True)
            if self.path.startswith("/raw/"):
                name = os.path.basename(self.path[5:])
                if name not in names:
                    self.send_error(404)
                    return
                with open(os.path.join(folder, name), "rb") as f:
                    data = f.read()
                self.send_response(200)
                self.send_header("Content-Type", "message/rfc822")
                self.end_headers()
                self.wfile.write(data)
                return
            rows = []
            for name in names[:200]:
                with open(os.path.join(folder, name), "rb") as f:
                    message = email.message_from_binary_file(f, policy=email.policy.default)
                text = html.escape(_text_of(message))
                text = LINK.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', text)
                rows.append(
                    f"<article><h3>{html.escape(str(message['Subject']))}</h3>"
                    f"<p>To: {html.escape(str(message['To']))} · {html.escape(str(message['Date']))} · "
                    f'<a href="/raw/{name}">{name}</a></p><pre>{text}</pre></article>'
                )
            body = ("<!doctype html><meta charset=utf-8><title>Kadra mail sink</title>"
                    "<style>body{font-family:sans-serif;max-width:60em;margin:auto}pre{white-space:pre-wrap;"
                    "background:#f4f4f4;padding:1em}</style><h1>Captured e-mails</h1>"
                    + ("".join(rows) or "<p>No e-mail yet.</p>"))
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smtp", default="127.0.0.1:1025")
    parser.add_argument("--http", default="127.0.0.1:8025")
    parser.add_argument("--dir", default=".kadra/mail")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    smtp_host, smtp_port = args.smtp.rsplit(":", 1)
    controller = Controller(SaveToFolder(args.dir), hostname=smtp_host, port=int(smtp_port))
    controller.start()
    http_host, http_port = args.http.rsplit(":", 1)
    server = http.server.ThreadingHTTPServer((http_host, int(http_port)), make_http_handler(args.dir))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"[mailsink] SMTP on {args.smtp}, messages in {os.path.abspath(args.dir)}, "
          f"browse them at http://{args.http}/", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        controller.stop()


if __name__ == "__main__":
    main()
