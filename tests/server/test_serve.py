#!/usr/bin/python3
"""`mova serve` end to end on the bundled nano model, over real sockets (ctest serve_http):

  test_serve.py MOVA_BINARY SOURCE_DIR

- a first frame posted as base64 gives, through the job queue, the very MP4 that
  `mova generate` writes for the same settings (byte for byte);
- a running job stops at its next step when DELETEd; a full queue answers 503;
- malformed heads, a body over --max-body-mib, an unfinished request and Expect: 100-continue
  get their documented answers, and the server keeps serving;
- SIGTERM during a generation ends the server with exit code 0, leaving no partial MP4, and a
  server without --output-dir removes its temporary results folder at exit;
- with an API key ($MOVA_API_KEY) only requests that send it are served (GET /health too
  without it), refused before their body; unusable key files stop the server with their exit
  codes.
"""
import base64
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

MOVA, SOURCE = sys.argv[1], sys.argv[2]
IMAGE = os.path.join(SOURCE, "docs", "assets", "nano_face_first_frame.png")


class Server:
    def __init__(self, *args, env=None):
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log")
        self.proc = subprocess.Popen(
            [MOVA, "--threads", "2", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
            env=None if env is None else {**os.environ, **env})
        line = self.proc.stdout.readline()
        m = re.match(r"mova serve: listening on http://127\.0\.0\.1:(\d+)/$", line.strip())
        assert m, f"no listening line: {line!r}; log: {self.stderr()}"
        self.port = int(m.group(1))

    def stderr(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def call(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        data = json.dumps(body) if isinstance(body, dict) else body
        conn.request(method, path, body=data, headers=headers or {})
        r = conn.getresponse()
        payload = r.read()
        conn.close()
        if r.getheader("Content-Type") == "application/json":
            return r.status, json.loads(payload), r
        return r.status, payload, r

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=60)

    def raw(self, data):
        """Sends bytes on a fresh connection; returns everything the server answers."""
        with self.connect() as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            return read_all(s)

    def wait_for(self, job_id, statuses, timeout=120, min_step=0):
        """Follows the job by long-polling (?wait=&after=) until it is in one of `statuses`."""
        end = time.time() + timeout
        query = "?wait=5&after=0"  # revisions start at 1: the job as it is now
        while time.time() < end:
            status, job, _ = self.call("GET", f"/v1/jobs/{job_id}{query}")
            assert status == 200, job
            if job["status"] in statuses and job["step"] >= min_step:
                return job
            query = f"?wait=5&after={job['revision']}"
        raise AssertionError(f"job {job_id} not {statuses} after {timeout} s: {job}")

    def stop(self, sig=signal.SIGTERM, timeout=60):
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        return code


def read_all(s):
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def status_of(answer):
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", answer)
    assert m, answer[:200]
    return int(m.group(1))


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def main():
    tmp = tempfile.mkdtemp(prefix="mova_serve_test_")
    results = os.path.join(tmp, "results")
    with open(IMAGE, "rb") as f:
        image = base64.b64encode(f.read()).decode()

    server = Server("--output-dir", results, "--max-body-mib", "1", "--max-queue", "2")
    try:
        status, health, _ = server.call("GET", "/health")
        check(status == 200 and health["status"] == "ok", "GET /health")

        # Same settings through the server and through `mova generate`: the same bytes.
        status, job, r = server.call("POST", "/v1/generate", {
            "prompt": "a face says ba", "image": image, "steps": 2, "seed": 11})
        check(status == 202 and r.getheader("Location") == f"/v1/jobs/{job['id']}",
              f"POST /v1/generate queued job {job.get('id')}")
        done = server.wait_for(job["id"], {"done", "failed"})
        check(done["status"] == "done", f"job done: {done.get('error', '')}")
        check([t["stage"] for t in done["timings"]] ==
              ["text", "condition", "denoise", "video-decode", "audio-decode"], "stage timings")
        status, video, r = server.call("GET", f"/v1/jobs/{job['id']}/video")
        check(status == 200 and r.getheader("Content-Type") == "video/mp4", "GET the video")
        cli_mp4 = os.path.join(tmp, "cli.mp4")
        subprocess.run([MOVA, "-q", "--threads", "2", "generate", "-p", "a face says ba", "-i",
                        IMAGE, "--steps", "2", "--seed", "11", "-o", cli_mp4], check=True)
        with open(cli_mp4, "rb") as f:
            check(f.read() == video, f"the served MP4 is mova generate's, byte for byte "
                                     f"({len(video)} bytes)")

        # Cancelling a running job; a full queue.
        # 200 steps take the nano model ~20 s here: time enough for what follows, never waited for.
        long_job = {"prompt": "a face says ba", "steps": 200}
        running = server.call("POST", "/v1/generate", long_job)[1]["id"]
        server.wait_for(running, {"running"}, min_step=1)
        waiting = [server.call("POST", "/v1/generate", long_job) for _ in range(3)]
        check([w[0] for w in waiting] == [202, 202, 503] and "queue is full" in
              waiting[2][1]["error"], "a third waiting job is refused with 503")
        status, told, _ = server.call("DELETE", f"/v1/jobs/{running}")
        check(status == 200 and told.get("cancel_requested"), "DELETE a running job")
        cancelled = server.wait_for(running, {"cancelled", "done"}, timeout=60)
        check(cancelled["status"] == "cancelled" and cancelled["step"] < 200,
              f"it stopped at step {cancelled['step']} of 200")
        status, err, _ = server.call("GET", f"/v1/jobs/{running}/video")
        check(status == 409 and "cancelled" in err["error"], "its video: 409")
        for w in waiting[:2]:
            status, gone, _ = server.call("DELETE", f"/v1/jobs/{w[1]['id']}")
            check(status == 200 and gone["status"] in ("cancelled", "running"),
                  "DELETE a waiting job")
        for w in waiting[:2]:
            server.wait_for(w[1]["id"], {"cancelled"}, timeout=60)

        # What a client can get wrong on the wire.
        check(status_of(server.raw(b"GARBAGE\r\n\r\n")) == 400, "malformed request line: 400")
        check(status_of(server.raw(b"GET / HTTP/3.0\r\n\r\n")) == 505, "HTTP/3.0: 505")
        check(status_of(server.raw(b"GET /health HTTP/1.1\r\n\r\n")) == 400,
              "HTTP/1.1 without Host: 400")
        big = b"POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"
        check(status_of(server.raw(big)) == 413, "a body over --max-body-mib: 413, before it is sent")
        # A client that sends the body anyway still reads the 413, not a reset connection.
        with server.connect() as s:
            s.sendall(big)
            try:
                s.sendall(b"x" * 2000000)
            except OSError:
                pass  # the server may have closed already; its answer is still to be read
            answer = read_all(s)
        check(status_of(answer) == 413, "413 again with the body sent")
        check(status_of(server.raw(
            b"POST /v1/generate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"))
              == 501, "chunked body: 501")
        check(status_of(server.raw(
            b"POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")) == 400,
              "a body cut short: 400")
        check(status_of(server.raw(b"GET /hea")) == 400, "a head cut short: 400")
        with server.connect():
            pass  # connected and closed without a word: nothing to answer
        with server.connect() as s:
            s.sendall(b"POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            first = b""
            while len(first) < 25:
                more = s.recv(25 - len(first))
                if not more:
                    break
                first += more
            check(first == b"HTTP/1.1 100 Continue\r\n\r\n", "Expect: 100-continue answered")
            s.sendall(b"nope")
            s.shutdown(socket.SHUT_WR)
            answer = read_all(s)
        check(status_of(answer) == 400 and b"not JSON" in answer, "then the body is read")
        status, body, _ = server.call("POST", "/v1/generate", {"prompt": "x", "frames": 4})
        check(status == 400 and "field 'frames' (4)" in body["error"], "bad values: 400 naming them")
        status, health, _ = server.call("GET", "/health")
        check(status == 200 and not health["running"], "still serving")

        # SIGTERM mid-generation: a clean stop, no partial MP4 left.
        last = server.call("POST", "/v1/generate", long_job)[1]["id"]
        server.wait_for(last, {"running"}, min_step=1)
        code = server.stop()
        check(code == 0, f"SIGTERM during a job: exit code {code}")
        left = sorted(os.listdir(results))
        check(left == [f"{job['id']}.mp4"], f"only the finished job's MP4 is left: {left}")
        check("stopping" in server.stderr(), "the log says it stopped")
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            print(server.stderr())

    # Without --output-dir: a temporary folder, gone at exit (SIGINT this time). With an API
    # key from the environment.
    key = "k3y-" + os.urandom(8).hex()
    temp = Server(env={"MOVA_API_KEY": key})
    try:
        end = time.time() + 30
        while not (m := re.search(r"results in (\S+);", temp.stderr())) and time.time() < end:
            time.sleep(0.05)
        check(m and os.path.isdir(m.group(1)), "a temporary results folder")
        status, err, r = temp.call("GET", "/v1/model")
        check(status == 401 and "API key" in err["error"] and
              r.getheader("WWW-Authenticate", "").startswith("Bearer "),
              "with $MOVA_API_KEY, a request without it: 401 naming the Bearer scheme")
        status, _, _ = temp.call("GET", "/v1/model", headers={"Authorization": "Bearer x" + key})
        check(status == 401, "a wrong key: 401")
        status, model, _ = temp.call("GET", "/v1/model", headers={"Authorization": "Bearer " + key})
        check(status == 200 and "defaults" in model, "the key: 200")
        check(temp.call("GET", "/health")[0] == 200, "GET /health needs no key")
        with temp.connect() as s:  # refused on its head: no 100 Continue, the body never read
            s.sendall(b"POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Length: 900000\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            check(status_of(read_all(s)) == 401, "a post without the key: 401 before its body")
        check(key not in temp.stderr(), "the key is not logged")
        check(temp.stop(signal.SIGINT) == 0, "SIGINT: exit code 0")
        check(not os.path.exists(m.group(1)), "the temporary folder is removed at exit")
    finally:
        if temp.proc.poll() is None:
            temp.proc.kill()

    # A key file that cannot be used stops the server before it opens the model.
    bad = subprocess.run([MOVA, "serve", "--port", "0", "--api-key-file", tmp],
                         capture_output=True, text=True, timeout=60)
    check(bad.returncode == 3 and tmp in bad.stderr and "folder" in bad.stderr,
          f"--api-key-file naming a folder: exit {bad.returncode}")
    empty = os.path.join(tmp, "empty.key")
    open(empty, "w").close()
    bad = subprocess.run([MOVA, "serve", "--port", "0", "--api-key-file", empty],
                         capture_output=True, text=True, timeout=60)
    check(bad.returncode == 2 and "empty" in bad.stderr, f"an empty key: exit {bad.returncode}")
    print("all mova serve checks passed")


if __name__ == "__main__":
    main()
