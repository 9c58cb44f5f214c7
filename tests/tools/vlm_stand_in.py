#!/usr/bin/env python3
"""A stand-in for an OpenAI-compatible chat-completions server of a VLM, for the tests and
measurements of rsd_cache_risk over several endpoints (docs/scaling.md). Standard library only.

It answers every candidate id listed in the prompt (lines '- id "<id>": ...') with a score derived
from the id alone, so that any server gives the same answer to the same frame, after a fixed
artificial latency; with --fail-every K every K-th request (1-based) gets HTTP 503 instead. Each
request appends one line "<ok|fail>" to --log. The chosen port is written to --port-file.

  vlm_stand_in.py --port-file P [--latency-ms 100] [--fail-every 2] [--log FILE]
"""
import argparse
import hashlib
import http.server
import json
import os
import re
import threading
import time

CANDIDATE = re.compile(r'- id "([^"]+)"')


def answer_for(prompt):
    objects = []
    for object_id in CANDIDATE.findall(prompt):
        digest = hashlib.sha256(object_id.encode()).digest()
        objects.append({"id": object_id, "score": round(digest[0] / 255.0, 3),
                        "reason": "stand-in verdict"})
    return json.dumps({"objects": objects})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--fail-every", type=int, default=0)
    parser.add_argument("--log", default=None)
    args = parser.parse_args()
    counter = {"n": 0}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *unused):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with lock:
                counter["n"] += 1
                index = counter["n"]
            time.sleep(args.latency_ms / 1000.0)
            failing = args.fail_every > 0 and index % args.fail_every == 0
            if args.log:
                with lock, open(args.log, "a") as log:
                    log.write("fail\n" if failing else "ok\n")
            if failing:
                status, reply = 503, {"error": "stand-in overloaded"}
            else:
                prompt = "".join(part.get("text", "") for part in body["messages"][1]["content"]
                                 if part.get("type") == "text")
                status, reply = 200, {"id": "chatcmpl-stand-in", "object": "chat.completion",
                                      "model": body.get("model", ""),
                                      "choices": [{"index": 0, "finish_reason": "stop",
                                                   "message": {"role": "assistant",
                                                               "content": answer_for(prompt)}}]}
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as out:
        out.write(str(server.server_address[1]))

    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
