#!/usr/bin/env python3
"""fake_llm.py - a fake OpenAI-compatible chat-completions server for tests.

It speaks the real wire format of POST /v1/chat/completions (a
"chat.completion" object with id, object, created, model, choices and
usage; errors as {"error": {"message", "type", "param", "code"}} with
the matching HTTP status), records what it receives, and misbehaves on
demand so the client's retries, timeouts and fallbacks can be tested.
Python 3 standard library only.

Start:  python3 tests/fake_llm.py [options]
It listens on 127.0.0.1 (port 0 = any free port, the default) and
prints one line "READY <port>" on stdout once it accepts connections.
The client's base URL is then http://127.0.0.1:<port>/v1.

Options (stable; tests of several modules rely on them):
  --port N             port to listen on (default 0: any free port)
  --record FILE        append every request body as one JSON line
                       (the body as sent when it is valid JSON, else
                       {"_invalid_body": "<text>"}); flushed per request
  --record-meta FILE   append one JSON line per request with "method",
                       "path", "content_type", "authorization"
                       ("absent", "ok" or "wrong"; never the value) and
                       the "mode" that answered
  --mode M             how every request is answered (default ok):
                         ok         200 chat.completion (see the answer
                                    below)
                         429        429 rate_limit_exceeded with
                                    "Retry-After: <--retry-after>"
                         500        500 server_error
                         401        401 invalid_api_key
                         400        400 invalid_request_error
                         malformed  200, Content-Type application/json,
                                    a truncated JSON body
                         nochoices  200, a chat.completion whose
                                    "choices" is []
                         slow       sleeps --slow-seconds, then ok
                         drop       reads the request, closes the
                                    connection without answering
  --sequence LIST      comma-separated modes used one per request in
                       order (e.g. 429,ok); after the list is used up
                       its last mode repeats.  Overrides --mode.
  --script FILE        like --sequence, one mode per line ('#' starts
                       a comment line)
  --canned TEXT        answer content for ok replies (instead of the
                       built-in deterministic answer)
  --answer-file FILE   the same, read from FILE (UTF-8)
  --key KEY            require "Authorization: Bearer KEY": a missing
                       or wrong header gets 401 (and consumes no step
                       of the sequence)
  --retry-after V      Retry-After value sent with 429 (default 1);
                       any text, e.g. an HTTP date, is sent as is
  --slow-seconds N     how long slow sleeps (default 5)
  --lang zh|en         language of the built-in answer (default: taken
                       from the system message, see below)
  --lifetime N         exit by itself after N seconds (default 600), so
                       a crashed test leaves no server behind
  --tls-cert FILE      serve HTTPS with this PEM certificate (and
  --tls-key FILE       this key) instead of plain HTTP

Requests to other paths get 404; a body that is not a JSON object with
a "messages" array gets 400 (both recorded).

Built-in answer (when neither --canned nor --answer-file is given): a
deterministic three-part skeleton built from the request.  Language:
zh when the system message contains CJK characters or the word
"Chinese" (any case) or "zh", else en; --lang overrides.  People: the
display names of the user message's lines that start with "From:",
"Reviewed-by:", "Acked-by:" or "Tested-by:" (after optional spaces),
the text before "<" (or the whole value when there is no "<"), in
order of first appearance, at most five.  The answer names only those
people, contains no quotes, URLs or Markdown headings:
  en:  Original patch: posted by A.
       Earlier discussion: none in the provided mails.
       This week: A, B took part in the discussion of N mail(s).
  zh:  原始补丁：由 A 发出。
       此前讨论：所提供的邮件中没有此前的讨论。
       本周进展：A、B 参与了讨论，共 N 封邮件。
N counts the "From:" lines.  With no names found, "the author" /
"作者" stands in.

usage: prompt_tokens = ceil(UTF-8 bytes of all message contents / 4),
completion_tokens = ceil(UTF-8 bytes of the answer / 4), total = sum.
"""

