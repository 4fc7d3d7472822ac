"""Training progress watcher: started by gti-launcher (lib/progress.sh) next to the training container.

Reads what the training code reports (runtime/README.md, "Progress contract"):

- JSON lines appended to GTI_PROGRESS_FILE (the container's /progress/progress.jsonl): "step" (required), "total_steps",
  "loss", "samples_per_second", "stall_minutes", and any other finite number as a metric of its own;
- else, with no code change, Hugging Face Trainer's trainer_state.json of the newest CHECKPOINT_DIR/checkpoint-<n>/.

and publishes it cheaply: an Embedded Metric Format record per minute appended to a log the CloudWatch agent ships
(no API call per step), a local progress.json at every poll and the same in s3://.../runs/<run-id>/progress.json at
most once per GTI_PROGRESS_UPLOAD_SECONDS. Bad input never stops training: malformed lines are skipped and counted,
a huge file is rotated (copy and truncate), a backlog is skipped to its tail, non-numeric fields are ignored, and any
unexpected error is logged and the loop goes on. Python 3.8+ standard library only (the OS python cloud-init uses).
"""

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time

DEFAULTS = {
    "GTI_PROGRESS_POLL_SECONDS": 10.0,  # how often the file is read
    "GTI_PROGRESS_METRICS_SECONDS": 60.0,  # one EMF record per this many seconds (CloudWatch's standard resolution)
    "GTI_PROGRESS_UPLOAD_SECONDS": 60.0,  # progress.json in S3 at most this often
    "GTI_PROGRESS_MAX_BYTES": 16 * 1024 * 1024,  # rotate the progress file past this size
    "GTI_PROGRESS_MAX_READ_BYTES": 1024 * 1024,  # read at most this much per poll: older backlog is skipped
    "GTI_PROGRESS_MAX_METRICS": 10,  # extra metric names published per attempt (custom metrics are billed)
    "GTI_STALL_MINUTES": 30.0,  # no new step for this long (or twice the longest gap between reports): stalled
}
CORE_FIELDS = ("step", "total_steps", "loss", "samples_per_second", "stall_minutes")
RESERVED = {"_aws", "RunId", "InstanceId", "AutoScalingGroupName"}
CORE_METRICS = {
    "Step", "TotalSteps", "ProgressPercent", "StepsPerSecond", "EtaSeconds", "Loss", "SamplesPerSecond",
    "SecondsSinceProgress", "ProgressStalled", "MalformedLines",
}
MAX_LINE_BYTES = 64 * 1024
MAX_VALUES = 100  # EMF: at most 100 values per metric in one record
RATE_WINDOW_SECONDS = 600
LOSS_HISTORY_POINTS = 64
METRIC_NAME = re.compile(r"^[A-Za-z0-9_.\-/]{1,64}$")


def setting(name, env=os.environ):
    raw = env.get(name, "")
    default = DEFAULTS[name]
    try:
        value = type(default)(float(raw)) if raw != "" else default
    except ValueError:
        return default
    return value if value > 0 else default


