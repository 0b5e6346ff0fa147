"""A small client of `colo serve` (docs/serve.md), standard library only.

    from colo_serve import Client
    c = Client("http://127.0.0.1:8470")            # token: argument or env COLO_SERVE_TOKEN
    c.call("echo", {"x": 1})                       # sync: the result, or raises TaskFailed
    tid = c.submit("echo", {"x": 1})               # async: a task id
    c.result(tid, wait_s=10)                       # the task's JSON view
    ids = c.submit_batch("echo", [1, 2, 3])
    c.results(ids, wait_s=10)                      # views, in order
    c.cancel(tid); c.functions(); c.resize("echo", workers=4); c.metrics()
"""
import json
import os
import urllib.error
import urllib.request


class ServeError(Exception):
    """The daemon refused a request: `status` is the HTTP status, the message its reason."""

    def __init__(self, status, message, retry_after=None):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.retry_after = retry_after


class TaskFailed(Exception):
    """A task ended failed, expired or cancelled; `task` is its JSON view."""

    def __init__(self, task):
        super().__init__(f"task {task.get('id')} {task.get('state')}: {task.get('error', '')}")
        self.task = task


class Client:
    def __init__(self, url="http://127.0.0.1:8470", token=None, timeout=300):
        self.url = url.rstrip("/")
        self.token = token if token is not None else os.environ.get("COLO_SERVE_TOKEN", "")
        self.timeout = timeout

    def _request(self, method, path, body=None, raw=False):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                message = json.loads(text).get("error", text)
            except ValueError:
                message = text
            raise ServeError(e.code, message, e.headers.get("Retry-After")) from None
        return text if raw else json.loads(text)

    def call(self, function, input=None, timeout_s=None):
        body = {"function": function, "input": input, "wait": True}
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        task = self._request("POST", "/v1/tasks", body)
        if task.get("state") != "succeeded":
            raise TaskFailed(task)
        return task.get("result")

    def submit(self, function, input=None, timeout_s=None):
        body = {"function": function, "input": input}
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        return self._request("POST", "/v1/tasks", body)["id"]

    def submit_batch(self, function, inputs, timeout_s=None):
        body = {"function": function, "inputs": list(inputs)}
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        return self._request("POST", "/v1/batch", body)["ids"]

    def result(self, task_id, wait_s=0):
        return self._request("GET", f"/v1/tasks/{task_id}?wait_s={wait_s}")

    def results(self, ids, wait_s=0):
        return self._request("POST", "/v1/results", {"ids": list(ids), "wait_s": wait_s})["tasks"]

    def cancel(self, task_id):
        return self._request("DELETE", f"/v1/tasks/{task_id}")

    def functions(self):
        return self._request("GET", "/v1/functions")["functions"]

    def resize(self, function, workers=None, partition=None):
        body = {}
        if workers is not None:
            body["workers"] = workers
        if partition is not None:
            body["partition"] = partition
        return self._request("PUT", f"/v1/functions/{function}/pool", body)

    def metrics(self):
        return self._request("GET", "/metrics", raw=True)

    def healthz(self):
        return self._request("GET", "/healthz")