import argparse
import json
import re
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "429", "500", "401", "400", "malformed", "nochoices",
         "slow", "drop")
PEOPLE_RE = re.compile(
    r"^[ \t]*(From|Reviewed-by|Acked-by|Tested-by):[ \t]*(.*)$",
    re.IGNORECASE | re.MULTILINE)
CJK_RE = re.compile("[\u3400-\u9fff]")
MAX_BODY = 16 * 1024 * 1024


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.sequence = None
        if args.sequence:
            self.sequence = [m.strip() for m in args.sequence.split(",")
                             if m.strip()]
        elif args.script:
            with open(args.script, encoding="utf-8") as f:
                self.sequence = [ln.strip() for ln in f
                                 if ln.strip() and
                                 not ln.strip().startswith("#")]
        for m in self.sequence or [args.mode]:
            if m not in MODES:
                sys.exit("fake_llm: unknown mode %r" % m)
        self.step = 0
        self.counter = 0
        self.canned = args.canned
        if args.answer_file:
            with open(args.answer_file, encoding="utf-8") as f:
                self.canned = f.read()

    def next_mode(self):
        with self.lock:
            self.counter += 1
            if not self.sequence:
                return self.args.mode, self.counter
            i = min(self.step, len(self.sequence) - 1)
            self.step += 1
            return self.sequence[i], self.counter

    def record(self, path, obj):
        if not path:
            return
        line = json.dumps(obj, ensure_ascii=False)
        with self.lock:
            with open(path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()


def tokens(n_bytes):
    return (n_bytes + 3) // 4


def contents(body, role):
    out = []
    for m in body.get("messages", []):
        if isinstance(m, dict) and m.get("role") == role and \
                isinstance(m.get("content"), str):
            out.append(m["content"])
    return "\n".join(out)


def people(user):
    names = []
    for m in PEOPLE_RE.finditer(user):
        v = m.group(2)
        name = v.split("<", 1)[0].strip().strip('"').strip()
        if not name:
            name = v.strip().strip("<>").strip()
        if name and name not in names:
            names.append(name)
        if len(names) == 5:
            break
    return names


def builtin_answer(body, lang_opt):
    system = contents(body, "system")
    user = contents(body, "user")
    lang = lang_opt
    if not lang:
        if CJK_RE.search(system) or re.search(r"chinese|\bzh\b", system,
                                              re.IGNORECASE):
            lang = "zh"
        else:
            lang = "en"
    names = people(user)
    nmails = len(re.findall(r"^[ \t]*From:", user,
                            re.IGNORECASE | re.MULTILINE))
    if lang == "zh":
        first = names[0] if names else "作者"
        who = "、".join(names) if names else "作者"
        return ("原始补丁：由 %s 发出。\n"
                "此前讨论：所提供的邮件中没有此前的讨论。\n"
                "本周进展：%s 参与了讨论，共 %d 封邮件。"
                % (first, who, nmails))
    first = names[0] if names else "the author"
    who = ", ".join(names) if names else "the author"
    return ("Original patch: posted by %s.\n"
            "Earlier discussion: none in the provided mails.\n"
            "This week: %s took part in the discussion of %d mail(s)."
            % (first, who, nmails))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-llm/1"

    def log_message(self, fmt, *a):
        pass

    def send_json(self, status, obj, extra=None):
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_error_json(self, status, message, etype, code, extra=None):
        self.send_json(status, {"error": {"message": message,
                                          "type": etype, "param": None,
                                          "code": code}}, extra)

    def do_GET(self):
        self.send_error_json(404, "Unknown request URL: GET %s" % self.path,
                             "invalid_request_error", "unknown_url")

    def do_POST(self):
        st = self.server.state
        args = st.args
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            self.send_error_json(400, "bad Content-Length",
                                 "invalid_request_error", None)
            return
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        st.record(args.record, body if body is not None else
                  {"_invalid_body": raw.decode("utf-8", "replace")})

        auth = self.headers.get("Authorization")
        if auth is None:
            auth_state = "absent"
        elif args.key is not None and auth == "Bearer " + args.key:
            auth_state = "ok"
        else:
            auth_state = "wrong" if args.key is not None else "present"
        meta = {"method": "POST", "path": self.path,
                "content_type": self.headers.get("Content-Type"),
                "authorization": auth_state}

        if self.path.split("?", 1)[0] != "/v1/chat/completions":
            meta["mode"] = "404"
            st.record(args.record_meta, meta)
            self.send_error_json(404, "Unknown request URL: POST %s"
                                 % self.path, "invalid_request_error",
                                 "unknown_url")
            return
        if args.key is not None and auth_state != "ok":
            meta["mode"] = "401"
            st.record(args.record_meta, meta)
            self.send_error_json(401, "Incorrect API key provided.",
                                 "invalid_request_error", "invalid_api_key")
            return

        mode, count = st.next_mode()
        meta["mode"] = mode
        st.record(args.record_meta, meta)

        if mode == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if mode == "429":
            self.send_error_json(429, "Rate limit reached for requests.",
                                 "requests", "rate_limit_exceeded",
                                 {"Retry-After": str(args.retry_after)})
            return
        if mode == "500":
            self.send_error_json(500, "The server had an error while "
                                 "processing your request.",
                                 "server_error", None)
            return
        if mode == "401":
            self.send_error_json(401, "Incorrect API key provided.",
                                 "invalid_request_error", "invalid_api_key")
            return
        if mode == "400":
            self.send_error_json(400, "Invalid request.",
                                 "invalid_request_error", None)
            return
        if mode == "malformed":
            data = b'{"id": "chatcmpl-fake", "object": "chat.completion", ' \
                   b'"choices": [{"index": 0, "message": {"role": "assi'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if not isinstance(body, dict) or \
                not isinstance(body.get("messages"), list):
            self.send_error_json(400, "'messages' is a required property",
                                 "invalid_request_error", None)
            return
        if mode == "slow":
            time.sleep(args.slow_seconds)

        answer = st.canned if st.canned is not None else \
            builtin_answer(body, args.lang)
        prompt = sum(len(m.get("content", "").encode("utf-8"))
                     for m in body["messages"]
                     if isinstance(m, dict) and
                     isinstance(m.get("content"), str))
        pt = tokens(prompt)
        ct = tokens(len(answer.encode("utf-8")))
        choices = [] if mode == "nochoices" else [{
            "index": 0,
            "message": {"role": "assistant", "content": answer},
            "logprobs": None,
            "finish_reason": "stop"}]
        try:
            self.send_json(200, {
                "id": "chatcmpl-fake-%d" % count,
                "object": "chat.completion",
                "created": 1668000000 + count,
                "model": str(body.get("model", "fake-model")),
                "choices": choices,
                "usage": {"prompt_tokens": pt, "completion_tokens": ct,
                          "total_tokens": pt + ct}})
        except (BrokenPipeError, ConnectionResetError):
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hung up (a timeout, an oversized answer) is
        # part of the tests, not an error worth a traceback.
        if isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            return
        super().handle_error(request, client_address)


def main():
    p = argparse.ArgumentParser(description="fake chat-completions server")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--record")
    p.add_argument("--record-meta")
    p.add_argument("--mode", default="ok")
    p.add_argument("--sequence")
    p.add_argument("--script")
    p.add_argument("--canned")
    p.add_argument("--answer-file")
    p.add_argument("--key")
    p.add_argument("--retry-after", default="1")
    p.add_argument("--slow-seconds", type=float, default=5.0)
    p.add_argument("--lang", choices=("zh", "en"))
    p.add_argument("--lifetime", type=float, default=600.0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    args = p.parse_args()

    state = State(args)
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.state = state
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    timer = threading.Timer(args.lifetime, srv.shutdown)
    timer.daemon = True
    timer.start()
    print("READY %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    srv.server_close()


if __name__ == "__main__":
    main()