def finite(value):
    """A finite int or float (never a bool), as given, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t else None


class Watcher:
    def __init__(self, env=os.environ, clock=time.time):
        self.env = env
        self.clock = clock
        self.file = env.get("GTI_PROGRESS_HOST_FILE", "")
        self.checkpoints = env.get("GTI_PROGRESS_CHECKPOINT_DIR", "")
        self.local = env.get("GTI_PROGRESS_JSON", "")
        self.emf_log = env.get("GTI_PROGRESS_EMF_LOG", "")
        self.s3_uri = env.get("GTI_PROGRESS_S3_URI", "")
        self.deadline_file = env.get("GTI_PROGRESS_DEADLINE_FILE", "")
        self.done_file = env.get("GTI_PROGRESS_DONE_FILE", "")
        self.aws = env.get("GTI_AWS_CLI", "aws")
        self.namespace = env.get("GTI_METRICS_NAMESPACE", "GpuTraining/default")
        self.run_id = env.get("RUN_ID", "")
        self.instance_id = env.get("INSTANCE_ID", "unknown")
        self.group = env.get("GTI_FLEET_ASG_NAME", "")
        self.poll = setting("GTI_PROGRESS_POLL_SECONDS", env)
        self.metrics_every = setting("GTI_PROGRESS_METRICS_SECONDS", env)
        self.upload_every = setting("GTI_PROGRESS_UPLOAD_SECONDS", env)
        self.max_bytes = setting("GTI_PROGRESS_MAX_BYTES", env)
        self.max_read = setting("GTI_PROGRESS_MAX_READ_BYTES", env)
        self.max_metrics = setting("GTI_PROGRESS_MAX_METRICS", env)
        self.env_stall_minutes = setting("GTI_STALL_MINUTES", env)
        tag = finite_text(env.get("GTI_STALL_TAG", ""))
        self.tag_stall_minutes = tag if tag and tag > 0 else None
        self.code_stall_minutes = None
        # the attempt's start (lib/progress.sh, just before the container): checkpoints older than it were restored
        self.started = finite_text(env.get("GTI_PROGRESS_STARTED", "")) or clock()
        # Reading state
        self.offset = 0
        self.partial = b""
        self.discarding = False
        self.trainer_state_mtime = None
        self.trainer_state_step = None
        # What was reported
        self.source = None
        self.step = None
        self.total_steps = None
        self.loss = None
        self.samples_per_second = None
        self.metrics = {}
        self.first_report_at = None
        self.last_step_at = None
        self.previous_step_at = None
        self.max_gap = None
        self.rate_points = []  # (t, step) at each new step, last RATE_WINDOW_SECONDS
        self.loss_history = []  # [step, loss]
        # Per metrics window
        self.window_losses = []
        self.window_samples = []
        self.window_extras = {}
        self.window_malformed = 0
        # Counters
        self.malformed = 0
        self.skipped_bytes = 0
        self.rotations = 0
        self.ignored_metrics = set()
        # Publishing
        self.last_emf = None
        self.last_upload = None
        self.uploaded_signature = None
        self.warnings = 0
        self.stopping = False

    # -- logging -------------------------------------------------------------------------------------------------
    def log(self, message):
        """To stderr, which the launcher appends to the runtime log (the bash scripts' format)."""
        line = "%s progress[%d]: %s" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), os.getpid(), message)
        try:
            print(line, file=sys.stderr, flush=True)
        except OSError:
            pass

    # -- reading -------------------------------------------------------------------------------------------------
    def read_file(self):
        """New complete lines of the progress file (a backlog over max_read is skipped to its tail)."""
        if not self.file:
            return []
        try:
            size = os.path.getsize(self.file)
        except OSError:
            return []
        if size < self.offset:  # truncated or replaced by the trainer: start over
            self.offset, self.partial, self.discarding = 0, b"", False
        if size - self.offset > self.max_read:
            skip = size - self.max_read - self.offset
            self.skipped_bytes += skip + len(self.partial)
            self.offset, self.partial, self.discarding = size - self.max_read, b"", True
            self.warn("progress file grows faster than it is read: skipped %d bytes to its tail" % skip)
        if size == self.offset:
            return []
        with open(self.file, "rb") as source:
            source.seek(self.offset)
            data = source.read(size - self.offset)
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        if self.discarding and lines:  # the first line after a skip is a fragment
            self.skipped_bytes += len(lines.pop(0)) + 1
            self.discarding = False
        if len(self.partial) > MAX_LINE_BYTES:
            self.malformed += 1
            self.window_malformed += 1
            self.partial, self.discarding = b"", True
        if size > self.max_bytes:
            self.rotate()
        return lines

    def rotate(self):
        """Copy and truncate: the trainer keeps appending to the same file (opened in append mode). What it appended
        after this poll's read and before the copy goes to the .1 file unread: counted as skipped."""
        try:
            shutil.copyfile(self.file, self.file + ".1")
            copied = os.path.getsize(self.file + ".1")
            os.truncate(self.file, 0)
        except OSError as error:
            self.warn("could not rotate %s: %s" % (self.file, error))
            return
        self.skipped_bytes += max(0, copied - self.offset)
        self.offset, self.partial, self.discarding = 0, b"", False
        self.rotations += 1
        self.log("progress file over %d bytes: rotated to %s.1 (rotation %d)" % (self.max_bytes, self.file, self.rotations))

    def parse(self, raw):
        """One line: a dict of the fields, or None (malformed). Blank lines and NUL padding are neither."""
        text = raw.replace(b"\0", b"").strip()
        if not text:
            return "blank"
        if len(text) > MAX_LINE_BYTES:
            return None
        try:
            record = json.loads(text.decode("utf-8"), parse_constant=lambda _: float("nan"))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(record, dict):
            return None
        step = finite(record.get("step"))
        if step is None or step < 0:
            return None
        return record

    def take_lines(self, lines):
        for raw in lines:
            record = self.parse(raw)
            if record == "blank":
                continue
            if record is None:
                self.malformed += 1
                self.window_malformed += 1
                if self.malformed <= 5 or self.malformed % 1000 == 0:
                    shown = raw[:200].decode("utf-8", "replace")
                    self.warn("malformed progress line skipped (%d so far): %s" % (self.malformed, shown))
                continue
            self.source = "progress_file"
            extras = {k: v for k, v in record.items() if k not in CORE_FIELDS}
            self.report(record["step"], record.get("total_steps"), record.get("loss"), record.get("samples_per_second"), extras)
            minutes = finite(record.get("stall_minutes"))
            if minutes is not None and minutes > 0:
                self.code_stall_minutes = minutes

    def read_trainer_state(self):
        """Hugging Face Trainer: trainer_state.json of the newest checkpoint-<n>/ (only while no line was read)."""
        if self.source == "progress_file" or not self.checkpoints:
            return
        try:
            names = [n for n in os.listdir(self.checkpoints) if re.match(r"^checkpoint-\d+$", n)]
        except OSError:
            return
        if not names:
            return
        newest = max(names, key=lambda n: int(n.split("-")[1]))
        path = os.path.join(self.checkpoints, newest, "trainer_state.json")
        try:
            mtime = os.stat(path).st_mtime
            # a checkpoint restored before the attempt started (RESUME_FROM) is no new progress
            if mtime == self.trainer_state_mtime or mtime < self.started:
                return
            with open(path, "rb") as source:
                state = json.loads(source.read().decode("utf-8"), parse_constant=lambda _: float("nan"))
        except (OSError, ValueError, UnicodeDecodeError):
            return  # missing, or being written: next poll
        self.trainer_state_mtime = mtime
        step = finite(state.get("global_step")) if isinstance(state, dict) else None
        if step is None:
            return
        self.source = "trainer_state"
        history = [e for e in state.get("log_history") or [] if isinstance(e, dict)]
        newer = [e for e in history if (finite(e.get("step")) or 0) > (self.trainer_state_step or -1)]
        self.trainer_state_step = step
        for entry in newer:
            loss = finite(entry.get("loss"))
            if loss is not None:
                self.window_losses.append(loss)
                self.add_loss_point(finite(entry.get("step")) or step, loss)
            for key, value in entry.items():
                if key not in ("step", "loss"):
                    self.add_extra(key, value)
        last_loss = next((finite(e.get("loss")) for e in reversed(history) if finite(e.get("loss")) is not None), None)
        max_steps = finite(state.get("max_steps"))
        self.report(step, max_steps if max_steps and max_steps > 0 else None, None, None, {}, loss_override=last_loss)

    # -- state ---------------------------------------------------------------------------------------------------
    def report(self, step, total_steps, loss, samples_per_second, extras, loss_override=None):
        now = self.clock()
        step = finite(step)
        if self.first_report_at is None:
            self.first_report_at = now
            self.log("first progress report (%s): step %s" % (self.source, step))
        if step != self.step:
            if self.step is not None and step < self.step:
                self.rate_points = []  # the trainer started over (an epoch counter, a restart): a new rate
            if self.last_step_at is not None:
                gap = now - self.last_step_at
                self.max_gap = gap if self.max_gap is None else max(self.max_gap, gap)
                self.previous_step_at = self.last_step_at
            self.step = step
            self.last_step_at = now
            self.rate_points.append((now, step))
        self.rate_points = [p for p in self.rate_points if now - p[0] <= RATE_WINDOW_SECONDS] or self.rate_points[-1:]
        total = finite(total_steps)
        if total is not None and total > 0:
            self.total_steps = total
        value = finite(loss)
        if value is not None:
            self.loss = value
            self.window_losses.append(value)
            self.add_loss_point(step, value)
        elif loss_override is not None:
            self.loss = loss_override
        sps = finite(samples_per_second)
        if sps is not None:
            self.samples_per_second = sps
            self.window_samples.append(sps)
        for key, value in extras.items():
            self.add_extra(key, value)

    def add_extra(self, key, value):
        value = finite(value)
        if value is None or key in RESERVED or key in CORE_METRICS or not METRIC_NAME.match(str(key)):
            return  # non-numeric fields (and names CloudWatch or the record cannot take) are ignored
        if key not in self.metrics and len(self.metrics) >= self.max_metrics:
            if key not in self.ignored_metrics:
                self.ignored_metrics.add(key)
                self.warn("metric %s not published: %d extra metrics already (GTI_PROGRESS_MAX_METRICS)" % (key, self.max_metrics))
            return
        self.metrics[key] = value
        self.window_extras.setdefault(key, []).append(value)

    def add_loss_point(self, step, loss):
        if self.loss_history and self.loss_history[-1][0] == step:
            self.loss_history[-1] = [step, loss]
        else:
            self.loss_history.append([step, loss])
        if len(self.loss_history) > 2 * LOSS_HISTORY_POINTS:  # halve the resolution, keep the newest point
            self.loss_history = self.loss_history[-1::-2][::-1]

    def steps_per_second(self):
        if len(self.rate_points) < 2:
            return None
        (t0, s0), (t1, s1) = self.rate_points[0], self.rate_points[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 and s1 >= s0 else None

    def stall_after(self):
        """Seconds without a new step that count as stalled: the run's minutes, or twice the longest gap seen."""
        minutes = self.code_stall_minutes or self.tag_stall_minutes or self.env_stall_minutes
        gap = self.max_gap
        if self.previous_step_at is None and self.first_report_at is not None:
            gap = self.first_report_at - self.started  # one report so far: its own wait is the best estimate
        return max(minutes * 60.0, 2.0 * (gap or 0.0))

    def snapshot(self):
        now = self.clock()
        since = now - self.last_step_at if self.last_step_at is not None else None
        after = self.stall_after()
        stalled = bool(since is not None and since > after)
        rate = 0.0 if stalled else self.steps_per_second()  # a stalled run makes no steps (and has no ETA)
        eta = None
        if rate and self.total_steps is not None and self.step is not None and self.step < self.total_steps:
            eta = (self.total_steps - self.step) / rate
        return {
            "run_id": self.run_id,
            "instance_id": self.instance_id,
            "source": self.source,
            "step": self.step,
            "total_steps": self.total_steps,
            "percent": round(100.0 * self.step / self.total_steps, 2) if self.total_steps and self.step is not None else None,
            "loss": self.loss,
            "samples_per_second": self.samples_per_second,
            "steps_per_second": round(rate, 6) if rate is not None else None,
            "eta_seconds": round(eta) if eta is not None else None,
            "metrics": dict(self.metrics),
            "loss_history": [list(p) for p in self.loss_history],
            "attempt_started_at": iso(self.started),
            "first_report_at": iso(self.first_report_at),
            "last_step_at": iso(self.last_step_at),
            "updated_at": iso(now),
            "seconds_since_progress": round(since) if since is not None else None,
            "stalled": stalled,
            "stall_after_seconds": round(after),
            "malformed_lines": self.malformed,
            "skipped_bytes": self.skipped_bytes,
            "rotations": self.rotations,
        }

    # -- publishing ----------------------------------------------------------------------------------------------
    def emf_record(self, snap):
        """One EMF document (the CloudWatch embedded metric format specification), or None before the first report."""
        if self.first_report_at is None:
            return None
        values = {
            "Step": snap["step"],
            "TotalSteps": snap["total_steps"],
            "ProgressPercent": snap["percent"],
            "StepsPerSecond": snap["steps_per_second"],
            "EtaSeconds": snap["eta_seconds"],
            "Loss": sample(self.window_losses),
            "SamplesPerSecond": sample(self.window_samples),
            "SecondsSinceProgress": snap["seconds_since_progress"],
            "ProgressStalled": 1 if snap["stalled"] else 0,
            "MalformedLines": self.window_malformed,
        }
        units = {
            "Step": "Count", "TotalSteps": "Count", "ProgressPercent": "Percent", "StepsPerSecond": "Count/Second",
            "EtaSeconds": "Seconds", "SamplesPerSecond": "Count/Second", "SecondsSinceProgress": "Seconds",
            "ProgressStalled": "Count", "MalformedLines": "Count", "Loss": "None",
        }
        for key, window in self.window_extras.items():
            values[key] = sample(window)
        present = {k: v for k, v in values.items() if v is not None and v != []}
        per_run = [{"Name": k, "Unit": units.get(k, "None")} for k in present]
        watch = [{"Name": k, "Unit": units[k]} for k in ("ProgressStalled", "SecondsSinceProgress") if k in present]
        node_dimensions = [["InstanceId"], []] + ([["AutoScalingGroupName"]] if self.group else [])
        record = {
            "_aws": {
                "Timestamp": int(self.clock() * 1000),
                "CloudWatchMetrics": [
                    {"Namespace": self.namespace, "Dimensions": [["RunId"]], "Metrics": per_run},
                    {"Namespace": self.namespace, "Dimensions": node_dimensions, "Metrics": watch},
                ],
            },
            "RunId": self.run_id,
            "InstanceId": self.instance_id,
            "Source": self.source,
        }
        if self.group:
            record["AutoScalingGroupName"] = self.group
        record.update(present)
        self.window_losses, self.window_samples, self.window_extras, self.window_malformed = [], [], {}, 0
        return record

    def write_emf(self, snap):
        record = self.emf_record(snap)
        if record is None or not self.emf_log:
            return
        try:
            with open(self.emf_log, "a") as out:
                out.write(json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n")
        except (OSError, ValueError) as error:
            self.warn("could not write the metrics log %s: %s" % (self.emf_log, error))

    def write_local(self, snap):
        if not self.local:
            return
        temp = self.local + ".tmp"
        with open(temp, "w") as out:
            json.dump(snap, out, allow_nan=False)
            out.write("\n")
        os.replace(temp, self.local)

    def upload(self, snap, timeout=30, final=False):
        """progress.json to S3 when it changed (not for the clock alone), at most once per upload interval."""
        if not self.s3_uri or not self.local or self.first_report_at is None:
            return
        signature = (snap["step"], snap["total_steps"], snap["loss"], snap["stalled"], snap["malformed_lines"], snap["rotations"])
        if signature == self.uploaded_signature:
            return
        self.last_upload = self.clock()
        command = [self.aws, "s3", "cp", self.local, self.s3_uri, "--only-show-errors", "--content-type", "application/json"]
        try:
            upload = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        except OSError as error:
            self.warn("progress.json upload failed: %s" % error)
            return
        # Never in the launcher's way: a stop (SIGTERM) while uploading kills the upload at once.
        end = time.time() + timeout
        while upload.poll() is None and time.time() < end and (final or not self.ended()):
            time.sleep(0.05)
        if upload.poll() is None:
            try:
                os.killpg(upload.pid, signal.SIGKILL)
            except OSError:
                pass
            upload.wait()
            self.warn("progress.json upload %s: killed" % ("interrupted by the end of the attempt" if self.stopping and not final else "timed out after %ds" % timeout))
            return
        if upload.returncode != 0:
            self.warn("progress.json upload failed (exit %d): %s" % (upload.returncode, upload.stderr.read().decode("utf-8", "replace").strip()[:300]))
            return
        self.uploaded_signature = signature

    def warn(self, message):
        self.warnings += 1
        self.log("WARNING: " + message)

    # -- loop ----------------------------------------------------------------------------------------------------
    def tick(self, final=False):
        self.take_lines(self.read_file())
        self.read_trainer_state()
        now = self.clock()
        snap = self.snapshot()
        if final or self.last_emf is None or now - self.last_emf >= self.metrics_every:
            if self.first_report_at is not None:
                self.last_emf = now
                self.write_emf(snap)
        self.write_local(snap)
        if final:
            if not (self.deadline_file and os.path.exists(self.deadline_file)):  # a stop or interruption: no time
                self.upload(snap, timeout=5, final=True)
        elif self.last_upload is None or now - self.last_upload >= self.upload_every:
            self.upload(snap)

    def ended(self):
        """SIGTERM came, or the container exited (its exit code file exists): the attempt is over."""
        self.stopping = self.stopping or bool(self.done_file and os.path.exists(self.done_file))
        return self.stopping

    def run(self):
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        parent = os.getppid()
        self.log("watching %s (and %s/checkpoint-*/trainer_state.json) for run %s" % (self.file, self.checkpoints, self.run_id))
        while not self.ended() and os.getppid() == parent:
            try:
                self.tick()
            except Exception as error:  # never crash on input: log, carry on
                self.warn("progress watcher error (carrying on): %r" % (error,))
            end = time.time() + self.poll
            while not self.ended() and time.time() < end:
                time.sleep(min(0.2, self.poll))
        try:
            self.tick(final=True)
        except Exception as error:
            self.warn("progress watcher error at the end: %r" % (error,))
        snap = self.snapshot()
        self.log("progress watcher ends: step %s of %s, %d malformed line(s), %d rotation(s)" % (snap["step"], snap["total_steps"], self.malformed, self.rotations))


def sample(values):
    """At most MAX_VALUES values, evenly spread (EMF's limit per metric), or None when there are none."""
    if not values:
        return None
    if len(values) <= MAX_VALUES:
        return list(values)
    stride = len(values) / float(MAX_VALUES)
    return [values[int(i * stride)] for i in range(MAX_VALUES - 1)] + [values[-1]]


def finite_text(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


if __name__ == "__main__":
    if sys.argv[1:] == ["--defaults"]:
        print(json.dumps(DEFAULTS, sort_keys=True))
        sys.exit(0)
    Watcher().run()
